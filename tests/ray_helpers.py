"""Helpers for the Ray tests: a model that kills its worker process once, and process cleanup."""

from __future__ import annotations

import os
import signal
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
