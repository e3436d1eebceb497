"""DROID-style Franka clips from robosuite: a scripted Panda moves, turns, grasps and lifts a cube.

Recorded at 4 fps (every 5th step of the 20 Hz OSC_POSE controller), one 64×64 agentview camera.
State s_t = (end-effector xyz, end-effector euler xyz, gripper opening in metres: the recipes declare
``gripper_units: width_m``, which the planning suite converts to DROID's closure); the action between frames
is the end-effector state delta a_t = s_{t+1} − s_t (angles wrapped), the 7-D action space V-JEPA 2-AC
and jepa-wms use for DROID. Written as a LeRobot dataset. Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lawm_eval.data.episode import Episode
from lawm_eval.extras import require_extra
from lawm_eval.util.rendering import prepare_offscreen_rendering

FPS = 4
CONTROL_HZ = 20
STEPS_PER_FRAME = CONTROL_HZ // FPS
STATE_NAMES = ["x", "y", "z", "roll", "pitch", "yaw", "gripper"]
ACTION_NAMES = [f"d{name}" for name in STATE_NAMES]
WORKSPACE_LOW = np.array([-0.18, -0.22, 0.86])
WORKSPACE_HIGH = np.array([0.18, 0.22, 1.10])
GRASP_PHASES = (6, 4, 3, 6)  # frames above the cube, descending, closing, lifting: the scripted start


@dataclass
class FrankaConfig:
    frames: int = 32  # frames per episode (8 s at 4 fps)
    image_size: int = 64
    camera: str = "sideview"  # shows the arm and the table, like an exterior DROID camera
    grasp_probability: float = 0.6  # share of episodes that try to pick up the cube


def quat_to_euler(quat_xyzw: np.ndarray) -> np.ndarray:
    x, y, z, w = quat_xyzw
    roll = np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0))
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return np.array([roll, pitch, yaw])


def wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


class FrankaScene:
    """robosuite's Lift scene (Panda, table, cube) with an OSC_POSE controller, rendered offscreen."""

    def __init__(self, config: FrankaConfig, seed: int = 0):
        """``seed``: the scene's own, fixing the cube's size, which robosuite draws from numpy's global
        generator when it loads the model (unseeded, every process had its own cube, up to 2 mm apart)."""
        require_extra("sim", "the Franka data generator")
        prepare_offscreen_rendering()
        import robosuite
        from robosuite.controllers import load_controller_config

        self.config = config
        np.random.seed(seed % (2**32))
        self.env = robosuite.make(
            "Lift", robots="Panda", controller_configs=load_controller_config(default_controller="OSC_POSE"),
            has_renderer=False, has_offscreen_renderer=True, use_camera_obs=False, use_object_obs=True,
            control_freq=CONTROL_HZ, horizon=10_000, ignore_done=True, hard_reset=False,
        )

    def reset(self, seed: int) -> dict:
        """Reset so that an episode depends on its seed only, not on the episode before it."""
        np.random.seed(seed % (2**32))  # robosuite's object placement draws from numpy's global generator
        obs = self.env.reset()
        for robot in self.env.robots:  # a soft reset keeps the gripper's rate-limited command
            robot.gripper.current_action = np.zeros(robot.gripper.dof)
        self.env.sim.data.qacc_warmstart[:] = 0  # nor should the solver's warm start carry over
        return obs

    def render(self) -> np.ndarray:
        size = self.config.image_size
        image = self.env.sim.render(camera_name=self.config.camera, width=size, height=size)
        return np.ascontiguousarray(image[::-1])  # OpenGL rows are bottom-up

    @staticmethod
    def state(obs: dict) -> np.ndarray:
        gripper = obs["robot0_gripper_qpos"]
        return np.concatenate([obs["robot0_eef_pos"], quat_to_euler(obs["robot0_eef_quat"]),
                               [gripper[0] - gripper[1]]]).astype(np.float32)

    def close(self) -> None:
        self.env.close()


def scripted_targets(rng: np.random.Generator, cube: np.ndarray, frames: int, grasp: bool) -> list[tuple]:
    """(end-effector target xyz, yaw offset, gripper command) per frame."""
    plan = []
    if grasp:
        above = cube + [0, 0, 0.10]
        above_frames, descend_frames, close_frames, lift_frames = GRASP_PHASES
        plan += [(above, 0.0, -1.0)] * above_frames + [(cube + [0, 0, 0.005], 0.0, -1.0)] * descend_frames
        plan += [(cube, 0.0, 1.0)] * close_frames
        lift = cube + [rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1), 0.18]
        plan += [(lift, 0.0, 1.0)] * lift_frames
    while len(plan) < frames:
        target = rng.uniform(WORKSPACE_LOW, WORKSPACE_HIGH)
        yaw = rng.uniform(-0.6, 0.6)
        gripper = plan[-1][2] if plan and rng.random() < 0.7 else rng.choice([-1.0, 1.0])
        plan += [(target, yaw, gripper)] * int(rng.integers(3, 7))
    return plan[:frames]


def record_episode(scene: FrankaScene, seed: int) -> Episode:
    config = scene.config
    rng = np.random.default_rng(seed)
    obs = scene.reset(seed)
    grasp = bool(rng.random() < config.grasp_probability)
    targets = scripted_targets(rng, np.asarray(obs["cube_pos"]), config.frames, grasp)
    start_yaw = quat_to_euler(obs["robot0_eef_quat"])[2]
    frames, states = [scene.render()], [scene.state(obs)]
    for target, yaw_offset, gripper in targets[:-1]:
        for _ in range(STEPS_PER_FRAME):
            eef = obs["robot0_eef_pos"]
            yaw_error = wrap(start_yaw + yaw_offset - quat_to_euler(obs["robot0_eef_quat"])[2])
            action = np.zeros(7)
            action[:3] = np.clip((target - eef) * 8.0 + rng.normal(0, 0.05, 3), -1, 1)
            action[5] = np.clip(yaw_error * 1.5, -1, 1)
            action[6] = gripper
            obs, *_ = scene.env.step(action)
        frames.append(scene.render())
        states.append(scene.state(obs))
    states_arr = np.stack(states)
    deltas = np.diff(states_arr, axis=0)
    deltas[:, 3:6] = wrap(deltas[:, 3:6])
    actions = np.concatenate([deltas, np.zeros((1, 7))], axis=0).astype(np.float32)
    task = "pick up the cube" if grasp else "move the arm around the cube"
    return Episode(np.stack(frames), actions, states_arr, task=task, fps=FPS, meta={"seed": int(seed), "grasp": grasp})


def generate_franka(out: str | Path, episodes: int, seed: int = 0, config: FrankaConfig | None = None,
                    progress: bool = True) -> Path:
    """Write ``episodes`` clips (episode i seeded with seed + i) as a LeRobot dataset at ``out``."""
    from lawm_eval.data.lerobot import write_lerobot
    from lawm_eval.util.progress import progress_bar

    scene = FrankaScene(config or FrankaConfig(), seed)
    recorded = []
    bar = progress_bar(episodes, "on" if progress else "off", desc="franka episodes")
    try:
        for i in range(episodes):
            recorded.append(record_episode(scene, seed + i))
            bar.update(1)
    finally:
        bar.close()
        scene.close()
    return write_lerobot(out, recorded, fps=FPS, image_key=scene.config.camera, state_names=STATE_NAMES,
                         action_names=ACTION_NAMES)
