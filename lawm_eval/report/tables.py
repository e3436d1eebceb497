"""Leaderboard tables as CSV and Markdown: one table per suite, with that suite's own metrics,
each as value [95% CI low, high] (merged metrics as value with their sample count)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lawm_eval.metrics.aggregate import value_columns
from lawm_eval.metrics.specs import MERGED, spec_for

ID_COLUMNS = ["model", "planner", "group", "task"]


def fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.{digits}f}"


def cell(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if spec_for(name).aggregation == MERGED:
        n = row.get(f"{name}_n")
        return f"{fmt(value)} (n={n})" if n is not None else fmt(value)
    low, high = row.get(f"{name}_ci_low"), row.get(f"{name}_ci_high")
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return fmt(value)
    return f"{fmt(value)} [{fmt(low)}, {fmt(high)}]"


def header(name: str) -> str:
    """'delta xyz (m) ↓': the metric's name, unit and better direction."""
    spec = spec_for(name)
    arrow = {True: " ↑", False: " ↓"}.get(spec.higher_is_better, "")
    unit = f" ({spec.unit})" if spec.unit else ""
    return f"{name.replace('_', ' ')}{unit}{arrow}"


REFERENCES_NOTE = ("*reference* rows are not models: plans scored on the episodes of the run they name — the "
                   "zero-action plan, one random plan from the planner's action box, and the run's planner on "
                   "the true dynamics of the recorded states (privileged)")


def distinct_references(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Rows without repeats of a reference row: runs on the same episodes score the same zero /
    random / privileged plans, which are shown once (the first run's row)."""
    seen, kept = set(), []
    for row in rows:
        if row.get("reference"):
            values = tuple((k, v) for k, v in sorted(row.items()) if k not in ("run_id", "deviations")
                           and not (isinstance(v, float) and math.isnan(v)))
            if values in seen:
                continue
            seen.add(values)
        kept.append(row)
    return kept


def suite_markdown(rows: Sequence[Mapping[str, Any]], title: str | None = None) -> str:
    """A GitHub Markdown table of one suite's rows; † marks rows whose protocol deviates from the
    reference, runs that did not record every episode say so, and reference plans (rows with a
    ``reference``) show their name in italics."""
    if not rows:
        return "_no episodes recorded_\n"
    rows = distinct_references(rows)
    ids = [c for c in ID_COLUMNS if any(c in row for row in rows)]
    if ids.count("group") and len({row.get("group") for row in rows}) == 1 and "task" not in ids:
        ids.remove("group")
    values = value_columns(rows)
    head = [*ids, "n", "errors", *map(header, values), "run"]
    lines = ([f"### {title}\n"] if title else []) + ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    deviating: dict[str, list[str]] = {}  # deviation text -> the runs that share it
    for row in rows:
        run_id = str(row.get("run_id", ""))
        cells = [str(row.get(c, "")) for c in ids]
        if row.get("reference"):  # a reference plan on the run's episodes, not a model: in italics
            cells[ids.index("model")] = f"*{cells[ids.index('model')]}*"
        if row.get("deviations"):
            cells[0] += " †"
            runs = deviating.setdefault(row["deviations"], [])
            if run_id not in runs:
                runs.append(run_id)
        n = str(int(row["n"]))
        if not row.get("complete", True):
            expected = row.get("expected")
            n += f" of {expected} (incomplete)" if expected else " (incomplete)"
        cells += [n, str(int(row["errors"])), *[cell(row, v) for v in values], run_id]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    every_row_deviates = all(row.get("deviations") for row in rows)
    notes = [deviation_note(runs, deviation, every_row_deviates and len(deviating) == 1)
             for deviation, runs in deviating.items()]
    if any(row.get("reference") for row in rows):
        notes.append(REFERENCES_NOTE)
    if notes:
        text += "\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    return text


def deviation_note(runs: Sequence[str], deviations: str, every_row: bool) -> str:
    """One note per distinct deviation text, naming the runs it applies to (or all rows at once)."""
    who = "every row" if every_row else ", ".join(runs)
    return f"† {who}: {deviations}"


def by_suite(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    suites: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        suites.setdefault((row["suite"], row["version"]), []).append(row)
    return suites


INTERVALS_NOTE = ("Intervals: Wilson 95% for success rates, Student-t 95% for means; merged metrics (FID, FVD) "
                  "are one value over all episodes of the row, n = samples.\n")


def to_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """One table per suite, then the note on intervals."""
    if not rows:
        return "_no episodes recorded_\n"
    parts = [suite_markdown(part, f"{suite} {version}") for (suite, version), part in by_suite(rows).items()]
    return "\n".join(parts) + "\n" + INTERVALS_NOTE
