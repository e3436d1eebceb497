"""``executor=ray``: episodes in parallel on Ray actors, on one machine or a cluster.

- ``executor.address``: ``local`` starts a private Ray instance (dashboard off, temp files in the
  run directory when the path is short enough for Ray's sockets); ``auto`` or ``ray://host:port``
  (or a GCS address ``host:port``) joins an existing cluster.
- One actor per worker owns one suite (simulator) and one model copy, built inside the actor on
  its first episode and reused; a free actor gets the next episode of the task it ran last.
- The driver stays the only writer: results come back as episodes finish and go to the sink.
- An actor that dies mid-episode is replaced and the episode is retried (``max_retries``); an
  episode that raises is already a record with ``error`` (the worker catches it).
- Ctrl-C kills the actors and leaves the run resumable.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import warnings
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lawm_eval.errors import ConfigError, LawmEvalError, first_line
from lawm_eval.extras import require_extra
from lawm_eval.runner.executor import ExecutionReport, InterruptGuard, Sink, set_threads
from lawm_eval.runner.worker import EpisodeResult, EpisodeWorker, RunJob, make_record
from lawm_eval.types import EpisodeSpec
from lawm_eval.util.progress import progress_bar

log = logging.getLogger("lawm_eval")
MAX_TEMP_DIR_CHARS = 48  # Ray puts unix sockets under the temp dir; their paths must stay < 108 bytes
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
POLL_S = 0.1  # the driver waits on Ray in slices this long and checks for Ctrl-C in between


REACH_TIMEOUT_S = 5.0


def check_reachable(address: str) -> None:
    """A one-line LawmEvalError when ``ray://host:port`` or ``host:port`` accepts no connection
    (Ray itself retries for half a minute and prints warnings); ``auto`` is left to Ray."""
    import socket

    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if address == "auto" or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        raise LawmEvalError(f"cannot reach Ray at executor.address={address} ({exc.strerror or exc}); "
                            "is the cluster running and the port open?") from None


def token_source() -> str | None:
    """Where this process has a Ray authentication token, looked for as Ray does (None: nowhere)."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return "RAY_AUTH_TOKEN"
    given = os.environ.get("RAY_AUTH_TOKEN_PATH")
    path = Path(given).expanduser() if given else Path.home() / ".ray" / "auth_token"
    return str(path) if path.is_file() else None


# Asks a cluster's GCS for its id, as every Ray client does first: exit 3 when it refuses the credentials.
_AUTH_PROBE = """\
import sys
from ray._raylet import GcsClient
from ray.exceptions import AuthenticationError
try:
    GcsClient(address=sys.argv[1])
except AuthenticationError:
    sys.exit(3)
except Exception:
    sys.exit(4)
"""


def gcs_rejects(address: str, token_mode: bool = False) -> bool:
    """True when the cluster's GCS at ``host:port`` refuses this process's credentials (with
    ``token_mode``: as they would be sent with RAY_AUTH_MODE=token). Asked in a throw-away process,
    which answers within a second where ray.init retries for half a minute and then names no cause;
    any other failure is left to ray.init."""
    import subprocess
    import sys

    env = {**os.environ, **({"RAY_AUTH_MODE": "token"} if token_mode else {})}
    try:
        done = subprocess.run([sys.executable, "-c", _AUTH_PROBE, address], capture_output=True, env=env,
                              timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 3


def enable_token_auth() -> None:
    """RAY_AUTH_MODE=token for this process (and the Ray config it already read)."""
    os.environ["RAY_AUTH_MODE"] = "token"
    try:
        from ray._raylet import Config

        Config.initialize("")
    except (ImportError, AttributeError):
        pass


AUTH_FIX = ("give this process the head node's token (`ray get-auth-token` there) as RAY_AUTH_TOKEN, in "
            "~/.ray/auth_token or in a file named by RAY_AUTH_TOKEN_PATH, with RAY_AUTH_MODE=token")


def check_authentication(address: str) -> None:
    """Join a cluster that uses token authentication (``ray start --head`` turns it on since Ray 2.52):
    with RAY_AUTH_MODE unset and a token at hand, use it, as Ray does for local clusters; otherwise
    one line naming the cause and the fix."""
    if address == "auto" or address.startswith("ray://"):
        return
    given = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if given and not (Path(given).expanduser().is_file() and Path(given).expanduser().stat().st_size > 0):
        raise LawmEvalError(f"RAY_AUTH_TOKEN_PATH={given} names no token file (Ray stops on it): {AUTH_FIX}")
    if not gcs_rejects(address):
        return
    source, fix = token_source(), AUTH_FIX
    if source and os.environ.get("RAY_AUTH_MODE") is None and not gcs_rejects(address, token_mode=True):
        enable_token_auth()
        log.info("the Ray cluster at %s uses token authentication: using the token in %s", address, source)
        return
    if source is None:
        raise LawmEvalError(f"the Ray cluster at executor.address={address} requires token authentication and "
                            f"this process has no token: {fix}")
    raise LawmEvalError(f"the Ray cluster at executor.address={address} rejected the token in {source} (token "
                        f"authentication): {fix}")


class ModelServerActor:
    """The run's one model copy (``executor.model_server=true``): a threaded Ray actor whose
    PolicyBatcher answers the episode actors' policy calls in batches. Placed with ``model.num_gpus``
    GPUs and no CPU reservation (it waits on requests most of the time); restarted by Ray if it dies."""

    def __init__(self, job: RunJob, threads: int, max_batch: int, max_wait_s: float):
        from lawm_eval.runner.batching import PolicyBatcher
        from lawm_eval.runner.build import build_model, build_suite
        from lawm_eval.runner.worker import model_description

        set_threads(threads)
        self.error: LawmEvalError | None = None  # raised by every call: Ray would lose its text if __init__ raised
        try:
            suite = build_suite(job.config)
            try:
                model = build_model(job.config, suite)
            finally:
                suite.close()
            if model.policy is None:
                raise ConfigError(f"executor.model_server serves a policy; model '{model.model_id}' has none")
            traits = model_description(model)["traits"]
            if traits.get("privileged") or traits.get("needs_simulator"):
                raise ConfigError(f"model '{model.model_id}' reads the simulator itself (obs['sim']), which cannot "
                                  "travel to a model server: run it without executor.model_server")
        except LawmEvalError as exc:
            self.error = exc
            return
        self.description = model_description(model)
        self.batcher = PolicyBatcher(model.policy, max_batch, max_wait_s)

    def describe(self) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        return self.description

    def reset(self, session: int, seed: int) -> None:
        self.batcher.reset(session, seed)

    def act(self, session: int, obs: dict[str, Any]) -> Any:
        return self.batcher.act(session, obs)

    def finish(self, session: int) -> None:
        self.batcher.finish(session)

    def stats(self) -> dict[str, Any]:
        return self.batcher.stats.to_dict()

    def pid(self) -> int:
        return os.getpid()


class RayModelServer:
    """A PolicyServer over the ModelServerActor's handle, in an episode actor. Sessions are numbered
    here (random 62-bit ids), so that a restarted server serves them at their next reset; a server
    that died mid-episode is a TransientError (the episode runs again)."""

    def __init__(self, actor: Any):
        self.actor = actor

    def _call(self, method: str, *args: Any) -> Any:
        import ray
        from ray.exceptions import ActorUnavailableError, RayActorError, RayTaskError

        from lawm_eval.errors import TransientError

        try:
            return ray.get(getattr(self.actor, method).remote(*args))
        except (RayActorError, ActorUnavailableError) as exc:
            raise TransientError(f"the model server died ({type(exc).__name__}); Ray restarts it") from None
        except RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            raise (cause if isinstance(cause, Exception) else exc) from None

    def describe(self) -> dict[str, Any]:
        return self._call("describe")

    def open(self) -> int:
        import secrets

        return secrets.randbits(62)

    def reset(self, session: int, seed: int) -> None:
        self._call("reset", session, seed)

    def act(self, session: int, obs: dict[str, Any]) -> Any:
        return self._call("act", session, obs)

    def finish(self, session: int) -> None:
        self._call("finish", session)


class EpisodeActor:
    """Runs inside a Ray worker process (wrapped with ray.remote at run time)."""

    def __init__(self, job: RunJob, threads: int, model_server: Any = None):
        import ray

        set_threads(threads)
        context = ray.get_runtime_context()
        self.node_id = context.get_node_id()
        server = RayModelServer(model_server) if model_server is not None else None
        self.worker = EpisodeWorker(job, name=f"ray:{self.node_id[:8]}:{os.getpid()}", server=server)

    def setup(self) -> str:
        self.worker.setup()
        return self.node_id

    def pid(self) -> int:
        return os.getpid()

    def run(self, spec: EpisodeSpec) -> EpisodeResult:
        return self.worker.run(spec)

    def close(self) -> None:
        self.worker.close()


@dataclass
class _Slot:
    actor: Any
    index: int
    last_task: str | None = None


class RayExecutor:
    remote = True  # workers build their own suite and model; the driver builds none

    def __init__(
        self,
        name: str = "ray",
        num_workers: int = 2,
        address: str = "local",
        num_cpus_per_worker: float = 1.0,
        num_gpus_per_worker: float = 0.0,
        memory_per_worker_mb: int = 0,
        max_retries: int = 1,
        threads: int = 1,
        progress: str = "auto",
        temp_dir: str | None = None,
        include_dashboard: bool = False,
        model_server: bool = False,
        max_batch: int = 0,
        max_wait_ms: float = 500.0,
    ):
        if num_workers < 1:
            raise ConfigError("executor.num_workers must be ≥ 1")
        if max_retries < 0:
            raise ConfigError("executor.max_retries must be ≥ 0")
        self.num_workers, self.address = num_workers, str(address)
        self.cpus, self.gpus, self.memory_mb = num_cpus_per_worker, num_gpus_per_worker, memory_per_worker_mb
        self.max_retries, self.threads, self.progress = max_retries, threads, progress
        self.temp_dir, self.include_dashboard = temp_dir, include_dashboard
        if max_batch < 0 or max_wait_ms < 0:
            raise ConfigError("executor.max_batch must be ≥ 0 (0: num_workers) and max_wait_ms ≥ 0")
        self.model_server, self.max_batch, self.max_wait_s = bool(model_server), max_batch or num_workers, max_wait_ms / 1000
        self.server: Any = None  # the ModelServerActor's handle while a run with model_server=true runs
        self.started_cluster = False

    # -- cluster -------------------------------------------------------------------------------
    def temp_dir_for(self, job: RunJob) -> str:
        if self.temp_dir:
            return str(Path(self.temp_dir).expanduser().resolve())
        preferred = Path(job.run_dir or ".").resolve() / "ray"
        if len(str(preferred)) <= MAX_TEMP_DIR_CHARS:
            return str(preferred)
        digest = hashlib.sha1(str(preferred).encode()).hexdigest()[:10]
        return str(Path(tempfile.gettempdir()) / f"lawm-ray-{digest}")

    def connect(self, job: RunJob) -> None:
        import ray

        if ray.is_initialized():
            return
        env = {var: str(max(1, self.threads)) for var in THREAD_VARS} if self.threads > 0 else {}
        runtime_env = {"env_vars": env} if env else None
        try:
            if self.address == "local":
                temp_dir = self.temp_dir_for(job)
                Path(temp_dir).mkdir(parents=True, exist_ok=True)
                num_cpus = max(os.cpu_count() or 1, int(round(self.num_workers * self.cpus)))
                ray.init(num_cpus=num_cpus, include_dashboard=self.include_dashboard, _temp_dir=temp_dir,
                         runtime_env=runtime_env, log_to_driver=True, configure_logging=False)
                self.started_cluster = True
                log.info("started a local Ray instance (%d CPUs, temp files in %s)", num_cpus, temp_dir)
            else:
                check_reachable(self.address)
                check_authentication(self.address)
                with warnings.catch_warnings():  # Ray's client warns at length before it fails
                    warnings.simplefilter("ignore")
                    ray.init(address=self.address, runtime_env=runtime_env, log_to_driver=True,
                             configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError, OSError) as exc:
            raise LawmEvalError(f"cannot start or join Ray at executor.address={self.address}: {first_line(exc)}") from None
        except Exception as exc:  # Ray's AuthenticationError is a RayError: one line with the fix, not a traceback
            if type(exc).__name__ != "AuthenticationError":
                raise
            reason = str(exc).split(". ")[0]
            raise LawmEvalError(f"cannot join Ray at executor.address={self.address} ({reason}): {AUTH_FIX}") from None

    def shutdown(self) -> None:
        import ray

        if self.started_cluster and ray.is_initialized():
            ray.shutdown()
        self.started_cluster = False

    def new_actor(self, job: RunJob, index: int) -> _Slot:
        import ray

        options: dict[str, Any] = {"num_cpus": self.cpus, "num_gpus": self.gpus, "max_restarts": 0,
                                   "max_concurrency": 1}
        if self.memory_mb:
            options["memory"] = int(self.memory_mb) * 1024 * 1024
        actor_cls = ray.remote(EpisodeActor)
        return _Slot(actor_cls.options(**options).remote(job, self.threads, self.server), index)

    def start_model_server(self, job: RunJob, workers: int, guard: InterruptGuard) -> None:
        """The one model copy the episode actors share, on ``model.num_gpus`` GPUs, restarted if it dies;
        its own one-line error if it cannot start."""
        import ray

        gpus = float(job.config.model.options.get("num_gpus", 0) or 0)
        have = ray.cluster_resources().get("GPU", 0)
        if gpus > have:
            raise LawmEvalError(f"model.num_gpus={gpus:g} but the Ray cluster has {have:g} GPUs")
        options = {"num_cpus": 0, "num_gpus": gpus, "max_restarts": -1, "max_task_retries": 0,
                   "max_concurrency": 4 * workers + 4}
        self.server = ray.remote(ModelServerActor).options(**options).remote(
            job, self.threads, min(self.max_batch, workers), self.max_wait_s)
        ref = self.server.describe.remote()
        while not ray.wait([ref], timeout=POLL_S)[0]:  # in slices, so that Ctrl-C is acted on while it loads
            guard.check()
        try:
            ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - the model's own one-line error, if it gave one
            cause = getattr(exc, "cause", None) or exc
            if isinstance(cause, LawmEvalError):
                raise cause from None
            raise LawmEvalError(f"the model server could not start: {first_line(cause)}") from None

    def workers_that_fit(self) -> int:
        """``num_workers``, or fewer when the cluster has fewer CPUs (or GPUs) than they ask for: actors
        that can never be placed would hold the run forever."""
        import ray

        resources = ray.cluster_resources()
        fit = self.num_workers
        for key, each in (("CPU", self.cpus), ("GPU", self.gpus)):
            if each:
                fit = min(fit, int(resources.get(key, 0) // each))
        if fit < 1:
            raise LawmEvalError(f"the Ray cluster has {resources.get('CPU', 0):g} CPUs and {resources.get('GPU', 0):g} "
                                f"GPUs; one worker asks for {self.cpus:g} CPU(s) and {self.gpus:g} GPU(s)")
        if fit < self.num_workers:
            log.warning("the Ray cluster fits %d of executor.num_workers=%d workers (%g CPUs, %g GPUs); running %d",
                        fit, self.num_workers, resources.get("CPU", 0), resources.get("GPU", 0), fit)
        return fit

    # -- scheduling ----------------------------------------------------------------------------
    def run(self, job: RunJob, specs: Sequence[EpisodeSpec], sink: Sink) -> ExecutionReport:
        require_extra("ray", "executor 'ray'")
        import ray
        from ray.exceptions import ActorDiedError, RayActorError, RayTaskError, WorkerCrashedError

        died = (ActorDiedError, RayActorError, WorkerCrashedError)
        report = ExecutionReport()
        # Ctrl-C is recorded from before ray.init (which forks Ray's daemons: a KeyboardInterrupt
        # raised there is swallowed) until Ray is shut down, and acted on between waits.
        guard = InterruptGuard(defer=True).install()
        slots: list[_Slot] = []
        bar = None
        try:
            self.connect(job)
            guard.check()
            start = time.perf_counter()
            count = min(self.workers_that_fit(), len(specs))
            if self.model_server:
                self.start_model_server(job, count, guard)
            slots = [self.new_actor(job, i) for i in range(count)]
            bar = progress_bar(len(specs), self.progress)
            pending: deque[EpisodeSpec] = deque(specs)
            attempts: dict[tuple, int] = {}
            in_flight: dict[Any, tuple[_Slot, EpisodeSpec]] = {}
            self._setup_all(slots, died, RayTaskError, guard)
            report.setup_s = time.perf_counter() - start
            for slot in slots:
                self._dispatch(slot, pending, in_flight)
            while in_flight:
                ref = self._wait_one(list(in_flight), guard)
                slot, spec = in_flight.pop(ref)
                try:
                    result: EpisodeResult = ray.get(ref)
                except died as exc:
                    attempts[spec.key] = attempts.get(spec.key, 0) + 1
                    report.retries += 1
                    log.warning("worker died during episode %s (%s); %s", spec.key, type(exc).__name__,
                                "retrying on a new worker" if attempts[spec.key] <= self.max_retries else "giving up")
                    slot = self.new_actor(job, slot.index)
                    slots[slot.index] = slot
                    if attempts[spec.key] <= self.max_retries:
                        pending.appendleft(spec)
                    else:
                        report.deliver(self._died_record(job, spec, attempts[spec.key]), sink, bar)
                    self._dispatch(slot, pending, in_flight)
                    continue
                if attempts.get(spec.key):
                    info = {**result.record.info, "worker_deaths": attempts[spec.key]}
                    result = replace(result, record=replace(result.record, info=info))
                report.deliver(result, sink, bar)
                self._dispatch(slot, pending, in_flight)
            guard.check()  # Ctrl-C after the last result: still an interrupted run
            if self.server is not None:
                try:
                    report.batching = ray.get(self.server.stats.remote(), timeout=30)
                except Exception:  # noqa: BLE001 - a server that died at the very end has no statistics
                    report.batching = {}
            if report.batching:
                report.notes.append(f"{count} workers shared one model server: {report.batching['calls']} calls, "
                                    f"mean batch {report.batching['mean_batch']:.2f}")
        except KeyboardInterrupt:
            report.interrupted = True
            raise
        finally:
            try:
                if bar is not None:
                    bar.close()
                for slot in slots:
                    ray.kill(slot.actor, no_restart=True)
                if self.server is not None:
                    ray.kill(self.server, no_restart=True)
                    self.server = None
                self.shutdown()
            finally:
                guard.restore()
        guard.check()  # Ctrl-C while Ray was shutting down
        if report.retries:
            report.notes.append(f"{report.retries} episode attempts were lost to dying workers and retried")
        return report

    def _setup_all(self, slots: list[_Slot], died: tuple, task_error: type, guard: InterruptGuard) -> None:
        """Build every actor's suite and model now, so a user error stops the run at once."""
        import ray

        refs = [slot.actor.setup.remote() for slot in slots]
        waiting = list(refs)
        while waiting:  # in slices, so that Ctrl-C is acted on while the actors load
            guard.check()
            _, waiting = ray.wait(waiting, num_returns=len(waiting), timeout=POLL_S)
        try:
            ray.get(refs)
        except task_error as exc:
            original = getattr(exc, "cause", None)
            if isinstance(original, LawmEvalError):  # the user's error inside the actor: show it as is
                raise original from None
            raise
        except died as exc:
            raise LawmEvalError(f"a Ray worker died while loading the suite and model: {type(exc).__name__}") from None

    @staticmethod
    def _wait_one(refs: list, guard: InterruptGuard) -> Any:
        """The first of ``refs`` to finish; raises KeyboardInterrupt once a SIGINT has arrived."""
        import ray

        while True:
            guard.check()
            done, _ = ray.wait(refs, num_returns=1, timeout=POLL_S)
            if done:
                return done[0]

    def _dispatch(self, slot: _Slot, pending: deque, in_flight: dict) -> None:
        """Give the slot the next episode, preferring one of the task it ran last."""
        if not pending:
            return
        choice = 0
        if slot.last_task is not None:
            choice = next((i for i, s in enumerate(pending) if s.task == slot.last_task), 0)
        spec = pending[choice]
        del pending[choice]
        slot.last_task = spec.task
        in_flight[slot.actor.run.remote(spec)] = (slot, spec)

    def _died_record(self, job: RunJob, spec: EpisodeSpec, deaths: int) -> EpisodeResult:
        error = f"the worker process died {deaths} times during this episode"
        return EpisodeResult(make_record(spec, job.run_info, error=error, extra_info={"worker_deaths": deaths},
                                         worker="ray"))
