"""A 2-D point mass with linear, known dynamics (numpy only): the toy protocol's simulator.

State s = (x, y, vx, vy); action a = force (fx, fy) in [-1, 1]^2.
    v' = (1 - c) v + dt a,    p' = p + dt v'        (c = damping per step)
so s' = A s + B a exactly.
"""

from __future__ import annotations

import numpy as np


class PointMassEnv:
    state_dim = 4
    action_dim = 2

    def __init__(self, dt: float = 0.1, damping: float = 0.1, arena: float = 0.8, image_size: int = 32):
        self.dt, self.damping, self.arena, self.image_size = dt, damping, arena, image_size
        self.state = np.zeros(4)
        self.goal = np.zeros(2)

    @property
    def A(self) -> np.ndarray:  # (4, 4)
        dt, keep = self.dt, 1.0 - self.damping
        return np.array([[1, 0, dt * keep, 0], [0, 1, 0, dt * keep], [0, 0, keep, 0], [0, 0, 0, keep]])

    @property
    def B(self) -> np.ndarray:  # (4, 2)
        dt = self.dt
        return np.array([[dt * dt, 0], [0, dt * dt], [dt, 0], [0, dt]])

    def transition(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Batched dynamics: (N,4), (N,2) -> (N,4); actions are clipped to [-1, 1]."""
        return states @ self.A.T + np.clip(actions, -1.0, 1.0) @ self.B.T

    def reset(self, seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        self.state = np.concatenate([rng.uniform(-self.arena, self.arena, 2), np.zeros(2)])
        self.goal = rng.uniform(-self.arena, self.arena, 2)
        return self.observation()

    def step(self, action: np.ndarray) -> dict[str, np.ndarray]:
        self.state = self.transition(self.state[None], np.asarray(action, dtype=float)[None])[0]
        return self.observation()

    def distance(self) -> float:
        return float(np.linalg.norm(self.state[:2] - self.goal))

    def goal_state(self) -> np.ndarray:
        return np.concatenate([self.goal, np.zeros(2)])

    def observation(self) -> dict[str, np.ndarray]:
        return {"state": self.state.astype(np.float32), "goal": self.goal_state().astype(np.float32)}

    def render(self, state: np.ndarray | None = None, goal: np.ndarray | None = None) -> np.ndarray:
        """(S,S,3) uint8 image: the mass as a red disc, the goal as a green ring."""
        size = self.image_size
        state = self.state if state is None else state
        goal = self.goal if goal is None else goal[:2]
        coords = (np.arange(size) + 0.5) / size * 2.4 - 1.2  # pixel centres in world units
        xx, yy = np.meshgrid(coords, -coords)
        image = np.full((size, size, 3), 235, dtype=np.uint8)
        d_goal = np.hypot(xx - goal[0], yy - goal[1])
        image[(d_goal > 0.08) & (d_goal < 0.13)] = (40, 170, 60)
        image[np.hypot(xx - state[0], yy - state[1]) < 0.09] = (210, 40, 40)
        return image
