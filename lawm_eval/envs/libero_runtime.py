"""The LIBERO side of the boundary: runs inside the ``libero`` simulator environment
(``lawm-eval env setup libero``), served by ``sim_server``, when lawm-eval's own environment lacks
robosuite (``suite.simulator=process``, or ``auto`` there). It uses the same adapter as in process
(``libero_env``: offline config, fetched assets, EGL), so the physics and images are the same."""

from __future__ import annotations

from typing import Any

import numpy as np


class LiberoBackend:
    """One LIBERO environment at a time, driven by ``lawm_eval.envs.libero_process.RemoteLibero``."""

    def __init__(self) -> None:
        from lawm_eval.envs import libero_env

        libero_env.prepare()
        self.adapter = libero_env
        self.benchmarks: dict[str, tuple[Any, list]] = {}
        self.env: Any = None

    def _benchmark(self, name: str) -> tuple[Any, list]:
        if name not in self.benchmarks:
            self.benchmarks[name] = self.adapter.benchmark_tasks(name)
        return self.benchmarks[name]

    def tasks(self, benchmark: str) -> list[dict[str, Any]]:
        return [{"index": t.index, "name": t.name, "language": t.language, "bddl_file": t.bddl_file}
                for t in self._benchmark(benchmark)[1]]

    def init_states(self, benchmark: str, task_index: int) -> np.ndarray:
        return np.asarray(self._benchmark(benchmark)[0].get_task_init_states(task_index))

    def seed(self, seed: int) -> None:
        """Seed Python's and NumPy's global generators as the runner seeds them in its own process
        before every episode (``util.seeding.seed_everything``), for what LIBERO draws from them."""
        import random

        random.seed(seed)
        np.random.seed(seed % (2**32))

    def open(self, benchmark: str, task_index: int, image_size: int, cameras: list[str], seed: int) -> None:
        self.close()
        task = self._benchmark(benchmark)[1][task_index]
        self.env = self.adapter.make_env(task, image_size, tuple(cameras), seed)

    def reset(self) -> dict[str, np.ndarray]:
        return dict(self.env.reset())

    def set_init_state(self, state: np.ndarray) -> dict[str, np.ndarray]:
        return dict(self.env.set_init_state(state))

    def settle(self, state: np.ndarray, wait_steps: int) -> dict[str, np.ndarray]:
        return dict(self.adapter.settle(self.env, state, wait_steps))

    def step(self, action: list[float]) -> dict[str, Any]:
        raw, reward, done, _ = self.env.step(action)
        return {"obs": dict(raw), "reward": float(reward), "done": bool(done)}

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
        self.env = None
