"""summary.json: success rate (Wilson 95%) and metric means (t 95%) overall, per group, per task."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from lawm_eval.metrics.stats import Mean
from lawm_eval.metrics.success import SuccessRate
from lawm_eval.types import EpisodeRecord, metric_value


def aggregate(records: Iterable[EpisodeRecord]) -> dict[str, Any]:
    """Success (an errored episode counts as a failure) and the mean of every metric."""
    records = list(records)
    success = SuccessRate()
    means: dict[str, Mean] = defaultdict(Mean)
    steps = Mean()
    for record in records:
        if record.success is not None or record.error is not None:
            success.update(bool(record.success))
        steps.update(record.steps)
        for name, value in record.metrics.items():
            means[name].update(metric_value(value))
    out: dict[str, Any] = {
        "episodes": len(records),
        "errors": sum(r.error is not None for r in records),
        "steps": steps.compute(),
        "metrics": {name: mean.compute() for name, mean in sorted(means.items())},
    }
    if success.n:
        out["success_rate"] = success.compute()
    return out


def summarize(records: Iterable[EpisodeRecord], header: dict[str, Any],
              merged: dict[str, Any] | None = None) -> dict[str, Any]:
    records = sorted(records, key=lambda r: (r.task_index, r.task, r.episode_idx, r.seed))
    by_group: dict[str, list[EpisodeRecord]] = defaultdict(list)
    by_task: dict[str, list[EpisodeRecord]] = defaultdict(list)
    for record in records:
        by_group[record.group or record.suite].append(record)
        by_task[record.task].append(record)
    return {
        **header,
        "overall": aggregate(records),
        "groups": {name: aggregate(rs) for name, rs in by_group.items()},
        "tasks": {name: aggregate(rs) for name, rs in by_task.items()},
        "merged_metrics": merged or {},
        "errors": [
            {"task": r.task, "episode_idx": r.episode_idx, "seed": r.seed, "error": r.error}
            for r in records if r.error is not None
        ],
    }
