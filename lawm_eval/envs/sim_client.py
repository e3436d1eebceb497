"""The parent side of a simulator process: start ``sim_server`` with another environment's Python,
call the backend's methods, turn its errors into one-line errors naming the environment.

The child imports lawm-eval's package folder directly (only ``lawm_eval.envs.wire``,
``sim_server`` and the backend module are executed there), so nothing of this environment's
site-packages reaches it. Its stderr (the simulator's own printing) goes to a log file under
``$LAWM_EVAL_CACHE/logs`` (emptied when it passes ``LOG_CAP_BYTES``), whose last line and path are
quoted when the child dies. A call that gets no answer within its timeout kills the child.

The child's OpenBLAS runs one kernel family on every x86-64 CPU (``pinned_blas_env``): the simulators'
inverse kinematics goes through numpy's linear algebra, and OpenBLAS otherwise picks its kernels by CPU
model (Haswell, SkylakeX, SapphireRapids, ...), whose rounding differs in the last bits and, through
contacts, changes a 30-step rollout in the third digit. Pinned, the same seed gives the same states on any
AVX2 machine (shipped artefacts such as VP²'s start/goal pairs regenerate bit for bit).
"""

from __future__ import annotations

import os
import platform
import selectors
import subprocess
import time
from pathlib import Path
from typing import Any, BinaryIO

from lawm_eval.envs import wire
from lawm_eval.errors import LawmEvalError, TransientError
from lawm_eval.paths import cache_dir

PACKAGE_DIR = Path(__file__).resolve().parents[1]
LOG_CAP_BYTES = 16 * 1024 * 1024
DEFAULT_TIMEOUT_S = 1800.0  # one call: an expert check of a 1700-step task on a slow CPU stays well under it

BLAS_KERNEL = "Haswell"  # OpenBLAS's AVX2 kernels: on every x86-64 CPU since 2013 (Intel) / 2015 (AMD)


def pinned_blas_env(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, str]:
    """``{"OPENBLAS_CORETYPE": BLAS_KERNEL}`` on an x86-64 CPU with AVX2 and FMA, else ``{}`` (other CPUs keep
    OpenBLAS's own choice: their rollouts may differ in the last bits from an x86-64 machine's)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return {}
    try:
        flags = next((line.split(":", 1)[1].split() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("flags")), [])
    except OSError:
        return {}
    return {"OPENBLAS_CORETYPE": BLAS_KERNEL} if {"avx2", "fma"} <= set(flags) else {}


# Loads the package `lawm_eval` from PACKAGE_DIR without putting any folder on sys.path.
BOOTSTRAP = """\
import importlib.util, sys
package = sys.argv.pop(1)
spec = importlib.util.spec_from_file_location("lawm_eval", package + "/__init__.py",
                                              submodule_search_locations=[package])
module = importlib.util.module_from_spec(spec)
sys.modules["lawm_eval"] = module
spec.loader.exec_module(module)
from lawm_eval.envs.sim_server import main
sys.exit(main(sys.argv[1:]))
"""


class SimulatorError(LawmEvalError):
    """An error raised inside a simulator environment, as one line naming the environment."""


class SimulatorDied(SimulatorError):
    """The simulator process ended (or was killed) while a call was in flight, or before it answered."""


class SimulatorCrashed(SimulatorDied, TransientError):
    """The simulator process died (not: was killed for hanging): the episode runs again from its start in
    a new process (``runner.worker``); a hang, which would likely hang again, is not retried."""


class _Deadline:
    """A byte stream that waits at most until ``deadline`` for each read (raw, unbuffered pipe)."""

    def __init__(self, raw: BinaryIO, deadline: float | None):
        self.raw, self.deadline = raw, deadline
        self.selector = selectors.DefaultSelector()
        self.selector.register(raw, selectors.EVENT_READ)

    def read(self, n: int) -> bytes:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                raise TimeoutError
        return self.raw.read(n)


class SimProcess:
    """One simulator child process running ``backend`` ("module:Class") under ``python``."""

    def __init__(self, environment: str, python: str | Path, backend: str, env: dict[str, str] | None = None,
                 timeout_s: float | None = DEFAULT_TIMEOUT_S):
        self.environment, self.python, self.backend, self.timeout_s = environment, str(python), backend, timeout_s
        logs = cache_dir() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / f"sim-{environment}-{os.getpid()}-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes to it for its whole life
        self._process = subprocess.Popen(
            [self.python, "-I", "-c", BOOTSTRAP, str(PACKAGE_DIR), backend],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, bufsize=0,
            env={**os.environ, **pinned_blas_env(), **(env or {})},
        )
        self._in_flight = False
        self.calls = 0
        try:
            self.hello: dict[str, Any] = self._reply("start", 120.0)
        except LawmEvalError:
            self.close()
            raise

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def _last_log_line(self) -> str:
        with open(self.log_path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - 8192))
            tail = log.read().decode(errors="replace").replace("\r", "\n")
        lines = [line.strip() for line in tail.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def _died(self, what: str, why: str, hung: bool = False) -> SimulatorDied:
        code = self._process.wait(timeout=30)
        last = self._last_log_line()
        return (SimulatorDied if hung else SimulatorCrashed)(f"'{self.environment}' simulator process {why} during {what} (exit code {code})"
                             + (f": {last}" if last else "") + f" [log: {self.log_path}]")

    def _reply(self, what: str, timeout_s: float | None) -> Any:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        try:
            reply = wire.read_message(_Deadline(self._process.stdout, deadline))
        except TimeoutError:
            self.kill()
            raise self._died(what, f"gave no answer in {timeout_s:.0f} s and was killed", hung=True) from None
        except wire.StreamClosed:
            raise self._died(what, "died") from None
        except wire.WireError as exc:
            self.kill()
            raise SimulatorError(f"'{self.environment}' simulator process: {exc}") from None
        self._in_flight = False
        if isinstance(reply, dict) and "error" in reply:
            error = reply["error"]
            raise SimulatorError(f"'{self.environment}' environment, {what}: {error.get('type')}: "
                                 f"{error.get('message')}")
        if not isinstance(reply, dict) or "ok" not in reply:
            raise SimulatorError(f"'{self.environment}' simulator process sent a malformed reply")
        return reply["ok"]

    def call(self, method: str, timeout_s: float | None = None, **kwargs: Any) -> Any:
        """Call ``backend.method(**kwargs)`` in the child; its result (numpy arrays included)."""
        if not self.alive:
            raise SimulatorCrashed(f"'{self.environment}' simulator process is not running [log: {self.log_path}]")
        if self._in_flight:  # an earlier call was interrupted: its answer would be taken for this one's
            self.kill()
            raise SimulatorDied(f"'{self.environment}' simulator process was interrupted mid-call and stopped")
        try:
            message = wire.encode({"op": "call", "method": method, "kwargs": kwargs})
        except wire.WireError as exc:
            raise SimulatorError(f"'{self.environment}' environment, {method}: {exc}") from None
        if self.log_path.exists() and self.log_path.stat().st_size > LOG_CAP_BYTES:
            os.truncate(self.log_path, 0)  # the child appends (O_APPEND): it goes on at the new end
        self._in_flight = True
        try:
            self._process.stdin.write(message)
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            return self._reply(method, 30.0)  # reports the death with its exit code
        self.calls += 1
        return self._reply(method, self.timeout_s if timeout_s is None else timeout_s)

    def close(self) -> None:
        """Ask the child to close its simulator and exit; kill it if it does not (or is mid-call)."""
        clean = False
        if self.alive and not self._in_flight:
            try:
                self._process.stdin.write(wire.encode({"op": "close"}))
                self._process.stdin.flush()
                self._reply("close", 60.0)
                clean = self._process.wait(timeout=30) == 0
            except (LawmEvalError, OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        self._log.close()
        if clean:  # a log is kept only when the process did not end well
            self.log_path.unlink(missing_ok=True)

    def kill(self) -> None:
        if self.alive:
            self._process.kill()
        self._process.wait()
        self._in_flight = False

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
