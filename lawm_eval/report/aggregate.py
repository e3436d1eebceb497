"""Run directories → a per-episode DataFrame → one leaderboard row per run and task group."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from lawm_eval.errors import LawmEvalError
from lawm_eval.metrics.stats import t_interval
from lawm_eval.metrics.success import wilson_interval
from lawm_eval.runner.records import EPISODES_FILE, read_records
from lawm_eval.runner.rundir import RunDirectory
from lawm_eval.types import metric_value

KEY_COLUMNS = ["run_id", "suite", "version", "group", "model", "planner"]
METRIC_PREFIX = "metric."


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


def load_records(run_dirs: Iterable[str | Path]) -> pd.DataFrame:
    """One row per recorded episode; metrics become columns ``metric.<name>``."""
    rows = []
    for run_dir in map(Path, run_dirs):
        records, _ = read_records(run_dir / EPISODES_FILE)
        run_id = run_dir.name
        if RunDirectory(run_dir).exists():
            run_id = RunDirectory(run_dir).read_config().get("run_id") or run_id
        for r in records:
            row = {
                "run_id": run_id, "suite": r.suite, "version": r.version, "group": r.group or r.suite,
                "task": r.task, "task_index": r.task_index, "episode_idx": r.episode_idx, "seed": r.seed,
                "model": r.model, "planner": r.planner or "-", "success": r.success, "steps": r.steps,
                "error": r.error, "deviations": "; ".join(r.deviations), "wall_time_s": r.wall_time_s,
            }
            row.update({METRIC_PREFIX + k: metric_value(v) for k, v in r.metrics.items()})
            rows.append(row)
    return pd.DataFrame(rows)


def metric_names(df: pd.DataFrame) -> list[str]:
    return [c[len(METRIC_PREFIX):] for c in df.columns if c.startswith(METRIC_PREFIX)]


def summarize_group(group: pd.DataFrame, metrics: Sequence[str]) -> dict:
    """n, errors, success rate with Wilson CI (errors count as failures), metric means with t CI."""
    row = {"n": len(group), "errors": int(group["error"].notna().sum())}
    has_success = group["success"].notna() | group["error"].notna()
    if has_success.any():
        outcomes = group.loc[has_success, "success"].fillna(False).astype(bool)
        k, n = int(outcomes.sum()), len(outcomes)
        low, high = wilson_interval(k, n)
        row.update(success_rate=k / n, success_ci_low=low, success_ci_high=high)
    for name in metrics:
        mean, low, high = t_interval(group[METRIC_PREFIX + name].dropna().to_numpy())
        if not math.isnan(mean):
            row.update({name: mean, f"{name}_ci_low": low, f"{name}_ci_high": high})
    mean_steps, *_ = t_interval(group["steps"].to_numpy())
    row["mean_steps"] = mean_steps
    row["deviations"] = "; ".join(sorted({d for d in group["deviations"] if d}))
    return row


def leaderboard(df: pd.DataFrame, by: Sequence[str] = KEY_COLUMNS) -> pd.DataFrame:
    """One row per (run, suite, version, group) by default; add 'task' for the per-task table."""
    if df.empty:
        return pd.DataFrame(columns=[*by, "n"])
    metrics = metric_names(df)
    rows = []
    for keys, group in df.groupby(list(by), sort=False, dropna=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        rows.append({**dict(zip(by, keys)), **summarize_group(group, metrics)})
    table = pd.DataFrame(rows)
    sort_cols = [c for c in ("suite", "group", "task_index", "task", "model", "planner", "run_id") if c in table]
    return table.sort_values(sort_cols, kind="stable").reset_index(drop=True)


def per_task(df: pd.DataFrame) -> pd.DataFrame:
    return leaderboard(df, [*KEY_COLUMNS, "task_index", "task"])
