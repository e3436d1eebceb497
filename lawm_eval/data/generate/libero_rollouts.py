"""LIBERO rollouts to learn from and to judge with: the scripted oracle and its perturbed variants
(``lawm_eval.models.libero_oracle.PERTURBATION_LEVELS``) from the benchmark's stored initial states,
successes and failures alike, written as one LeRobot dataset per task (``<out>/<task name>/``).

Each episode records, per control step after the suite's settle steps (``wait_steps``, as the suites and
the reference scripts): the agentview frame as the policy sees it (rotated 180°, ``image_size`` square), the 7-D
OSC action, and the suite's 8-D state (end-effector position, axis-angle, gripper qpos); the row after
the last action holds the final frame. Its metadata (meta/episodes.jsonl) carries the BDDL success,
the perturbation level, the task index, the initial state and ``goal_frames``, the frames in which the
task's BDDL goal holds, so a success judge and the policies' training can be drawn from one dataset.
With ``post_success_steps`` > 0 a successful episode goes on that many steps after the success,
holding still (no motion, the gripper as last commanded), so the judge sees the goal reached in
more than one frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lawm_eval.data.episode import Episode
from lawm_eval.errors import ConfigError
from lawm_eval.util.seeding import stable_seed

STATE_NAMES = ["x", "y", "z", "ax", "ay", "az", "gripper_left", "gripper_right"]
ACTION_NAMES = ["dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper"]
FPS = 20  # LIBERO's control frequency


@dataclass(frozen=True)
class RolloutPlan:
    """Which rollouts to record: every task × initial state × perturbation level (a task's episodes are
    kept in memory until its dataset is written: 128² frames, ~50 kB each)."""

    benchmark: str
    tasks: Sequence[int]
    init_states: Sequence[int]
    levels: Sequence[int]
    max_steps: int  # the suite's own limits (its manifest), passed by the caller
    wait_steps: int
    image_size: int = 128
    seed: int = 0
    post_success_steps: int = 0

    def seed_of(self, task: int, init: int, level: int) -> int:
        """The policy's seed for one rollout: a function of what the rollout is, not of the plan's order."""
        return stable_seed("libero_rollouts", self.benchmark, task, init, level, self.seed)


def record_rollout(env: Any, initial_state: np.ndarray, policy: Any, seed: int, max_steps: int,
                   wait_steps: int, post_success_steps: int = 0) -> tuple[Episode, bool, list[int]]:
    """One closed-loop episode of ``policy`` (reset/act, privileged) from a stored initial state:
    frames (T+1,S,S,3), actions (T+1,7) with a zero last row, states (T+1,8), the BDDL success and the
    frames in which the goal holds (after a success, ``post_success_steps`` held steps follow)."""
    from lawm_eval.envs.libero_env import policy_state, rotate_180, settle

    raw = settle(env, initial_state, wait_steps)
    policy.reset(seed)
    frames, states, actions, goal_frames, success = [], [], [], [], False

    def step(action: np.ndarray) -> bool:
        nonlocal raw
        frames.append(rotate_180(raw["agentview_image"]))
        states.append(policy_state(raw))
        actions.append(action.astype(np.float32))
        raw, _, done, _ = env.step(action.tolist())
        if done:
            goal_frames.append(len(frames))  # the frame after this action
        return bool(done)

    for _ in range(max_steps):
        if step(np.asarray(policy.act({"raw": raw, "sim": env.env}), dtype=np.float64).reshape(-1, 7)[0]):
            success = True
            break
    if success:
        hold = np.concatenate([np.zeros(6), actions[-1][6:]])  # no motion, the gripper as it was
        for _ in range(post_success_steps):
            step(hold)
    frames.append(rotate_180(raw["agentview_image"]))
    states.append(policy_state(raw))
    actions.append(np.zeros(7, dtype=np.float32))  # the final frame has no successor
    return Episode(np.stack(frames), np.stack(actions), np.stack(states), fps=FPS), success, goal_frames


def task_folder(out: Path, task_name: str) -> Path:
    return out / task_name


def generate_libero_rollouts(out: str | Path, plan: RolloutPlan,
                             progress: Callable[[str], None] | None = None) -> list[Path]:
    """Run every rollout of ``plan`` and write one LeRobot dataset per task under ``out`` (a task's
    folder counts once its ``.complete`` marker is written; finished tasks are skipped on a rerun)."""
    from lawm_eval.data.lerobot import write_lerobot
    from lawm_eval.envs.libero_env import benchmark_tasks, make_env
    from lawm_eval.models.libero_oracle import PERTURBATION_LEVELS, PerturbedOracle

    suite, all_tasks = benchmark_tasks(plan.benchmark)
    bad = [t for t in plan.tasks if not 0 <= t < len(all_tasks)]
    if bad:
        raise ConfigError(f"tasks {bad} not in 0..{len(all_tasks) - 1} for {plan.benchmark}")
    if not plan.levels or not all(0 <= level < len(PERTURBATION_LEVELS) for level in plan.levels):
        raise ConfigError(f"perturbation levels are 0..{len(PERTURBATION_LEVELS) - 1}, got {list(plan.levels)}")
    written = []
    for task_index in plan.tasks:
        task = all_tasks[task_index]
        folder = task_folder(Path(out), task.name)
        written.append(folder)
        if (folder / ".complete").exists():
            continue
        initial_states = suite.get_task_init_states(task_index)
        if not all(0 <= init < len(initial_states) for init in plan.init_states):
            raise ConfigError(f"initial states are 0..{len(initial_states) - 1} for {task.name}")
        episodes: list[Episode] = []
        env = make_env(task, plan.image_size, ("agentview",), plan.seed)  # the one camera recorded
        try:
            for init in plan.init_states:
                for level in plan.levels:
                    seed = plan.seed_of(task_index, init, level)
                    episode, success, goal_frames = record_rollout(
                        env, initial_states[init], PerturbedOracle(PERTURBATION_LEVELS[level]), seed,
                        plan.max_steps, plan.wait_steps, plan.post_success_steps)
                    episode.task = task.language
                    episode.meta = {"success": success, "level": level, "task_index": task_index,
                                    "task_name": task.name, "init_state": init, "benchmark": plan.benchmark,
                                    "steps": len(episode) - 1 - (plan.post_success_steps if success else 0),
                                    "seed": seed, "goal_frames": goal_frames}
                    episodes.append(episode)
                    if progress is not None:
                        progress(f"{task.name} init {init} level {level}: {'success' if success else 'failure'} "
                                 f"({len(episode) - 1} steps)")
        finally:
            env.close()
        write_lerobot(folder, episodes, fps=FPS, image_key="agentview", state_names=STATE_NAMES,
                      action_names=ACTION_NAMES)
        (folder / ".complete").write_text("ok\n")
    return written
