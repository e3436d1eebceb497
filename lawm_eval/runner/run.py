"""The driver: prepare a run (shared with ``validate``), skip recorded episodes, execute the rest,
write the summary. ``lawm-eval run`` prints its leaderboard from the returned outcome."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
import platform
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lawm_eval._version import __version__
from lawm_eval.errors import LawmEvalError
from lawm_eval.metrics.aggregate import RunResults, leaderboard_rows, record_order, summarize
from lawm_eval.runner.build import build_executor, build_model, build_suite
from lawm_eval.runner.executor import ExecutionReport, Executor
from lawm_eval.runner.records import RecordStore
from lawm_eval.runner.rundir import RunDirectory, check_run_id, default_run_id
from lawm_eval.runner.states import compute, merge_groups, merged_states, write_states
from lawm_eval.runner.worker import EpisodeResult, RunJob, RunParts, probe
from lawm_eval.suites.base import Suite
from lawm_eval.types import EpisodeRecord, EpisodeSpec, RunConfig, RunInfo
from lawm_eval.util.video import write_video

log = logging.getLogger("lawm_eval")
LIBRARIES = ("torch", "numpy")
ARTIFACTS_DIR = "artifacts"


@dataclass
class PreparedRun:
    """A run checked and built, before anything is written: what ``run`` executes and ``validate`` shows."""

    config: RunConfig
    suite: Suite
    specs: list[EpisodeSpec] | None  # None when the suite's data is not generated yet (validate only)
    parts: RunParts | None  # built in this process (serial runs, validate); Ray actors build their own
    notes: list[str]


def prepare_run(config: RunConfig, *, build_parts: bool = True, generate_data: bool = True) -> PreparedRun:
    """Check extras and assets, enumerate the episodes, build model and planner and call the model
    once on the suite's real input shapes, so that a model that cannot serve the suite stops here,
    before the first episode (and, when the suite's data are still to be generated and the parts are built
    here, before generating them). With ``generate_data=False`` nothing is written anywhere."""
    run_id = check_run_id(config.run_id or default_run_id(config))
    RunDirectory(Path(config.results_dir) / run_id).check(config.with_run_id(run_id).to_dict())
    suite = build_suite(config)
    try:
        suite.check_ready()
        notes: list[str] = []
        pending_data = suite.pending_generation()
        model = None
        if pending_data and generate_data:
            if build_parts:  # an incompatible model stops here, before minutes of data generation
                model = build_model(config, suite)
            pending_data = None
        specs = None
        if pending_data:
            notes.append(pending_data)
        else:
            specs = suite.episodes()
            check_unique(specs, suite.name)
        parts = None
        if build_parts:
            parts = RunParts.build(config, suite, checked=True, model=model)
            if specs:
                probe(parts, specs[0])
            else:
                notes.append("the model was not called: the suite has no episode to take input shapes from yet")
        else:
            suite.close()  # the workers start their own simulators; this one only enumerated the episodes
    except BaseException:
        suite.close()
        raise
    return PreparedRun(config, suite, specs, parts, notes)


@dataclass
class RunOutcome:
    run_id: str
    run_dir: Path
    resumed: bool
    expected: int  # episodes in the protocol (after suite parameters)
    already_recorded: int  # episodes skipped because a record existed
    report: ExecutionReport
    summary: dict[str, Any]
    results: RunResults  # what the leaderboard is made of
    stopped: str | None = None  # why the run stopped before its last episode (repeated errors)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in LIBRARIES:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


@lru_cache(maxsize=1)
def git_revision() -> str | None:
    """The commit of the lawm-eval checkout this package runs from, if it runs from one."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def make_run_info(config: RunConfig, suite: Suite) -> RunInfo:
    return RunInfo(
        run_id=config.run_id or "",
        suite=suite.name,
        version=suite.version,
        model=config.model.name,
        planner=config.planner_name,
        package_version=__version__,
        deviations=tuple(suite.deviations() + planner_deviations(config, suite)),
        library_versions=library_versions(),
        git_revision=git_revision(),
    )


def planner_deviations(config: RunConfig, suite: Suite) -> list[str]:
    """The planner's options that differ from the constants the suite's manifest gives that planner."""
    if config.planner is None:
        return []
    def plain(value: Any) -> Any:
        return [plain(v) for v in value] if isinstance(value, (list, tuple)) else value

    reference = suite.manifest.planners.get(config.planner.name, {})
    chosen = {key: plain(config.planner.options.get(key)) for key in reference}
    return [f"planner.{key}={chosen[key]!r} (reference {value!r})"
            for key, value in reference.items() if chosen[key] != plain(value)]


def check_unique(specs: list[EpisodeSpec], suite: str) -> None:
    seen = set()
    for spec in specs:
        if spec.key in seen:
            raise LawmEvalError(f"suite '{suite}' lists episode {spec.key} twice")
        seen.add(spec.key)


def episode_file_stem(record: EpisodeRecord) -> str:
    """A file name for an episode's side files (video, metric states)."""
    task = "".join(c if c.isalnum() or c in "-_." else "_" for c in record.task)
    return f"{task}_ep{record.episode_idx:03d}_seed{record.seed}"


class RepeatedErrors(LawmEvalError):
    """Episodes keep failing the same way: the run stops instead of recording the same error again."""


class RecordWriter:
    """The sink the executor calls in the driver: writes the episode's side files (video if the
    run's video policy keeps it, metric states), then appends its record — so a record never
    points at a missing file. It stops the run (RepeatedErrors) once ``max_consecutive_errors``
    episodes in a row have failed with the same error."""

    def __init__(self, run_dir: RunDirectory, store: RecordStore, config: RunConfig):
        self.run_dir, self.store, self.video = run_dir, store, config.video
        self.max_errors = config.max_consecutive_errors
        self.written = 0
        self.streak, self.last_error = 0, None  # episodes in a row that failed with last_error

    def __call__(self, result: EpisodeResult) -> None:
        record = result.record
        if not self.store.accepts(record):
            log.warning("episode %s finished twice; keeping the first record", record.key)
            return
        self.write(result)
        self.streak = 0 if record.error is None else (self.streak + 1 if record.error == self.last_error else 1)
        self.last_error = record.error
        if self.max_errors and self.streak >= self.max_errors:
            raise RepeatedErrors(f"stopped after {self.streak} episodes in a row failed with: {record.error}")

    def write(self, result: EpisodeResult) -> None:
        record = result.record
        info = dict(record.info)
        stem = episode_file_stem(record)
        root = self.run_dir.path
        if result.frames is not None and self.video.keeps(record.success):
            info["video"] = str(write_video(result.frames, root / "videos" / stem).relative_to(root))
        if result.states:
            info["states"] = write_states(root, stem, result.states)
        for name, data in result.artifacts.items():
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
            (root / ARTIFACTS_DIR).mkdir(exist_ok=True)
            path = root / ARTIFACTS_DIR / f"{stem}_{safe}"
            path.write_bytes(data)
            info.setdefault("artifacts", []).append(str(path.relative_to(root)))
        self.store.append(dataclasses.replace(record, info=info) if info != record.info else record)
        self.written += 1


def run_summary(results: RunResults, run_info: RunInfo, overall_merged: dict[str, Any]) -> dict[str, Any]:
    """summary.json: the run's facts, its leaderboard rows (model and references, per group), the
    overall / per task summaries, merged metrics and errors — all from the one aggregation."""
    records = sorted(results.records, key=record_order)
    by_task: dict[str, list[EpisodeRecord]] = {}
    for record in records:
        by_task.setdefault(record.task, []).append(record)
    return {
        "run": run_info.to_dict(), "expected_episodes": results.expected, "complete": results.complete,
        "overall": summarize(records, overall_merged),
        "groups": {row["group"]: row for row in leaderboard_rows([results]) if "reference" not in row},
        "rows": leaderboard_rows([results]),
        "tasks": {name: summarize(rs) for name, rs in by_task.items()},
        "merged_metrics": overall_merged,
        "errors": [{"task": r.task, "episode_idx": r.episode_idx, "seed": r.seed, "error": r.error}
                   for r in records if r.error is not None],
    }


def check_executor(executor: Any, prepared: PreparedRun) -> None:
    """The executor's own check of the suite (``executor.check``, where it has one), before anything is written."""
    check = getattr(executor, "check", None)
    if callable(check):
        try:
            check(prepared.suite)
        except BaseException:
            prepared.suite.close()
            raise


def run_evaluation(config: RunConfig, executor: Executor | None = None) -> RunOutcome:
    """Run (or resume) the evaluation that ``config`` (from ``compose_config``) describes."""
    executor = executor or build_executor(config)
    in_process = not getattr(executor, "remote", False)
    config = config.with_run_id(check_run_id(config.run_id or default_run_id(config)))
    prepared = prepare_run(config, build_parts=in_process)
    check_executor(executor, prepared)
    specs = prepared.specs or []
    run_dir = RunDirectory(Path(config.results_dir) / config.run_id)
    resumed = run_dir.open(config.to_dict())
    store = RecordStore(run_dir.path)
    pending = [spec for spec in specs if spec.key not in store
               or (config.retry_errors and store.records[spec.key].error is not None)]
    run_info = make_run_info(config, prepared.suite)
    writer = RecordWriter(run_dir, store, config)
    report = ExecutionReport()
    interrupted, stopped = False, None
    try:
        if pending:
            job = RunJob(config, run_info, str(run_dir.path), probe_spec=pending[0], parts=prepared.parts)
            report = executor.run(job, pending, writer)
    except KeyboardInterrupt:
        interrupted = True
    except RepeatedErrors as exc:
        stopped = exc
    except LawmEvalError:
        if not resumed and not len(store):  # the executor could not start: leave no empty run behind
            shutil.rmtree(run_dir.path, ignore_errors=True)
        raise
    finally:
        prepared.suite.close()  # the parts' suite when built here; else the one that enumerated the episodes
    report.interrupted = report.interrupted or interrupted
    keys = {spec.key for spec in specs}
    records = [r for key, r in store.records.items() if key in keys]
    states = merged_states(run_dir.path, records)
    results = RunResults(config.run_id, records, len(specs), {g: compute(m) for g, m in states.items()})
    summary = run_summary(results, run_info, compute(merge_groups(states)))
    run_dir.write_summary(summary)
    if report.interrupted:
        raise KeyboardInterrupt(f"interrupted after {writer.written} new episodes; rerun with run_id={config.run_id}")
    return RunOutcome(config.run_id, run_dir.path, resumed, len(specs), len(specs) - len(pending), report, summary,
                      results, None if stopped is None else str(stopped))
