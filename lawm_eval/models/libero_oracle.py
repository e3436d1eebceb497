"""A scripted, privileged LIBERO policy: reads object poses from the simulator and performs the
pick-and-place its task's BDDL goal asks for — ``(On obj target)`` or ``(In obj region)`` — with
LIBERO's OSC_POSE controller. It proves the suites' success detection works and generates
demonstrations. Other goal predicates (open a drawer, turn on the stove) are not scripted: the
oracle then waits and the episode fails.

Per object family: where to close the fingers (height above the object's origin, an offset that
puts the fingers across a bowl's rim) and whether to turn the gripper to the object's yaw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

GRASPS = {
    # prefix: (z above the object's origin, offset of the fingers in the world frame, align yaw)
    "akita_black_bowl": (0.02, (0.0, 0.055), False),  # across the rim: one finger inside the bowl
    "white_bowl": (0.02, (0.0, 0.055), False),
    "glazed_rim_porcelain_ramekin": (0.02, (0.0, 0.04), False),
    "plate": (0.01, (0.0, 0.09), False),
}
DEFAULT_GRASP = (0.0, (0.0, 0.0), True)
GAIN, YAW_GAIN = 10.0, 2.0


def yaw_of(quat_xyzw: np.ndarray) -> float:
    x, y, z, w = quat_xyzw
    return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))


def wrap(angle: float) -> float:
    return (angle + np.pi) % (2 * np.pi) - np.pi


@dataclass
class Phase:
    name: str
    target: np.ndarray | None  # end-effector target (world)
    gripper: float  # -1 open, +1 closed
    steps: int  # the longest the phase may take
    tolerance: float = 0.01


class LiberoOracle:
    """Policy interface (reset / act) for the LIBERO suites; needs ``obs['sim']`` (privileged)."""

    needs_images = False
    privileged = True  # the suite passes the simulator as obs['sim']
    needs_simulator = True  # so the LIBERO suites do not probe it on a stand-in observation
    closed_loop = True  # one action per call: asked again before every step (suite.execute_steps unused)

    def __init__(self) -> None:
        self.phases: list[Phase] = []
        self.step_in_phase = 0
        self.target_yaw: float | None = None

    def reset(self, seed: int) -> None:
        self.phases, self.step_in_phase, self.target_yaw = [], 0, None

    def plan(self, obs: dict[str, Any]) -> None:
        env = obs["sim"]
        raw = obs["raw"]
        goal = [g for g in env.parsed_problem["goal_state"] if len(g) == 3]
        scripted = bool(goal) and goal[0][0] in ("on", "in") and f"{goal[0][1]}_pos" in raw
        if scripted and goal[0][0] == "on":
            scripted = f"{goal[0][2]}_pos" in raw  # an 'on' target that is a region has no position to place at
        if not scripted:  # hold still: the oracle scripts pick-and-place onto objects or into sites only
            self.phases = [Phase("unsupported goal", None, -1.0, 10**6)]
            return
        relation, obj, target = goal[0]
        z_off, (dx, dy), align = next((g for prefix, g in GRASPS.items() if obj.startswith(prefix)), DEFAULT_GRASP)
        offset = np.array([dx, dy, 0.0])
        pos = np.asarray(raw[f"{obj}_pos"], dtype=float)
        if align:
            object_yaw = yaw_of(raw[f"{obj}_quat"])
            gripper_yaw = yaw_of(raw["robot0_eef_quat"])
            # the two finger directions are equivalent: turn the shorter way
            self.target_yaw = min((object_yaw + k * np.pi for k in (-1, 0, 1)), key=lambda a: abs(wrap(a - gripper_yaw)))
        if relation == "in":
            place = np.asarray(env.sim.data.get_site_xpos(target), dtype=float) + [0, 0, 0.1]
        else:
            place = np.asarray(raw[f"{target}_pos"], dtype=float) + [0, 0, 0.08]
        grasp = pos + offset + [0, 0, z_off]
        self.phases = [
            Phase("above object", grasp + [0, 0, 0.12], -1.0, 80),
            Phase("descend", grasp, -1.0, 60, 0.005),
            Phase("close", None, 1.0, 15),
            Phase("lift", grasp + [0, 0, 0.22], 1.0, 60),
            Phase("above target", place + offset + [0, 0, 0.1], 1.0, 100),
            Phase("lower", place + offset, 1.0, 50),
            Phase("release", None, -1.0, 20),
            Phase("retreat", place + offset + [0, 0, 0.15], -1.0, 10**6),
        ]

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        """One action (a chunk of length 1): move toward the current phase's target."""
        if not self.phases:
            self.plan(obs)
        raw = obs["raw"]
        phase = self.phases[0]
        eef = np.asarray(raw["robot0_eef_pos"], dtype=float)
        action = np.zeros(7)
        action[6] = phase.gripper
        if phase.target is not None:
            action[:3] = np.clip((phase.target - eef) * GAIN, -1, 1)
        if self.target_yaw is not None:
            action[5] = np.clip(wrap(self.target_yaw - yaw_of(raw["robot0_eef_quat"])) * YAW_GAIN, -1, 1)
        self.step_in_phase += 1
        reached = phase.target is not None and np.linalg.norm(phase.target - eef) < phase.tolerance
        if (reached or self.step_in_phase >= phase.steps) and len(self.phases) > 1:
            self.phases.pop(0)
            self.step_in_phase = 0
        return action[None]


@dataclass(frozen=True)
class Perturbation:
    """How far a perturbed oracle strays from the script (all zero: the oracle itself)."""

    action_noise: float = 0.0  # σ of Gaussian noise on the 6 motion dims (OSC units; clipped to [-1, 1])
    gripper_delay: int = 0  # steps the gripper command lags the script: late closing and late release
    early_close: float = 0.0  # metres above the grasp point at which the descent stops (fingers close high)
    pause_probability: float = 0.0  # per step, the chance that a pause starts
    pause_steps: int = 0  # steps a pause holds the arm still; the script's clock and gripper run on


# The population of issue 17: the oracle, then more and more perturbed variants (level = index).
PERTURBATION_LEVELS = (
    Perturbation(),
    Perturbation(action_noise=0.1),
    Perturbation(action_noise=0.2, gripper_delay=2),
    Perturbation(action_noise=0.3, gripper_delay=4, pause_probability=0.01, pause_steps=15),
    Perturbation(action_noise=0.4, gripper_delay=6, early_close=0.01, pause_probability=0.02, pause_steps=20),
    Perturbation(action_noise=0.6, gripper_delay=8, early_close=0.02, pause_probability=0.03, pause_steps=25),
)


class PerturbedOracle:
    """The scripted oracle with action noise, a late gripper, an early close and random pauses:
    policies of graded skill on the same tasks. Seeded by ``reset(seed)``."""

    needs_images = False
    privileged = True
    needs_simulator = True
    closed_loop = True

    def __init__(self, perturbation: Perturbation):
        self.perturbation = perturbation
        self.oracle = LiberoOracle()
        self.rng = np.random.default_rng(0)
        self.gripper_history: list[float] = []
        self.pause_left = 0

    def reset(self, seed: int) -> None:
        self.oracle.reset(seed)
        self.rng = np.random.default_rng(seed)
        self.gripper_history, self.pause_left = [], 0

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        """One action (1,7): the oracle's, perturbed."""
        p = self.perturbation
        if not self.oracle.phases:
            self.oracle.plan(obs)
            descend = next((phase for phase in self.oracle.phases if phase.name == "descend"), None)
            if descend is not None and p.early_close:
                descend.target = descend.target + [0.0, 0.0, p.early_close]
        action = self.oracle.act(obs)[0].copy()
        self.gripper_history.append(action[6])
        action[6] = self.gripper_history[max(0, len(self.gripper_history) - 1 - p.gripper_delay)]
        if self.pause_left == 0 and p.pause_probability and self.rng.random() < p.pause_probability:
            self.pause_left = p.pause_steps
        if self.pause_left > 0:
            self.pause_left -= 1
            action[:6] = 0.0
        elif p.action_noise:
            action[:6] = np.clip(action[:6] + self.rng.normal(0.0, p.action_noise, 6), -1, 1)
        return action[None]


def perturbed_oracle(suite: Any = None, level: int = 1):
    """``model=oracle_perturbed model.level=k``: level k of ``PERTURBATION_LEVELS`` (0 is the oracle)."""
    from dataclasses import asdict

    from lawm_eval.bundle import ModelBundle
    from lawm_eval.errors import ConfigError
    from lawm_eval.inputs import ModelInputs

    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level < len(PERTURBATION_LEVELS):
        raise ConfigError(f"model.level={level!r}: the perturbed oracle has levels 0..{len(PERTURBATION_LEVELS) - 1}")
    perturbation = PERTURBATION_LEVELS[level]
    return ModelBundle("oracle_perturbed", policy=PerturbedOracle(perturbation),
                       inputs=ModelInputs(gripper="env"),
                       info={"provenance": "scripted privileged policy (reads simulator state), perturbed",
                             "level": level, "perturbation": asdict(perturbation)})


def libero_oracle(suite: Any = None):
    from lawm_eval.bundle import ModelBundle
    from lawm_eval.inputs import ModelInputs

    return ModelBundle("oracle", policy=LiberoOracle(), inputs=ModelInputs(gripper="env"),
                       info={"provenance": "scripted privileged policy (reads simulator state)"})
