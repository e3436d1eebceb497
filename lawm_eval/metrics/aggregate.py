"""The one aggregation path: episode records (+ merged metric states) → summary rows.

``lawm-eval run`` (printing from memory), ``summary.json`` and ``lawm-eval report`` all call
``summarize`` / ``leaderboard_rows``, so a number is computed the same way wherever it is shown.
Rules, each stated once here:
- success rate: Wilson 95% over the episodes that report success or errored; an errored episode
  counts as a failure;
- per-episode metrics: mean with a Student-t 95% interval over the episodes that report them
  (``<key>_n`` says how many); a rate metric (its spec says so, e.g. S.R.C.) whose values are all 0 or 1
  gets a Wilson interval instead, like the success rate;
- merged metrics (FID, FVD, ...): one value from the merged states of all episodes in the row, with
  its sample count ``<key>_n``; no interval;
- paired comparisons (``<metric>_vs_<reference>``, the ``PAIRED`` metrics only): the mean of the
  per-episode differences model − reference over the episodes that report both, Student-t 95%
  interval (a paired interval: whether the model beats the reference on the same episodes).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lawm_eval.metrics.specs import (
    MERGED,
    PAIRED,
    PAIRED_SEP,
    RATE,
    REFERENCES,
    reference_label,
    spec_for,
    split_reference,
)
from lawm_eval.metrics.stats import t_interval
from lawm_eval.metrics.success import wilson_interval
from lawm_eval.types import EpisodeRecord, metric_value


def summarize(records: Sequence[EpisodeRecord], merged: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One flat row: n, errors, success_rate (+CI), each metric (+CI, n), each merged metric (+n).
    Reference metrics (``<metric>@<reference>``) are not the model's: ``leaderboard_rows`` gives
    them rows of their own, and here they only give the paired ``<metric>_vs_<reference>`` columns.
    A success rate is reported when the episodes report success at all."""
    row: dict[str, Any] = {"n": len(records), "errors": sum(r.error is not None for r in records)}
    outcomes = [bool(r.success) for r in records if r.success is not None or r.error is not None]
    if outcomes and any(r.success is not None for r in records):
        low, high = wilson_interval(sum(outcomes), len(outcomes))
        row.update(success_rate=sum(outcomes) / len(outcomes), success_rate_ci_low=low, success_rate_ci_high=high,
                   success_rate_n=len(outcomes))
    values: dict[str, list[float]] = defaultdict(list)
    for record in records:
        for key, value in record.metrics.items():
            if split_reference(key)[1] is None:
                values[key].append(metric_value(value))
    for key in sorted(values):
        finite = [v for v in values[key] if math.isfinite(v)]
        n = len(finite)
        if spec_for(key).aggregation == RATE and n and all(v in (0.0, 1.0) for v in finite):
            low, high = wilson_interval(int(sum(finite)), n)  # a per-episode 0/1 outcome (S.R.C., S.R.L.)
            mean = sum(finite) / n
        else:
            mean, low, high = t_interval(values[key])
        row.update({key: mean, f"{key}_ci_low": low, f"{key}_ci_high": high, f"{key}_n": n})
    for key, result in sorted((merged or {}).items()):
        row.update(merged_columns(key, result))
    row.update(paired_differences([[(*split_reference(k), v) for k, v in r.metrics.items()] for r in records]))
    row["mean_steps"] = t_interval([r.steps for r in records])[0] if records else math.nan
    return row


def merged_columns(key: str, result: Any) -> dict[str, Any]:
    """A merged metric's computed result as row columns: value and sample count (or the reason it is missing)."""
    if isinstance(result, Mapping):
        if "error" in result:
            return {key: math.nan, f"{key}_n": 0, f"{key}_note": result["error"]}
        n = result.get("n_fake", result.get("n"))
        if "value" not in result:  # several numbers (codebook: utilisation, perplexity, ...): one column each
            numbers = {name: value for name, value in result.items()
                       if isinstance(value, (int, float)) and not isinstance(value, bool)}
            return {column: value for name, value in numbers.items()
                    for column, value in ((f"{key}_{name}", float(value)), (f"{key}_{name}_n", n))}
        return {key: float(result["value"]), f"{key}_n": n}
    return {key: float(result)}


@dataclass
class RunResults:
    """Everything the leaderboard needs of one run, from memory or from its directory."""

    run_id: str
    records: list[EpisodeRecord]
    expected: int | None = None  # episodes in the protocol; None when unknown
    merged: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # group -> merged metric -> result

    @property
    def complete(self) -> bool:
        return self.expected is not None and len(self.records) >= self.expected


def group_of(record: EpisodeRecord) -> str:
    return record.group or record.suite


def record_order(record: EpisodeRecord) -> tuple:
    """Records in protocol order: task, then episode."""
    return (record.task_index, record.task, record.episode_idx, record.seed)


def _split(records: Iterable[EpisodeRecord], key: Callable[[EpisodeRecord], Any]) -> dict[Any, list[EpisodeRecord]]:
    parts: dict[Any, list[EpisodeRecord]] = defaultdict(list)
    for record in sorted(records, key=record_order):
        parts[key(record)].append(record)
    return parts


def leaderboard_rows(runs: Iterable[RunResults], per_task: bool = False) -> list[dict[str, Any]]:
    """One row per run and task group (and task, with ``per_task``); merged metrics per group only.

    Metrics recorded as ``<metric>@<reference>`` (reference plans scored on the same episodes) leave
    the model's row and make one row per reference, after the models of the group: same run_id,
    group and episodes, ``model`` the reference's label, ``planner`` the run's for the privileged
    plan and '-' otherwise, ``reference`` its name; summarized like the model's row."""
    rows = []
    for run in runs:
        key = (lambda r: (group_of(r), r.task_index, r.task)) if per_task else (lambda r: (group_of(r),))
        for parts, records in _split(run.records, key).items():
            first = records[0]
            ids = {"run_id": run.run_id, "suite": first.suite, "version": first.version, "group": parts[0],
                   "model": next((r.model_label for r in records if r.model_label != r.model), first.model_label),
                   "planner": first.planner or "-", "complete": run.complete,
                   "expected": run.expected, "package_version": first.package_version}
            if per_task:
                ids.update(task_index=first.task_index, task=first.task)
            merged = {} if per_task else run.merged.get(parts[0], {})
            split = [[(*split_reference(k), v) for k, v in r.metrics.items()] for r in records]
            deviations = "; ".join(sorted({d for r in records for d in r.deviations}))
            rows.append({**ids, **summarize(records, merged), "deviations": deviations})
            for reference in references_of(split):
                scored = [replace(r, success=None, metrics={k: v for k, ref, v in metrics if ref == reference})
                          for r, metrics in zip(records, split)]
                planner = ids["planner"] if reference == "privileged" else "-"
                rows.append({**ids, "model": reference_label(reference), "planner": planner, "reference": reference,
                             **summarize(scored), "deviations": deviations})
    order = ("suite", "group", "task_index", "task", "reference", "model", "planner", "run_id")

    def sort_key(row: Mapping[str, Any]) -> tuple:
        ref = row.get("reference")
        return tuple((0, 0) if k == "reference" and ref is None else (1, _reference_rank(ref)) if k == "reference"
                     else row.get(k, 0) if k == "task_index" else str(row.get(k, "")) for k in order)

    return sorted(rows, key=sort_key)


def references_of(split: Sequence[Sequence[tuple[str, str | None, Any]]]) -> list[str]:
    """The references that (metric, reference, value) triples name, in their canonical order."""
    return sorted({ref for metrics in split for _, ref, _ in metrics if ref is not None},
                  key=lambda ref: (_reference_rank(ref), ref))


def paired_differences(split: Sequence[Sequence[tuple[str, str | None, Any]]]) -> dict[str, Any]:
    """``<metric>_vs_<reference>`` (+CI, n) for each PAIRED metric: per-episode model − reference,
    from each record's (metric, reference, value) triples, over the episodes that report both."""
    columns: dict[str, Any] = {}
    for metric in PAIRED:
        episodes = [{ref: metric_value(v) for key, ref, v in triples if key == metric} for triples in split]
        for reference in references_of(split):  # each episode's values by reference (None: the model's own)
            differences = [e[None] - e[reference] for e in episodes if None in e and reference in e]
            if differences:
                key = f"{metric}{PAIRED_SEP}{reference}"
                mean, low, high = t_interval(differences)
                columns.update({key: mean, f"{key}_ci_low": low, f"{key}_ci_high": high,
                                f"{key}_n": sum(math.isfinite(d) for d in differences)})
    return columns


def _reference_rank(reference: str) -> int:
    """References in their canonical order (zero, random, privileged), unknown ones after."""
    return list(REFERENCES).index(reference) if reference in REFERENCES else len(REFERENCES)


def value_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The metric columns of rows, success_rate first, then per-episode metrics, then merged ones."""
    names = {k[: -len("_n")] for row in rows for k in row if k.endswith("_n")}
    names = {n for n in names if any(n in row for row in rows)}
    merged = sorted(n for n in names if spec_for(n).aggregation == MERGED)
    plain = sorted(n for n in names if n not in merged and n != "success_rate")
    return (["success_rate"] if "success_rate" in names else []) + plain + merged
