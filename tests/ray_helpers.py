"""Helpers for the Ray tests: a model that kills its worker process once, one that holds episodes
until the test lets them go, and process cleanup."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import torch

from lawm_eval.models.linear import build_linear_model


class KillOnceEncoder:
    """Identity encoder that SIGKILLs its own process the first time it sees episode ``kill_seed``."""

    def __init__(self, inner, marker: str, kill_seed: int):
        self.inner, self.marker, self.kill_seed = inner, Path(marker), kill_seed

    def encode(self, observations):
        if torch.initial_seed() == self.kill_seed and not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return self.inner.encode(observations)


def killer_model(suite, marker: str, kill_seed: int = 2):
    bundle = build_linear_model(suite)
    bundle.encoder = KillOnceEncoder(bundle.encoder, marker, kill_seed)
    return bundle


class GatedEncoder:
    """Identity encoder that holds the episodes whose seed is in ``held`` (after writing
    ``<gate>.held-<seed>``) until the file ``gate`` exists: a run cannot finish before the test opens
    the gate. Other calls (other episodes, the model probe before the first one) pass."""

    def __init__(self, inner, gate: str, held: set[int]):
        self.inner, self.gate, self.held = inner, Path(gate), held

    def encode(self, observations):
        seed = torch.initial_seed()  # each episode seeds torch with its own seed
        if seed in self.held and not self.gate.exists():
            Path(f"{self.gate}.held-{seed}").write_text(str(os.getpid()))
            deadline = time.monotonic() + 600  # never outlive a test that forgot its gate
            while not self.gate.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        return self.inner.encode(observations)


def gated_model(suite, gate: str, free: int = 2):
    """The linear model, holding every episode of the run after the first ``free`` until ``gate`` exists."""
    held = {spec.seed for spec in suite.episodes()[free:]}
    bundle = build_linear_model(suite)
    bundle.encoder = GatedEncoder(bundle.encoder, gate, held)
    return bundle


def kill_processes_mentioning(text: str) -> int:
    """SIGKILL every process whose command line contains ``text`` (orphaned Ray daemons)."""
    killed = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            try:
                os.kill(int(proc.name), signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed
