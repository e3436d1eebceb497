"""Policies for the policy-server tests: deterministic given their seed and what they see, so that a
served run and an in-process run can be compared record for record."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lawm_eval.bundle import ModelBundle
from lawm_eval.inputs import ModelInputs


class ChunkyPolicy:
    """Chunks of 8 LIBERO actions computed from the image, the state and a seeded generator; with
    ``log`` it appends one line per answer with what it saw (image brightness, state)."""

    def __init__(self, log: str | None = None):
        self.log = Path(log) if log else None
        self.rng = np.random.default_rng(0)

    def reset(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, obs: dict) -> np.ndarray:
        brightness = float(obs["image"].astype(np.float64).mean() / 255.0)
        if self.log is not None:  # what it saw: equal logs mean equal observations, so equal trajectories
            with self.log.open("a") as f:
                f.write(f"{brightness:.9f} {' '.join(f'{x:.6f}' for x in obs['state'])}\n")
        chunk = np.zeros((8, 7))
        chunk[:, 0] = 0.5 * np.tanh(brightness - 0.5) + 0.1 * self.rng.standard_normal()
        chunk[:, 2] = -0.3 * np.tanh(float(obs["state"][2]) - 1.0)
        chunk[:, -1] = -1.0
        return chunk


def chunky(suite=None, log: str | None = None) -> ModelBundle:
    return ModelBundle("chunky", policy=ChunkyPolicy(log), inputs=ModelInputs(
        observation="image", image_size=(224, 224), resize="resize_with_pad", gripper="env",
        camera="agentview"))  # it reads only the agentview: LIBERO renders only that one


class BatchableChunkyPolicy(ChunkyPolicy):
    """ChunkyPolicy with ``act_batch`` (each row exactly its session's ``act``), for the shared model
    server. With ``die_marker``: the first process to reach its ``die_after``-th call (single or
    batched) writes the marker and exits (a model server that dies mid-episode)."""

    calls = 0  # in this process, over every session

    def __init__(self, die_marker: str | None = None, die_after: int = 30):
        super().__init__()
        self.die_marker, self.die_after = Path(die_marker) if die_marker else None, die_after

    def maybe_die(self) -> None:
        BatchableChunkyPolicy.calls += 1
        if self.die_marker is not None and self.calls >= self.die_after and not self.die_marker.exists():
            import os

            self.die_marker.write_text(str(os.getpid()))
            os._exit(1)

    def act(self, obs: dict) -> np.ndarray:
        self.maybe_die()
        return super().act(obs)

    def act_batch(self, sessions: list, observations: list[dict]) -> list[np.ndarray]:
        self.maybe_die()
        return [ChunkyPolicy.act(session, obs) for session, obs in zip(sessions, observations)]


def batchable(suite=None, die_marker: str | None = None, die_after: int = 30) -> ModelBundle:
    return ModelBundle("batchable", policy=BatchableChunkyPolicy(die_marker, die_after), inputs=ModelInputs(
        observation="image", image_size=(224, 224), resize="resize_with_pad", gripper="env",
        camera="agentview"))  # it reads only the agentview: LIBERO renders only that one


class SimulatorKillingPolicy(ChunkyPolicy):
    """ChunkyPolicy that SIGKILLs its process's LIBERO child (the ``libero`` environment's simulator) at
    its ``kill_after``-th call, once (``marker``): a simulator process that dies mid-episode."""

    def __init__(self, marker: str, kill_after: int = 2):
        super().__init__()
        self.marker, self.kill_after, self.calls = Path(marker), kill_after, 0

    def act(self, obs: dict) -> np.ndarray:
        self.calls += 1
        if self.calls >= self.kill_after and not self.marker.exists():
            import psutil

            children = [p for p in psutil.Process().children() if "libero_runtime" in " ".join(p.cmdline())]
            self.marker.write_text(str([p.pid for p in children]))
            for child in children:
                child.kill()
        return super().act(obs)


def simulator_killer(suite=None, marker: str = "", kill_after: int = 2) -> ModelBundle:
    return ModelBundle("chunky", policy=SimulatorKillingPolicy(marker, kill_after), inputs=ModelInputs(
        observation="image", image_size=(224, 224), resize="resize_with_pad", gripper="env",
        camera="agentview"))  # it reads only the agentview: LIBERO renders only that one
