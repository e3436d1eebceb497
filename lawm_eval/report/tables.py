"""Leaderboard tables as CSV and Markdown (value [95% CI low, high])."""

from __future__ import annotations

import math

import pandas as pd

ID_COLUMNS = ["suite", "version", "group", "task", "model", "planner", "run_id"]


def fmt(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def with_ci(row: pd.Series, name: str) -> str:
    value = row.get(name)
    low, high = row.get(f"{name}_ci_low"), row.get(f"{name}_ci_high")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return fmt(value)
    return f"{fmt(value)} [{fmt(low)}, {fmt(high)}]"


def value_columns(table: pd.DataFrame) -> list[str]:
    """Columns that carry a value with a CI: success_rate first, then metrics."""
    names = [c[: -len("_ci_low")] for c in table.columns if c.endswith("_ci_low")]
    names = [n for n in names if n != "success"]
    if "success_ci_low" in table.columns:
        names = ["success_rate", *names]
    return names


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub Markdown table; a † marks rows whose protocol deviates from the reference."""
    if table.empty:
        return "_no episodes recorded_\n"
    ids = [c for c in ID_COLUMNS if c in table.columns]
    values = value_columns(table)
    header = [*ids, "n", "errors", *[v.replace("_", " ") for v in values]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    notes = []
    for _, row in table.iterrows():
        cells = [str(row[c]) for c in ids]
        if row.get("deviations"):
            cells[0] += " †"
            notes.append(f"† {row['run_id']}: {row['deviations']}")
        rate_ci = row.copy()
        rate_ci["success_rate_ci_low"] = row.get("success_ci_low")
        rate_ci["success_rate_ci_high"] = row.get("success_ci_high")
        cells += [str(int(row["n"])), str(int(row["errors"]))]
        cells += [with_ci(rate_ci, v) for v in values]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    if notes:
        text += "\n" + "\n".join(f"- {n}" for n in dict.fromkeys(notes)) + "\n"
    text += "\nIntervals: Wilson 95% for success rates, Student-t 95% for means.\n"
    return text
