"""The RoboDesk side of the boundary: runs inside the ``robodesk`` simulator environment
(``lawm-eval env setup robodesk``: robodesk 1.0.0, dm-control 1.0.34, MuJoCo 3.3.7, pillow < 10),
served by ``sim_server``. It wraps ``robodesk.RoboDesk`` as VP²'s ``RoboDeskEnv`` does
(vp2/envs/robodesk_env.py, s-tian/vp2 b0eb69d): action repeat 50, no episode end, the 76-number
state, ``reset_to`` a stored state, and RoboDesk's own 120 px free-camera render cropped and
resized (LANCZOS) to 64×64. Only numpy, robodesk, ``robodesk_tasks``/``robodesk_scripted`` and
``util.rendering`` are used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lawm_eval.envs import robodesk_scripted
from lawm_eval.envs.robodesk_tasks import ACTION_DIM, STATE_DIM, state_cost
from lawm_eval.util.rendering import prepare_offscreen_rendering

ACTION_REPEAT = 50  # vp2 scripts/configs/env/robodesk.yaml:10
EPISODE_LENGTH = 0  # robodesk.yaml:11: the environment never ends an episode
REWARD = "dense"  # robodesk.yaml:9 (VP² discards the step reward; it only costs a few µs)


class RoboDeskBackend:
    """One RoboDesk environment, driven by ``lawm_eval.suites.vp2_robodesk``."""

    def __init__(self) -> None:
        prepare_offscreen_rendering()
        self.env: Any = None
        self.task = ""

    def open(self, task: str, image_size: int = 64) -> dict[str, Any]:
        import robodesk

        self.env = robodesk.RoboDesk(task=task, reward=REWARD, action_repeat=ACTION_REPEAT,
                                     episode_length=EPISODE_LENGTH, image_size=image_size)
        self.env._get_obs = lambda: None  # RoboDesk renders inside step/reset; we render only when asked
        self.task = task
        return {"action_dim": ACTION_DIM, "state_dim": STATE_DIM}

    # -- state ----------------------------------------------------------------------------------
    def get_state(self) -> np.ndarray:
        """VP²'s 76 numbers (robodesk_env.py:88-123, with its fix of RoboDesk's qpos_objects)."""
        physics = self.env.physics
        return np.concatenate([physics.data.qpos[:9], physics.data.qvel[:9], physics.data.qpos[9:],
                               physics.data.qvel[9:], physics.named.data.site_xpos["end_effector"]]).copy()

    def reset_random(self, seed: int) -> np.ndarray:
        """RoboDesk's randomised reset (robot joints, drawer, slide, object placement) from numpy's global
        generator seeded with ``seed``: how start states are drawn when generating start/goal pairs."""
        np.random.seed(seed % 2**32)
        self.env.reset()
        return self.get_state()

    def reset_to(self, state: np.ndarray) -> None:
        """VP²'s ``reset_to`` (robodesk_env.py:176-206); the end-effector entries are not restored."""
        s = np.asarray(state, dtype=np.float64)
        if s.shape != (STATE_DIM,):
            raise ValueError(f"a RoboDesk state has {STATE_DIM} numbers, got shape {s.shape}")
        env, physics = self.env, self.env.physics
        env.success, env.num_steps = False, 0
        physics.reset()
        physics.data.qpos[:9] = s[0:9]
        physics.data.qvel[:9] = s[9:18]
        physics.data.qpos[9:] = s[18:47]
        physics.data.qvel[9:] = s[47:73]
        physics.forward()
        env.physics_copy.data.qpos[:] = physics.data.qpos[:]
        for name in ("ball", "upright_block", "flat_block"):
            env.original_pos[name] = physics.named.data.xpos[name].copy()
        env.drawer_opened = False

    # -- acting ---------------------------------------------------------------------------------
    def render(self) -> np.ndarray:
        """(64, 64, 3) uint8: RoboDesk's render (robodesk.py:114-133), the same camera VP² uses."""
        return np.ascontiguousarray(self.env.render(resize=True))

    def step(self, action: list[float], render: bool = True) -> dict[str, Any]:
        self.env.step(np.asarray(action, dtype=np.float64))
        return {"state": self.get_state(), "image": self.render() if render else None}

    def rollout_costs(self, actions: np.ndarray, goal: np.ndarray) -> dict[str, np.ndarray]:
        """The privileged planner's objective: each of the (N, H, 5) candidate sequences played from
        the current state in this simulator, scored by ``state_cost`` against the goal state. The
        environment is back in its current state afterwards."""
        actions = np.asarray(actions, dtype=np.float64)
        start = self.get_state()
        costs = np.empty(len(actions))
        for i, sequence in enumerate(actions):
            self.reset_to(start)
            states = []
            for action in sequence:
                self.env.step(action)
                states.append(self.get_state())
            costs[i] = state_cost(np.stack(states), goal)
        self.reset_to(start)
        return {"costs": costs}

    def scripted_episode(self, seed: int, steps: int, noise: float, render: bool) -> dict[str, Any]:
        """A start state from ``reset_random(seed)``, one zero-action step, then ``steps`` actions of
        the task's scripted policy with Gaussian action noise (std ``noise``, from a generator seeded
        with ``seed``): the states (steps + 2, 76), actions and, with ``render``, the frames."""
        rng = np.random.default_rng(seed)
        states = [self.reset_random(seed)]
        self.env.step(np.zeros(ACTION_DIM))
        states.append(self.get_state())
        frames = [self.render()] if render else []
        actions = []
        for t in range(steps):
            action = robodesk_scripted.scripted_action(self.task, self.env.physics, t)
            action = np.clip(action + noise * rng.standard_normal(ACTION_DIM), -1.0, 1.0)
            self.env.step(action)
            actions.append(action)
            states.append(self.get_state())
            if render:
                frames.append(self.render())
        return {"states": np.stack(states), "actions": np.stack(actions) if actions else np.zeros((0, ACTION_DIM)),
                "frames": np.stack(frames) if render else None}

    def close(self) -> None:
        self.env = None
