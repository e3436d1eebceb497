"""RoboDesk in a child process: the ``robodesk`` simulator environment and the backend it serves
(``robodesk_runtime.RoboDeskBackend``), started by the VP² suite, the data generator and the benchmark."""

from __future__ import annotations

from lawm_eval.envs.sim_client import SimProcess

ENVIRONMENT = "robodesk"
BACKEND = "lawm_eval.envs.robodesk_runtime:RoboDeskBackend"


def start() -> SimProcess:
    from lawm_eval.envs.environments import get_environment

    return SimProcess(ENVIRONMENT, get_environment(ENVIRONMENT).require(), BACKEND)
