"""The driver: resolve a run, skip recorded episodes, execute the rest, write the summary."""

from __future__ import annotations

import copy
import dataclasses
import importlib.metadata
import logging
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lawm_eval._version import __version__
from lawm_eval.catalog import registries
from lawm_eval.errors import LawmEvalError
from lawm_eval.runner.build import build_suite
from lawm_eval.runner.executor import ExecutionReport, Executor
from lawm_eval.runner.records import RecordStore
from lawm_eval.runner.rundir import RunDirectory, check_run_id, default_run_id
from lawm_eval.runner.summary import summarize
from lawm_eval.runner.worker import EpisodeResult, RunJob
from lawm_eval.suites.base import Suite
from lawm_eval.types import EpisodeSpec, RunInfo

log = logging.getLogger("lawm_eval")
LIBRARIES = ("torch", "numpy")
STATES_DIR = "states"
ARTIFACTS_DIR = "artifacts"


@dataclass
class RunOutcome:
    run_id: str
    run_dir: Path
    resumed: bool
    expected: int  # episodes in the protocol (after suite parameters)
    already_recorded: int  # episodes skipped because a record existed
    report: ExecutionReport
    summary: dict[str, Any]


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in LIBRARIES:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def make_run_info(config: dict[str, Any], suite: Suite) -> RunInfo:
    planner = config["planner"]["name"]
    return RunInfo(
        run_id=config["run_id"],
        suite=suite.name,
        version=suite.version,
        model=config["model"]["name"],
        planner=None if planner == "none" else planner,
        package_version=__version__,
        deviations=tuple(suite.deviations()),
        library_versions=library_versions(),
    )


def build_executor(config: dict[str, Any]) -> Executor:
    params = dict(config["executor"])
    executor_cls = registries()["executor"].get(params["name"])
    try:
        return executor_cls(**params)
    except TypeError as exc:
        raise LawmEvalError(f"executor '{params['name']}': {exc}") from None


def check_unique(specs: list[EpisodeSpec], suite: str) -> None:
    seen = set()
    for spec in specs:
        if spec.key in seen:
            raise LawmEvalError(f"suite '{suite}' lists episode {spec.key} twice")
        seen.add(spec.key)


def episode_file_stem(record) -> str:
    """A file name for an episode's side files (video, metric states)."""
    task = "".join(c if c.isalnum() or c in "-_." else "_" for c in record.task)
    return f"{task}_ep{record.episode_idx:03d}_seed{record.seed}"


class RecordWriter:
    """The sink the executor calls in the driver: writes the episode's side files (video if kept,
    metric states), then appends its record — so a record never points at a missing file."""

    def __init__(self, run_dir: RunDirectory, store: RecordStore, config: dict[str, Any]):
        self.run_dir, self.store, self.mode = run_dir, store, config.get("save_video", "none")
        self.written = 0

    def __call__(self, result: EpisodeResult) -> None:
        record = result.record
        if record.key in self.store:
            log.warning("episode %s finished twice; keeping the first record", record.key)
            return
        info = dict(record.info)
        stem = episode_file_stem(record)
        if result.frames is not None and (self.mode != "failures" or not record.success):
            from lawm_eval.report.video import write_video

            path = write_video(result.frames, self.run_dir.path / "videos" / stem)
            info["video"] = str(path.relative_to(self.run_dir.path))
        if result.states:
            from lawm_eval.metrics.base import save_states

            (self.run_dir.path / STATES_DIR).mkdir(exist_ok=True)
            relative = f"{STATES_DIR}/{stem}.npz"
            tmp = self.run_dir.path / f"{relative}.tmp"
            save_states(str(tmp), result.states)
            tmp.replace(self.run_dir.path / relative)
            info["states"] = relative
        for name, data in result.artifacts.items():
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
            (self.run_dir.path / ARTIFACTS_DIR).mkdir(exist_ok=True)
            path = self.run_dir.path / ARTIFACTS_DIR / f"{stem}_{safe}"
            path.write_bytes(data)
            info.setdefault("artifacts", []).append(str(path.relative_to(self.run_dir.path)))
        self.store.append(dataclasses.replace(record, info=info) if info != record.info else record)
        self.written += 1


def merged_states(run_dir: Path, records) -> dict[str, Any]:
    """Merge every recorded episode's metric states (metrics' ``merge``, never averages of averages)
    and compute them: e.g. one FID over all windows of all workers."""
    from lawm_eval.metrics.base import load_states

    merged: dict[str, Any] = {}
    for record in records:
        relative = record.info.get("states")
        if not relative:
            continue
        for name, metric in load_states(str(run_dir / relative)).items():
            merged[name] = metric if name not in merged else merged[name].merge(metric)
    results: dict[str, Any] = {}
    for name, metric in sorted(merged.items()):
        try:
            results[name] = metric.compute()
        except LawmEvalError as exc:  # e.g. FID with fewer than 2 samples so far
            results[name] = {"error": str(exc)}
    return results


def run_evaluation(config: dict[str, Any], executor: Executor | None = None) -> RunOutcome:
    """Run (or resume) the evaluation that ``config`` (from ``compose_config``) describes."""
    config = copy.deepcopy(config)
    suite = build_suite(config)
    suite.check_ready()
    specs = suite.episodes()
    check_unique(specs, suite.name)
    config["run_id"] = check_run_id(config.get("run_id") or default_run_id(config))
    run_dir = RunDirectory(Path(config["results_dir"]) / config["run_id"])
    resumed = run_dir.open(config)
    store = RecordStore(run_dir.path)
    pending = [spec for spec in specs if spec.key not in store]
    already = len(specs) - len(pending)
    run_info = make_run_info(config, suite)
    writer = RecordWriter(run_dir, store, config)
    report = ExecutionReport()
    interrupted = False
    if pending:
        executor = executor or build_executor(config)
        try:
            report = executor.run(RunJob(config, run_info, str(run_dir.path)), pending, writer)
        except KeyboardInterrupt:
            interrupted = True
    report.interrupted = report.interrupted or interrupted
    keys = {spec.key for spec in specs}
    records = [r for key, r in store.records.items() if key in keys]
    header = {"run": run_info.to_dict(), "expected_episodes": len(specs), "complete": len(records) == len(specs)}
    summary = summarize(records, header, merged_states(run_dir.path, records))
    run_dir.write_summary(summary)
    if report.interrupted:
        raise KeyboardInterrupt(f"interrupted after {writer.written} new episodes; rerun with run_id={config['run_id']}")
    return RunOutcome(config["run_id"], run_dir.path, resumed, len(specs), already, report, summary)
