"""Baseline policies for any suite that runs a policy: do nothing, or act at random."""

from __future__ import annotations

from typing import Any

import numpy as np

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ModelError


class NoopPolicy:
    """Zero motion; the gripper command is the last dimension (−1: open, as LIBERO's wait action)."""

    needs_images = False
    closed_loop = True  # one action per call (the LIBERO suites ask again before every step)

    def __init__(self, action_dim: int, gripper: float = -1.0):
        self.action = np.zeros(action_dim)
        self.action[-1] = gripper

    def reset(self, seed: int) -> None:
        return None

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        return self.action[None].copy()


class RandomPolicy:
    """Uniform actions in [−1, 1]^A, seeded per episode."""

    needs_images = False

    def __init__(self, action_dim: int, chunk: int = 1):
        self.action_dim, self.chunk = action_dim, chunk
        self.closed_loop = chunk == 1  # one action per call: the LIBERO suites ask again before every step
        self.rng = np.random.default_rng(0)

    def reset(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, size=(self.chunk, self.action_dim))


def _action_dim(suite: Any, name: str) -> int:
    dim = getattr(suite, "action_dim", None)
    if dim is None:
        raise ModelError(f"model '{name}' needs a suite that states its action_dim")
    return int(dim)


def noop(suite: Any = None) -> ModelBundle:
    return ModelBundle("noop", policy=NoopPolicy(_action_dim(suite, "noop")), info={"provenance": "baseline"})


def random_policy(suite: Any = None, chunk: int = 1) -> ModelBundle:
    return ModelBundle("random", policy=RandomPolicy(_action_dim(suite, "random"), chunk),
                       info={"provenance": "baseline"})
