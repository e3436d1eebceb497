"""LIBERO demonstrations from the scripted privileged oracle, written in LIBERO's hdf5 demo format
(``lawm_eval.data.libero_hdf5``): one file per task, ``<task name>_demo.hdf5``, successful episodes
only (as LIBERO's curated demos), started from the benchmark's stored initial states.

Each demo records, per control step after the 10 settle steps: the action, the flattened MuJoCo
state, agentview and wrist images as the simulator renders them (upside down, as in LIBERO's own
files), end-effector position and axis-angle orientation, gripper and joint positions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lawm_eval.errors import ConfigError

WAIT_STEPS = 10  # the reference scripts' settle steps (not part of the demo)


def record_demo(env: Any, initial_state: np.ndarray, policy: Any, seed: int, max_steps: int) -> dict[str, Any] | None:
    """Run the oracle from one stored initial state; the demo's arrays, or None on failure."""
    from lawm_eval.envs.libero_env import quat_to_axis_angle, settle

    raw = settle(env, initial_state, WAIT_STEPS)
    policy.reset(seed)
    start_state = env.sim.get_state().flatten()
    steps: dict[str, list] = {k: [] for k in ("actions", "states", "agentview_rgb", "eye_in_hand_rgb", "ee_pos",
                                              "ee_ori", "gripper_states", "joint_states")}
    for _ in range(max_steps):
        action = np.asarray(policy.act({"raw": raw, "sim": env.env}), dtype=np.float64).reshape(-1, 7)[0]
        steps["actions"].append(action)
        steps["states"].append(env.sim.get_state().flatten())
        steps["agentview_rgb"].append(raw["agentview_image"])
        steps["eye_in_hand_rgb"].append(raw["robot0_eye_in_hand_image"])
        steps["ee_pos"].append(raw["robot0_eef_pos"])
        steps["ee_ori"].append(quat_to_axis_angle(raw["robot0_eef_quat"]))
        steps["gripper_states"].append(raw["robot0_gripper_qpos"])
        steps["joint_states"].append(raw["robot0_joint_pos"])
        raw, _, done, _ = env.step(action.tolist())
        if done:
            n = len(steps["actions"])
            rewards = np.zeros(n, dtype=np.float32)
            rewards[-1] = 1.0
            obs = {k: np.stack(steps[k]) for k in ("agentview_rgb", "eye_in_hand_rgb", "ee_pos", "ee_ori",
                                                    "gripper_states", "joint_states")}
            return {"actions": np.stack(steps["actions"]).astype(np.float32), "states": np.stack(steps["states"]),
                    "rewards": rewards, "dones": rewards.astype(np.uint8), "obs": obs, "init_state": start_state}
    return None


def generate_libero_demos(out: str | Path, make_policy: Callable[[], Any], benchmark: str = "libero_spatial",
                          tasks: list[int] | None = None, episodes: int = 10, image_size: int = 128,
                          max_steps: int = 300, seed: int = 7, progress: Callable[[str], None] | None = None,
                          generated_by: str = "lawm-eval scripted oracle") -> list[Path]:
    """For each task, run a fresh ``make_policy()`` (e.g. the scripted oracle, which reads the
    simulator through ``obs["sim"]``) from initial states 0..episodes-1; write the successes."""
    from lawm_eval.data.libero_hdf5 import write_libero_demos
    from lawm_eval.envs.libero_env import CAMERAS, benchmark_tasks, make_env

    if not 1 <= episodes <= 50:
        raise ConfigError("--episodes: LIBERO stores 50 initial states per task (1..50)")
    suite, all_tasks = benchmark_tasks(benchmark)
    chosen = list(range(len(all_tasks))) if tasks is None else tasks
    written = []
    for index in chosen:
        if not 0 <= index < len(all_tasks):
            raise ConfigError(f"task {index} not in 0..{len(all_tasks) - 1} for {benchmark}")
        task = all_tasks[index]
        env = make_env(task, image_size, tuple(CAMERAS.values()), seed)
        initial_states = suite.get_task_init_states(index)
        demos = []
        try:
            for trial in range(episodes):
                demo = record_demo(env, initial_states[trial], make_policy(), seed + trial, max_steps)
                if demo is not None:
                    demos.append(demo)
                if progress is not None:
                    progress(f"{task.name} init {trial}: {'success' if demo is not None else 'failed'}")
        finally:
            env.close()
        env_args = {"type": 1, "env_name": "OffScreenRenderEnv", "env_kwargs": {
            "bddl_file_name": task.bddl_file, "camera_heights": image_size, "camera_widths": image_size,
            "control_freq": 20, "controller": "OSC_POSE"}}
        problem_info = {"language_instruction": task.language, "problem_name": task.name, "domain_name": "robosuite",
                        "generated_by": generated_by, "attempts": episodes}
        written.append(write_libero_demos(Path(out) / f"{task.name}_demo.hdf5", demos, env_args, problem_info,
                                          task.bddl_file))
    return written
