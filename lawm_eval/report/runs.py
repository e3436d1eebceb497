"""Read run directories back into ``RunResults`` (records + merged metric states), the input of the
one aggregation path in ``lawm_eval.metrics.aggregate``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from lawm_eval.errors import LawmEvalError
from lawm_eval.metrics.aggregate import RunResults
from lawm_eval.runner.records import EPISODES_FILE, read_records, unique_records
from lawm_eval.runner.rundir import SUMMARY_FILE, RunDirectory
from lawm_eval.runner.states import merged_results
from lawm_eval.types import metric_value


def find_runs(paths: Sequence[str | Path]) -> list[Path]:
    """Run directories named directly, or found one level below a folder of runs."""
    runs: list[Path] = []
    for path in map(Path, paths):
        if (path / EPISODES_FILE).exists() or (path / "config.yaml").exists():
            runs.append(path)
        elif path.is_dir():
            runs += sorted(p for p in path.iterdir() if (p / EPISODES_FILE).exists())
        else:
            raise LawmEvalError(f"no run directory at {path}")
    return runs


def load_run(run_dir: Path) -> RunResults:
    """A run's records, its expected episode count (from summary.json) and its merged metrics."""
    import json

    records = list(unique_records(read_records(run_dir / EPISODES_FILE)[0], run_dir).values())
    run_id, expected = run_dir.name, None
    directory = RunDirectory(run_dir)
    if directory.exists():
        run_id = str(directory.read_config().get("run_id") or run_id)
    summary = run_dir / SUMMARY_FILE
    if summary.exists():
        try:
            expected = json.loads(summary.read_text()).get("expected_episodes")
        except ValueError:
            expected = None
    return RunResults(run_id, records, expected, merged_results(run_dir, records))


def episodes_frame(runs: Sequence[RunResults]) -> pd.DataFrame:
    """One row per recorded episode (metrics as ``metric.<key>`` columns), for pandas users."""
    rows = []
    for run in runs:
        for r in run.records:
            row = {"run_id": run.run_id, "suite": r.suite, "version": r.version, "group": r.group or r.suite,
                   "task": r.task, "task_index": r.task_index, "episode_idx": r.episode_idx, "seed": r.seed,
                   "model": r.model_label, "planner": r.planner or "-", "success": r.success, "steps": r.steps,
                   "error": r.error, "wall_time_s": r.wall_time_s}
            row.update({f"metric.{k}": metric_value(v) for k, v in r.metrics.items()})
            rows.append(row)
    return pd.DataFrame(rows)
