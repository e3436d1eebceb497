"""One bar chart per suite with 95% interval bars: success rate per task (LIBERO-style suites) or
the suite's headline metric per run (its manifest's first ``metrics:`` entry and its variants)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lawm_eval.metrics.aggregate import value_columns
from lawm_eval.metrics.specs import PAIRED_SEP, base_name, spec_for
from lawm_eval.report.tables import distinct_references, header


def headline(suite: str, columns: Sequence[str]) -> list[str]:
    """The columns to plot: success rate, else every column of the manifest's first metric (not its paired
    differences to the references)."""
    if "success_rate" in columns:
        return ["success_rate"]
    from lawm_eval.catalog import registries

    first = None
    if suite in registries()["suite"]:
        metrics = registries()["suite"].get(suite).metrics
        first = metrics[0] if metrics else None
    chosen = [c for c in columns if base_name(c) == first and PAIRED_SEP not in c] if first else []  # no differences
    return chosen or list(columns[:1])


def bar_of(row: Mapping[str, Any]) -> tuple[str, str, str]:
    """Rows that share one bar series: the same run, model (or reference) and task group."""
    return row["run_id"], row["model"], row.get("group", "")


def _label(row: Mapping[str, Any]) -> str:
    """'model / planner', 'ref: zero' for reference rows."""
    planner = row.get("planner")
    name = f"ref: {row['reference']}" if row.get("reference") else str(row["model"])
    return name + (f" / {planner}" if planner and planner != "-" else "")


def _labels(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """One label per bar series; the run id tells apart series that would share one."""
    labels = [_label(row) for row in rows]
    return [f"{label} ({row['run_id']})" if labels.count(label) > 1 else label for label, row in zip(labels, rows)]


def _interval(row: Mapping[str, Any], name: str) -> tuple[float, float]:
    value = float(row.get(name, math.nan))
    low, high = row.get(f"{name}_ci_low"), row.get(f"{name}_ci_high")
    if low is None or high is None or math.isnan(float(low)) or math.isnan(value):
        return 0.0, 0.0
    return max(0.0, value - float(low)), max(0.0, float(high) - value)  # error bars are lengths


def plot_suite(rows: Sequence[Mapping[str, Any]], task_rows: Sequence[Mapping[str, Any]], path: Path) -> Path | None:
    """x = tasks (success rate, when the suite has several tasks) or the headline columns; one bar
    per run. Returns None when there is nothing to plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, task_rows = distinct_references(rows), distinct_references(task_rows)
    columns = value_columns(rows)
    if not rows or not columns:
        return None
    names = headline(rows[0]["suite"], columns)
    tasks = list(dict.fromkeys(r["task"] for r in task_rows))
    per_task = names == ["success_rate"] and len(tasks) > 1
    source = task_rows if per_task else rows
    xs = tasks if per_task else names
    runs = list(dict.fromkeys(bar_of(r) for r in source))  # one bar per run and row (model, each reference)
    fig, ax = plt.subplots(figsize=(min(14.0, max(6.0, 0.9 * len(xs) * max(1, len(runs)) ** 0.5 + 3)), 4.6))
    if len(xs) == 1 and not per_task:  # one number per run: the runs are the x axis
        mine = [next(r for r in source if bar_of(r) == run) for run in runs]
        errors = np.array([_interval(row, xs[0]) for row in mine]).T
        ax.bar(np.arange(len(runs)), [float(row.get(xs[0], math.nan)) for row in mine], 0.6, yerr=errors, capsize=3,
               color=[f"C{i}" for i in range(len(runs))])
        xs = _labels(mine)
        run_axis = True
    else:
        run_axis = False
        width = 0.8 / max(1, len(runs))
        series = _labels([next(r for r in source if bar_of(r) == run) for run in runs])
        for i, (run, label) in enumerate(zip(runs, series)):
            mine = [r for r in source if bar_of(r) == run]
            y, err_low, err_high = [], [], []
            for x in xs:
                if per_task:
                    row, name = next((r for r in mine if r["task"] == x), None), "success_rate"
                else:
                    row, name = mine[0], x
                y.append(float(row.get(name, math.nan)) if row else math.nan)
                low, high = _interval(row, name) if row else (0.0, 0.0)
                err_low.append(low)
                err_high.append(high)
            positions = np.arange(len(xs)) + (i - (len(runs) - 1) / 2) * width
            ax.bar(positions, y, width, yerr=[err_low, err_high], capsize=3, label=label)
        ax.legend(fontsize=7, loc="best")
    ax.set_xticks(np.arange(len(xs)))
    labels = [textwrap.fill(str(x) if run_axis else str(x).replace("_", " "), 22) for x in xs]
    ax.set_xticklabels(labels, rotation=30 if len(xs) > 3 else 0, ha="right" if len(xs) > 3 else "center", fontsize=7)
    ax.set_ylabel(header(names[0]) if len(names) == 1 or per_task else header(base_name(names[0])))
    if spec_for(names[0]).name == "success_rate":
        ax.set_ylim(0, 1.05)
    ax.set_title(f"{rows[0]['suite']} {rows[0]['version']} (95% intervals)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
