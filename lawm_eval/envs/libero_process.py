"""LIBERO in a child process: the benchmark and environment objects the LIBERO suite uses, with the
same methods, answered by ``libero_runtime.LiberoBackend`` in the ``libero`` simulator environment."""

from __future__ import annotations

from typing import Any

import numpy as np

from lawm_eval.envs.libero_env import TaskInfo
from lawm_eval.envs.sim_client import SimProcess

ENVIRONMENT = "libero"
BACKEND = "lawm_eval.envs.libero_runtime:LiberoBackend"


def start() -> SimProcess:
    from lawm_eval.envs.environments import get_environment

    return SimProcess(ENVIRONMENT, get_environment(ENVIRONMENT).require(), BACKEND)


class RemoteBenchmark:
    """``get_task_init_states`` of a LIBERO benchmark in the child."""

    def __init__(self, process: SimProcess, name: str):
        self.process, self.name = process, name

    def tasks(self) -> list[TaskInfo]:
        return [TaskInfo(**task) for task in self.process.call("tasks", benchmark=self.name)]

    def get_task_init_states(self, task_index: int) -> np.ndarray:
        return self.process.call("init_states", benchmark=self.name, task_index=task_index)


class RemoteEnv:
    """A LIBERO environment in the child: ``reset``, ``set_init_state``, ``settle``, ``step``, ``close`` as
    ``OffScreenRenderEnv``/``ControlEnv`` (no ``env``: the simulator itself stays in the child)."""

    def __init__(self, process: SimProcess, benchmark: str, task_index: int, image_size: int, cameras: tuple[str, ...],
                 seed: int):
        self.process = process
        process.call("open", benchmark=benchmark, task_index=task_index, image_size=image_size, cameras=list(cameras),
                     seed=seed)

    def reset(self) -> dict[str, np.ndarray]:
        return self.process.call("reset")

    def set_init_state(self, state: np.ndarray) -> dict[str, np.ndarray]:
        return self.process.call("set_init_state", state=np.asarray(state))

    def settle(self, state: np.ndarray, wait_steps: int) -> dict[str, np.ndarray]:
        """``libero_env.settle`` in the child (one call instead of one per step)."""
        return self.process.call("settle", state=np.asarray(state), wait_steps=wait_steps)

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, dict]:
        out = self.process.call("step", action=[float(a) for a in action])
        return out["obs"], out["reward"], out["done"], {}

    def close(self) -> None:
        if self.process.alive:
            self.process.call("close")
