"""EpisodeWorker: owns one suite (simulator), one model and one planner; turns specs into records.

The serial executor uses one worker in-process; the Ray executor puts one in each actor. The
worker is built from the resolved config only, so it can be created anywhere.
"""

from __future__ import annotations

import socket
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from lawm_eval.errors import LawmEvalError
from lawm_eval.runner.build import build_model, build_planner, build_suite
from lawm_eval.runner.seeding import seed_everything
from lawm_eval.types import EpisodeRecord, EpisodeSpec, RunInfo


@dataclass(frozen=True)
class RunJob:
    """Everything a worker needs, picklable: the resolved config, the run's shared facts, and the
    run directory (for executors that keep their own files there)."""

    config: dict[str, Any]
    run_info: RunInfo
    run_dir: str = ""


@dataclass
class EpisodeResult:
    record: EpisodeRecord
    frames: np.ndarray | None = None  # (T,H,W,3) uint8 when the run keeps this episode's video
    states: dict[str, Any] = field(default_factory=dict)  # partial Metric states, merged by the driver
    artifacts: dict[str, bytes] = field(default_factory=dict)  # files the driver writes beside the records


def wants_frames(config: dict[str, Any], spec: EpisodeSpec) -> bool:
    mode = config.get("save_video", "none")
    if mode == "first_n":
        return spec.episode_idx < int(config.get("video_episodes", 0))
    return mode in ("failures", "all")


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    if isinstance(exc, LawmEvalError):
        return message or type(exc).__name__
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class EpisodeWorker:
    def __init__(self, job: RunJob, name: str = ""):
        self.job = job
        self.name = name or f"{socket.gethostname()}:serial"
        self.suite = self.model = self.planner = None
        self.simulator_versions: dict[str, str] = {}

    def setup(self) -> None:
        """Build suite, model and planner (once). Errors here abort the run: they are the
        user's to fix and would fail every episode the same way."""
        if self.suite is not None:
            return
        config = self.job.config
        suite = build_suite(config)
        suite.check_ready()
        self.model = build_model(config, suite)
        self.planner = build_planner(config, suite)
        self.simulator_versions = suite.simulator_versions()
        self.suite = suite

    def run(self, spec: EpisodeSpec) -> EpisodeResult:
        """Run one episode; any exception inside the episode becomes a record with ``error``."""
        self.setup()
        info = self.job.run_info
        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        start = time.perf_counter()
        outcome, error, details = None, None, {}
        try:
            seed_everything(spec.seed)
            outcome = self.suite.run_episode(spec, self.model, self.planner, frames=wants_frames(self.job.config, spec))
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - an episode's failure is recorded, the run goes on
            error = one_line(exc)
            details = {"traceback": traceback.format_exc(limit=8)}
        record = EpisodeRecord(
            suite=spec.suite,
            version=spec.version,
            task=spec.task,
            episode_idx=spec.episode_idx,
            seed=spec.seed,
            group=spec.group,
            task_index=spec.task_index,
            success=None if outcome is None else outcome.success,
            metrics={} if outcome is None else dict(outcome.metrics),
            steps=0 if outcome is None else outcome.steps,
            error=error,
            model=info.model,
            checkpoint_sha256=self.model.checkpoint_sha256,
            planner=info.planner,
            package_version=info.package_version,
            simulator_versions=self.simulator_versions,
            deviations=info.deviations,
            info={**dict(spec.params), **({} if outcome is None else outcome.info), **details},
            wall_time_s=round(time.perf_counter() - start, 4),
            started_at=started_at,
            worker=self.name,
        )
        if outcome is None:
            return EpisodeResult(record)
        return EpisodeResult(record, outcome.frames, dict(outcome.states), dict(outcome.artifacts))

    def close(self) -> None:
        if self.suite is not None:
            self.suite.close()
