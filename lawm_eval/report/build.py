"""``lawm-eval report``: read runs, write one leaderboard table and one plot per suite, plus the
combined leaderboard.csv / per_task.csv for pandas."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lawm_eval.errors import LawmEvalError
from lawm_eval.metrics.aggregate import RunResults, leaderboard_rows
from lawm_eval.report import bfa
from lawm_eval.report.plots import plot_suite
from lawm_eval.report.reported import load_reported
from lawm_eval.report.reported import to_markdown as reported_markdown
from lawm_eval.report.runs import find_runs, load_run
from lawm_eval.report.tables import INTERVALS_NOTE, by_suite, suite_markdown


@dataclass
class Report:
    leaderboard: pd.DataFrame
    per_task: pd.DataFrame
    files: list[Path]
    markdown: str


def write_suite(out: Path, stem: str, rows: list[dict[str, Any]], task_rows: list[dict[str, Any]],
                title: str, note: str = "") -> tuple[str, list[Path]]:
    """<stem>.csv, <stem>.md (with the papers' reported numbers and ``note``) and <stem>.png; returns the
    Markdown."""
    table = suite_markdown(rows) + note
    layout, extra_files = paper_layout(out, stem, rows)
    reported = reported_markdown(load_reported([rows[0]["suite"]]))
    files = [out / f"{stem}.csv", out / f"{stem}.md"]
    pd.DataFrame(rows).to_csv(files[0], index=False)
    plot = plot_suite(rows, task_rows, out / f"{stem}.png")
    picture = f"\n![{stem}]({plot.name})\n" if plot else ""
    files[1].write_text(f"# {title}\n\n" + table + layout + reported + picture + "\n" + INTERVALS_NOTE)
    return f"### {title}\n\n" + table + layout + reported, files + extra_files + ([plot] if plot else [])


def paper_layout(out: Path, stem: str, rows: list[dict[str, Any]]) -> tuple[str, list[Path]]:
    """A suite's results in its paper's own layout, where we have one: bfa_selection's Table 2 and Fig. 4."""
    if rows[0]["suite"] != bfa.SUITE:
        return "", []
    plot = bfa.scaling_plot(rows, out / f"{stem}_scaling.png")
    picture = f"\n![embodiment scaling]({plot.name})\n" if plot else ""
    return bfa.table2_markdown(rows) + picture, [plot] if plot else []


def data_note(results: Sequence[RunResults]) -> str:
    """A warning line when the runs of one suite read different data (the ``data:`` fingerprints in their
    records' simulator versions, e.g. a recipe regenerated on another machine), so their rows are not on
    the same episodes; "" when they all read the same. Errored records without versions are not counted."""
    runs_by_data: dict[tuple[str, ...], list[str]] = {}
    labels: dict[tuple[str, ...], str] = {}
    for run in results:
        for record in run.records:
            data = {k[len("data:"):]: v for k, v in record.simulator_versions.items() if k.startswith("data:")}
            if not data and record.error is not None:
                continue
            key = tuple(sorted(data.values()))  # the same data read under another name or path is the same
            labels.setdefault(key, ", ".join(f"{name} {value}" for name, value in sorted(data.items())) or "not recorded")
            if run.run_id not in runs_by_data.setdefault(key, []):
                runs_by_data[key].append(run.run_id)
    if len(runs_by_data) <= 1:
        return ""
    parts = [f"{labels[key]}: {', '.join(ids)}" for key, ids in runs_by_data.items()]
    return ("\n- **Rows on different data**: these runs read different versions of the data, so their "
            "episodes are not the same: " + " | ".join(parts) + "\n")


def build_report(runs: Sequence[str | Path] | Sequence[RunResults], out_dir: str | Path) -> Report:
    """Tables and plots for run directories (or RunResults already in memory)."""
    if all(isinstance(r, RunResults) for r in runs):
        results = list(runs)
    else:
        run_dirs = find_runs(runs)
        if not run_dirs:
            raise LawmEvalError(f"no runs found in {', '.join(map(str, runs))}")
        results = [load_run(path) for path in run_dirs]
    if not any(r.records for r in results):
        raise LawmEvalError(f"the runs in {', '.join(map(str, runs))} have no recorded episodes yet")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows, task_rows = leaderboard_rows(results), leaderboard_rows(results, per_task=True)
    files: list[Path] = []
    sections = []
    tasks_by_suite, suites = by_suite(task_rows), by_suite(rows)
    for (suite, version), part in suites.items():
        several = sum(name == suite for name, _ in suites) > 1  # v1 and v2 runs: one file set each
        note = data_note([run for run in results if any((r.suite, r.version) == (suite, version) for r in run.records)])
        markdown, written = write_suite(out, f"{suite}-{version}" if several else suite, part,
                                        tasks_by_suite.get((suite, version), []), f"{suite} {version}", note)
        sections.append(markdown)
        files += written
    board, tasks = pd.DataFrame(rows), pd.DataFrame(task_rows)
    markdown = "\n".join(sections) + "\n" + INTERVALS_NOTE
    board.to_csv(out / "leaderboard.csv", index=False)
    tasks.to_csv(out / "per_task.csv", index=False)
    (out / "leaderboard.md").write_text("# Leaderboard\n\n" + markdown)
    files += [out / "leaderboard.csv", out / "leaderboard.md", out / "per_task.csv"]
    return Report(board, tasks, files, markdown)
