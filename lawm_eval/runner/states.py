"""Metric states of a run: written per episode as ``states/<stem>.npz``, merged per task group.

Merging uses each metric's ``merge`` (never averages of averages): one FID over all windows of all
workers. ``lawm-eval run`` and ``lawm-eval report`` both go through ``merged_results``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lawm_eval.errors import LawmEvalError, RecordsError
from lawm_eval.metrics.aggregate import group_of
from lawm_eval.metrics.base import Metric, load_states, save_states
from lawm_eval.types import EpisodeRecord

log = logging.getLogger("lawm_eval")
STATES_DIR = "states"


def write_states(run_dir: Path, stem: str, states: dict[str, Metric]) -> str:
    """Write an episode's metric states atomically; returns the path relative to the run directory."""
    (run_dir / STATES_DIR).mkdir(parents=True, exist_ok=True)
    relative = f"{STATES_DIR}/{stem}.npz"
    tmp = run_dir / f"{relative}.tmp"
    save_states(str(tmp), states)
    tmp.replace(run_dir / relative)
    return relative


def merged_states(run_dir: Path, records: Iterable[EpisodeRecord]) -> dict[str, dict[str, Metric]]:
    """{group: {metric: merged Metric}} from the states files the records point at."""
    records = [r for r in records if r.info.get("states")]
    if records:
        log.info("merging the metric states of %d episodes (FID/FVD and the like)", len(records))
    merged: dict[str, dict[str, Metric]] = {}
    for record in records:
        group = merged.setdefault(group_of(record), {})
        path = run_dir / record.info["states"]
        if not path.is_file():
            raise RecordsError(f"{path} is missing (episode {record.key}); restore it, or delete the episode's "
                               "line from episodes.jsonl to run it again")
        for name, metric in load_states(str(path)).items():
            group[name] = metric if name not in group else group[name].merge(metric)
    return merged


def merge_groups(by_group: dict[str, dict[str, Metric]]) -> dict[str, Metric]:
    """All groups' merged metrics merged once more: the run's overall values."""
    overall: dict[str, Metric] = {}
    for metrics in by_group.values():
        for name, metric in metrics.items():
            overall[name] = metric.clone() if name not in overall else overall[name].merge(metric)
    return overall


def compute(metrics: dict[str, Metric]) -> dict[str, Any]:
    """Each merged metric's result; an uncomputable one (FID of fewer than 2 samples, say) gives
    {"error": reason}."""
    results: dict[str, Any] = {}
    for name, metric in sorted(metrics.items()):
        try:
            results[name] = metric.compute()
        except LawmEvalError as exc:
            results[name] = {"error": str(exc)}
    return results


def merged_results(run_dir: Path, records: Iterable[EpisodeRecord]) -> dict[str, dict[str, Any]]:
    """{group: {metric: computed result}}: what leaderboard rows show."""
    return {group: compute(metrics) for group, metrics in merged_states(run_dir, records).items()}
