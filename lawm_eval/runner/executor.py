"""Executors decide where episodes run. The driver (``run.py``) gives an executor the pending
specs and a ``sink``; the executor calls ``sink`` once per finished episode, in the driver's
process, so the driver stays the only writer of episodes.jsonl.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from lawm_eval.util.progress import progress_bar
from lawm_eval.runner.worker import EpisodeResult, EpisodeWorker, RunJob
from lawm_eval.types import EpisodeSpec

Sink = Callable[[EpisodeResult], None]


@dataclass
class ExecutionReport:
    completed: int = 0
    errors: int = 0
    retries: int = 0
    interrupted: bool = False
    setup_s: float = 0.0  # time to build the workers (suite, model, planner) before the first episode
    notes: list[str] = field(default_factory=list)


@runtime_checkable
class Executor(Protocol):
    def run(self, job: RunJob, specs: Sequence[EpisodeSpec], sink: Sink) -> ExecutionReport:
        """Run every spec, call ``sink`` with each result as it finishes; raise KeyboardInterrupt
        through after the sink has everything that finished."""
        ...


def set_threads(threads: int) -> None:
    """Limit torch's intra-op threads (BLAS threads are limited by the environment variables)."""
    if threads and threads > 0:
        import torch

        torch.set_num_threads(threads)


class SerialExecutor:
    """Episodes one after another in this process."""

    def __init__(self, name: str = "serial", threads: int = 1, progress: str = "auto"):
        self.threads, self.progress = threads, progress

    def run(self, job: RunJob, specs: Sequence[EpisodeSpec], sink: Sink) -> ExecutionReport:
        set_threads(self.threads)
        report = ExecutionReport()
        start = time.perf_counter()
        worker = EpisodeWorker(job)
        worker.setup()
        report.setup_s = time.perf_counter() - start
        bar = progress_bar(len(specs), self.progress)
        try:
            for spec in specs:
                result = worker.run(spec)
                sink(result)
                report.completed += 1
                report.errors += result.record.error is not None
                bar.update(1)
        finally:
            bar.close()
            worker.close()
        return report
