"""LIBERO rollouts to learn from and to judge with: the scripted oracle and its perturbed variants
(``lawm_eval.models.libero_oracle.PERTURBATION_LEVELS``) from the benchmark's stored initial states,
successes and failures alike, written as a LeRobot dataset.

Each episode records, per control step after the 10 settle steps (as the suites and the reference
scripts): the agentview frame as the policy sees it (rotated 180°, ``image_size`` square), the 7-D
OSC action, and the suite's 8-D state (end-effector position, axis-angle, gripper qpos); the row after
the last action holds the final frame. Its metadata (meta/episodes.jsonl) carries the BDDL success,
the perturbation level, the task index and the initial state, so a success judge and the policies'
training can be drawn from one dataset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lawm_eval.data.episode import Episode
from lawm_eval.errors import ConfigError

WAIT_STEPS = 10  # the reference scripts' settle steps (not recorded), as in libero_demos
STATE_NAMES = ["x", "y", "z", "ax", "ay", "az", "gripper_left", "gripper_right"]
ACTION_NAMES = ["dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper"]
FPS = 20  # LIBERO's control frequency


@dataclass(frozen=True)
class RolloutPlan:
    """Which rollouts a dataset holds: every task × initial state × perturbation level (all episodes are
    kept in memory until written: 128² frames, ~50 kB each)."""

    benchmark: str
    tasks: Sequence[int]
    init_states: Sequence[int]
    levels: Sequence[int]
    max_steps: int
    image_size: int = 128
    seed: int = 0


def policy_state(raw: dict[str, Any]) -> np.ndarray:
    """The suites' 8-D state: end-effector position, axis-angle and the two gripper joint positions."""
    from lawm_eval.envs.libero_env import quat_to_axis_angle

    return np.concatenate([raw["robot0_eef_pos"], quat_to_axis_angle(raw["robot0_eef_quat"]),
                           raw["robot0_gripper_qpos"]]).astype(np.float32)


def record_rollout(env: Any, initial_state: np.ndarray, policy: Any, seed: int, max_steps: int) -> tuple[Episode, bool]:
    """One closed-loop episode of ``policy`` (reset/act, privileged) from a stored initial state."""
    from lawm_eval.envs.libero_env import DUMMY_ACTION, rotate_180

    env.reset()
    raw = env.set_init_state(initial_state)
    for _ in range(WAIT_STEPS):
        raw, _, _, _ = env.step(DUMMY_ACTION)
    policy.reset(seed)
    frames, states, actions, success = [], [], [], False
    for _ in range(max_steps):
        frames.append(rotate_180(raw["agentview_image"]))
        states.append(policy_state(raw))
        action = np.asarray(policy.act({"raw": raw, "sim": env.env}), dtype=np.float64).reshape(-1, 7)[0]
        actions.append(action.astype(np.float32))
        raw, _, done, _ = env.step(action.tolist())
        if done:
            success = True
            break
    frames.append(rotate_180(raw["agentview_image"]))
    states.append(policy_state(raw))
    actions.append(np.zeros(7, dtype=np.float32))  # the final frame has no successor
    return Episode(np.stack(frames), np.stack(actions), np.stack(states), fps=FPS), success


def generate_libero_rollouts(out: str | Path, plan: RolloutPlan,
                             progress: Callable[[str], None] | None = None) -> Path:
    """Run every rollout of ``plan`` (episode i's policy seeded plan.seed + i) and write them as one
    LeRobot dataset at ``out``."""
    from lawm_eval.data.lerobot import write_lerobot
    from lawm_eval.envs.libero_env import benchmark_tasks, make_env
    from lawm_eval.models.libero_oracle import PERTURBATION_LEVELS, PerturbedOracle

    suite, all_tasks = benchmark_tasks(plan.benchmark)
    bad = [t for t in plan.tasks if not 0 <= t < len(all_tasks)]
    if bad:
        raise ConfigError(f"tasks {bad} not in 0..{len(all_tasks) - 1} for {plan.benchmark}")
    if not all(0 <= level < len(PERTURBATION_LEVELS) for level in plan.levels):
        raise ConfigError(f"perturbation levels are 0..{len(PERTURBATION_LEVELS) - 1}, got {list(plan.levels)}")
    episodes: list[Episode] = []
    for task_index in plan.tasks:
        task = all_tasks[task_index]
        env = make_env(task, plan.image_size, cameras=True, seed=plan.seed)
        initial_states = suite.get_task_init_states(task_index)
        try:
            for init in plan.init_states:
                for level in plan.levels:
                    seed = plan.seed + len(episodes)
                    episode, success = record_rollout(env, initial_states[init],
                                                      PerturbedOracle(PERTURBATION_LEVELS[level]), seed, plan.max_steps)
                    episode.task = task.language
                    episode.meta = {"success": success, "level": level, "task_index": task_index,
                                    "task_name": task.name, "init_state": init, "benchmark": plan.benchmark,
                                    "steps": len(episode) - 1, "seed": seed}
                    episodes.append(episode)
                    if progress is not None:
                        progress(f"{task.name} init {init} level {level}: {'success' if success else 'failure'} "
                                 f"({len(episode) - 1} steps)")
        finally:
            env.close()
    return write_lerobot(out, episodes, fps=FPS, image_key="agentview", state_names=STATE_NAMES,
                         action_names=ACTION_NAMES)
