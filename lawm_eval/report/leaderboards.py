"""``lawm-eval leaderboards``: run (or resume) the runs listed in configs/leaderboards.yaml and
write their tables and plots — the committed ``results/leaderboards/`` and, with ``--quick``, the
few-minute ``make run``.

Each entry names a run id and its overrides; runs are resumable, so a rerun only reports again.
Entries with reduced episode counts say so in their rows (the deviations list ``episodes=…``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lawm_eval.errors import ConfigError, UnknownNameError
from lawm_eval.metrics.aggregate import RunResults
from lawm_eval.paths import data_dir
from lawm_eval.report.build import Report, build_report


@dataclass(frozen=True)
class PlannedRun:
    run_id: str
    overrides: tuple[str, ...]
    quick: bool = False

    @property
    def suite(self) -> str | None:
        """The suite its ``suite=`` override names."""
        return next((o.split("=", 1)[1] for o in self.overrides if o.startswith("suite=")), None)


def planned_runs(path: Path | None = None) -> list[PlannedRun]:
    path = path or data_dir("configs") / "leaderboards.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    runs = []
    for entry in data.get("runs", []):
        if not isinstance(entry, dict) or "id" not in entry or "overrides" not in entry:
            raise ConfigError(f"{path}: each run needs 'id' and 'overrides', got {entry!r}")
        runs.append(PlannedRun(str(entry["id"]), tuple(entry["overrides"]), bool(entry.get("quick", False))))
    ids = [run.run_id for run in runs]
    if len(ids) != len(set(ids)):
        raise ConfigError(f"{path}: run ids repeat")
    return runs


def run_leaderboards(results_dir: str, out_dir: str, quick: bool = False,
                     progress: Any = print, suites: Sequence[str] = ()) -> Report:
    """Run every planned run (or the quick ones) into ``results_dir``, then write the report to ``out_dir``.

    ``suites``: only the runs of these suites, and only their tables are rewritten; the other suites' rows and
    sections of the combined leaderboard.csv / per_task.csv / leaderboard.md in ``out_dir`` are kept."""
    from lawm_eval.config import compose_config
    from lawm_eval.runner.run import run_evaluation

    planned = planned_runs()
    known = sorted({run.suite for run in planned if run.suite})
    for suite in suites:
        if suite not in known:
            raise UnknownNameError("leaderboard suite", suite, known)
    results: list[RunResults] = []
    chosen = [run for run in planned if (run.quick or not quick) and (not suites or run.suite in suites)]
    if not chosen:
        raise ConfigError(f"configs/leaderboards.yaml has no quick runs of {', '.join(suites)}")
    for i, run in enumerate(chosen, start=1):
        progress(f"[{i}/{len(chosen)}] {run.run_id}: lawm-eval run {' '.join(run.overrides)}")
        config = compose_config([*run.overrides, f"run_id={run.run_id}", f"results_dir={results_dir}",
                                 "executor.progress=off"])
        results.append(run_evaluation(config).results)
    return build_report(results, out_dir, keep_other_suites=bool(suites))
