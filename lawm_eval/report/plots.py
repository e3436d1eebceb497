"""Bar charts with 95% interval bars: success rate (or the first metric) per task and run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def plot_per_task(table: pd.DataFrame, path: Path, value: str | None = None) -> Path | None:
    """One panel per suite; x = task, one bar per run. Returns None when there is nothing to plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if table.empty:
        return None
    if value is None:
        value = "success_rate" if "success_rate" in table else next(
            (c[: -len("_ci_low")] for c in table.columns if c.endswith("_ci_low") and c != "success_ci_low"), None
        )
    if value is None or value not in table:
        return None
    low_col = "success_ci_low" if value == "success_rate" else f"{value}_ci_low"
    high_col = "success_ci_high" if value == "success_rate" else f"{value}_ci_high"
    suites = list(dict.fromkeys(table["suite"]))
    fig, axes = plt.subplots(len(suites), 1, figsize=(max(6, 1.2 * table["task"].nunique() + 3), 3.2 * len(suites)),
                             squeeze=False)
    for ax, suite in zip(axes[:, 0], suites):
        part = table[table["suite"] == suite]
        tasks = list(dict.fromkeys(part["task"]))
        runs = list(dict.fromkeys(part["run_id"]))
        width = 0.8 / max(1, len(runs))
        for i, run in enumerate(runs):
            rows = part[part["run_id"] == run].set_index("task").reindex(tasks)
            x = np.arange(len(tasks)) + (i - (len(runs) - 1) / 2) * width
            y = rows[value].to_numpy(dtype=float)
            low = np.nan_to_num(y - rows[low_col].to_numpy(dtype=float), nan=0.0)
            high = np.nan_to_num(rows[high_col].to_numpy(dtype=float) - y, nan=0.0)
            label = f"{rows['model'].dropna().iloc[0]} / {rows['planner'].dropna().iloc[0]} ({run})"
            ax.bar(x, y, width, yerr=[low, high], capsize=3, label=label)
        ax.set_xticks(np.arange(len(tasks)))
        ax.set_xticklabels(tasks, rotation=30, ha="right")
        ax.set_ylabel(value.replace("_", " "))
        ax.set_title(suite)
        if value == "success_rate":
            ax.set_ylim(0, 1.05)
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
