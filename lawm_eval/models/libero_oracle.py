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


def libero_oracle(suite: Any = None):
    from lawm_eval.bundle import ModelBundle
    from lawm_eval.inputs import ModelInputs

    return ModelBundle("oracle", policy=LiberoOracle(), inputs=ModelInputs(gripper="env"),
                       info={"provenance": "scripted privileged policy (reads simulator state)"})
