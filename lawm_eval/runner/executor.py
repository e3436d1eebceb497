"""Executors decide where episodes run. The driver (``run.py``) gives an executor the pending
specs and a ``sink``; the executor calls ``sink`` once per finished episode, in the driver's
process, so the driver stays the only writer of episodes.jsonl.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from lawm_eval.errors import ConfigError
from lawm_eval.runner.worker import EpisodeResult, EpisodeWorker, RunJob
from lawm_eval.types import EpisodeSpec
from lawm_eval.util.progress import progress_bar

Sink = Callable[[EpisodeResult], None]


@dataclass
class ExecutionReport:
    completed: int = 0
    errors: int = 0
    retries: int = 0
    interrupted: bool = False
    setup_s: float = 0.0  # time to build the workers (suite, model, planner) before the first episode
    notes: list[str] = field(default_factory=list)
    batching: dict[str, Any] = field(default_factory=dict)  # a shared model server's BatchStats, when one ran
    service_batching: dict[str, Any] = field(default_factory=dict)  # the suite's batched service's (world model)

    def deliver(self, result: EpisodeResult, sink: Sink, bar: Any) -> None:
        """Hand a finished episode to the driver's sink, count it and move the progress bar."""
        sink(result)
        self.completed += 1
        self.errors += result.record.error is not None
        bar.update(1)


@runtime_checkable
class Executor(Protocol):
    def run(self, job: RunJob, specs: Sequence[EpisodeSpec], sink: Sink) -> ExecutionReport:
        """Run every spec, call ``sink`` with each result as it finishes; raise KeyboardInterrupt
        through after the sink has everything that finished."""
        ...


class InterruptGuard:
    """Ctrl-C (SIGINT) while an executor runs, recorded so that it cannot be lost.

    Python turns SIGINT into a KeyboardInterrupt wherever the main thread happens to be, and in
    some places that exception is printed ("Exception ignored in ...") and dropped: an at-fork
    callback (``ray.init`` starts Ray's daemons with subprocess and a ``preexec_fn``, which runs
    logging's fork hooks), a ``__del__`` or a weakref callback run by the garbage collector. A
    SIGINT that landed there was lost and the run went on to the end with exit code 0. The guard's
    handler only counts signals, so the executor can ``check()`` at safe points and raise.

    ``defer=False`` (serial): the handler also raises at once, as Python's does; the count is the
    backstop. ``defer=True`` (Ray): the first SIGINT is only counted and the executor polls, so Ray
    is never left half-started and a record never half-written; a second SIGINT raises at once.
    Installed only in the main thread and only over Python's default handler (a host program's
    own SIGINT handler, or SIG_IGN, is left alone).
    """

    def __init__(self, defer: bool):
        self.defer = defer
        self.signals = 0
        self._previous = None

    def install(self) -> InterruptGuard:
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def __enter__(self) -> InterruptGuard:
        return self.install()

    def __exit__(self, *exc) -> None:
        self.restore()

    def _handle(self, signum, frame) -> None:
        self.signals += 1
        if not self.defer or self.signals > 1:
            raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if a SIGINT arrived (even one whose exception was swallowed)."""
        if self.signals:
            raise KeyboardInterrupt


def set_threads(threads: int) -> None:
    """Limit torch's intra-op threads (BLAS threads are limited by the environment variables)."""
    if threads and threads > 0:
        import torch

        torch.set_num_threads(threads)


class SerialExecutor:
    """Episodes one after another in this process; with ``envs_per_worker`` K > 1, K episodes side by
    side (each simulator in its own child process, stepped from its own thread) whose policy calls
    one PolicyBatcher answers in batches: one model copy, like gymnasium's AsyncVectorEnv."""

    def __init__(self, name: str = "serial", threads: int = 1, progress: str = "auto", envs_per_worker: int = 1,
                 max_batch: int = 0, max_wait_ms: float = 500.0):
        if envs_per_worker < 1 or max_batch < 0 or max_wait_ms < 0:
            raise ConfigError("executor.envs_per_worker must be ≥ 1, max_batch ≥ 0 (0: envs_per_worker) and "
                              "max_wait_ms ≥ 0")
        self.threads, self.progress = threads, progress
        self.envs, self.max_batch, self.max_wait_s = envs_per_worker, max_batch or envs_per_worker, max_wait_ms / 1000

    def check(self, suite: Any) -> None:
        """Refuse, before anything is written, a suite this executor cannot run (``validate`` asks too)."""
        if self.envs > 1 and not suite.simulator_in_child_process():
            hint = " (set suite.simulator=process)" if "simulator" in suite.params else ""
            raise ConfigError(f"executor.envs_per_worker={self.envs} needs a suite whose simulator runs in child "
                              f"processes; suite '{suite.name}' runs in this one{hint}")

    def run(self, job: RunJob, specs: Sequence[EpisodeSpec], sink: Sink) -> ExecutionReport:
        with InterruptGuard(defer=False) as guard:
            if self.envs > 1 and len(specs) > 1:
                report = self._run_side_by_side(job, specs, sink, guard)
            else:
                report = self._run(job, specs, sink, guard)
            guard.check()  # a SIGINT whose KeyboardInterrupt was swallowed (e.g. in a __del__)
        return report

    def _run(self, job: RunJob, specs: Sequence[EpisodeSpec], sink: Sink, guard: InterruptGuard) -> ExecutionReport:
        set_threads(self.threads)
        report = ExecutionReport()
        start = time.perf_counter()
        worker = EpisodeWorker(job)
        worker.setup()
        report.setup_s = time.perf_counter() - start
        bar = progress_bar(len(specs), self.progress)
        try:
            for spec in specs:
                guard.check()
                result = worker.run(spec)
                report.deliver(result, sink, bar)
        finally:
            bar.close()
            worker.close()
        return report

    def _run_side_by_side(self, job: RunJob, specs: Sequence[EpisodeSpec], sink: Sink,
                          guard: InterruptGuard) -> ExecutionReport:
        """K environments, one thread each, one shared policy; results reach ``sink`` in this thread."""
        from lawm_eval.runner.batching import PolicyBatcher, SharedPolicy
        from lawm_eval.runner.build import build_suite

        set_threads(self.threads)
        report = ExecutionReport()
        start = time.perf_counter()
        driver = EpisodeWorker(job)
        driver.setup()
        parts = driver.parts
        self.check(parts.suite)
        if parts.model.policy is None:
            raise ConfigError(f"executor.envs_per_worker={self.envs} shares a policy; model "
                              f"'{parts.model.model_id}' has none")
        batcher = PolicyBatcher(parts.model.policy, self.max_batch, self.max_wait_s)
        service = parts.suite.batched_service()  # e.g. the imagined suites' world model
        service_batcher = None if service is None else PolicyBatcher(service, self.max_batch, self.max_wait_s,
                                                                       sibling=batcher)
        count = min(self.envs, len(specs))
        workers: list[EpisodeWorker] = []
        todo: deque[EpisodeSpec] = deque(specs)
        done: queue.Queue = queue.Queue()
        stop = threading.Event()
        lock = threading.Lock()

        def loop(worker: EpisodeWorker) -> None:
            while not stop.is_set():
                with lock:
                    if not todo:
                        worker.parts.model.policy.finish()  # no episode left for it: nobody waits for it
                        worker.parts.suite.finish_service()
                        break
                    spec = todo.popleft()
                try:
                    result = worker.run(spec)
                except BaseException as exc:  # noqa: BLE001 - handed to the driver thread, which raises it
                    done.put(exc)
                    return
                if stop.is_set():  # the run is stopping: this episode may have failed because of it
                    return
                done.put(result)

        bar = progress_bar(len(specs), self.progress)
        threads: list[threading.Thread] = []
        delivered = 0
        try:
            for index in range(count):
                suite = parts.suite if index == 0 else build_suite(job.config)
                shared = parts.sharing(suite, batcher)
                if service_batcher is not None:  # session i of both batchers is environment i's
                    session = SharedPolicy(service_batcher, {})
                    assert session.session == shared.model.policy.session
                    suite.use_service(session, service)
                workers.append(EpisodeWorker(job, name=f"{driver.name}:env{index}", parts=shared))
            report.setup_s = time.perf_counter() - start
            threads = [threading.Thread(target=loop, args=(w,), name=f"lawm-env{i}", daemon=True)
                       for i, w in enumerate(workers)]
            for thread in threads:
                thread.start()
            while delivered < len(specs):
                try:
                    item = done.get(timeout=0.1)
                except queue.Empty:
                    guard.check()
                    continue
                if isinstance(item, BaseException):
                    raise item
                report.deliver(item, sink, bar)
                delivered += 1
        except KeyboardInterrupt:
            stop.set()
            while True:  # episodes that finished before the interrupt still reach the records
                try:
                    item = done.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(item, BaseException):
                    report.deliver(item, sink, bar)
            raise
        finally:
            stop.set()
            bar.close()
            batcher.shutdown()  # a thread's next policy call fails, its episode ends, it sees `stop`
            if service_batcher is not None:
                service_batcher.shutdown()
            for thread in threads:
                thread.join(timeout=60)
            for worker in workers[1:]:
                worker.close()  # their simulators' child processes end; the first suite is the driver's
            if driver.owns_parts:
                driver.close()
        report.notes.append(f"{count} environments shared one policy: {batcher.stats.calls} calls, mean batch "
                            f"{batcher.stats.mean_batch:.2f}")
        if service_batcher is not None:
            report.notes.append(f"and one {type(service).__name__}: {service_batcher.stats.calls} calls, mean batch "
                                f"{service_batcher.stats.mean_batch:.2f}")
            report.service_batching = service_batcher.stats.to_dict()
        report.batching = batcher.stats.to_dict()
        return report
