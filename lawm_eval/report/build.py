"""``lawm-eval report``: read runs, write one leaderboard table and one plot per suite, plus the
combined leaderboard.csv / per_task.csv for pandas."""

from __future__ import annotations

import io
import re
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


def build_report(runs: Sequence[str | Path] | Sequence[RunResults], out_dir: str | Path,
                 keep_other_suites: bool = False) -> Report:
    """Tables and plots for run directories (or RunResults already in memory). ``keep_other_suites``: the
    combined files already in ``out_dir`` keep the rows and sections of the suites these runs are not of."""
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
    if keep_other_suites:
        written = {suite for suite, _ in suites}
        board, tasks = (kept_rows(out / name, frame, written) for name, frame in
                        (("leaderboard.csv", board), ("per_task.csv", tasks)))
        sections = kept_sections(out / "leaderboard.md", sections, written)
    markdown = "\n".join(sections) + "\n" + INTERVALS_NOTE
    board.to_csv(out / "leaderboard.csv", index=False)
    tasks.to_csv(out / "per_task.csv", index=False)
    (out / "leaderboard.md").write_text("# Leaderboard\n\n" + markdown)
    files += [out / "leaderboard.csv", out / "leaderboard.md", out / "per_task.csv"]
    return Report(board, tasks, files, markdown)


def kept_rows(path: Path, new: pd.DataFrame, suites: set[str]) -> pd.DataFrame:
    """The rows of ``path`` (a combined CSV) of the suites not in ``suites``, with ``new`` in its suites' place
    (rows ordered by suite, as a full report writes them)."""
    if not path.is_file():
        return new
    old = pd.read_csv(path, dtype=str, keep_default_na=False)  # as text: the kept rows are written back unchanged
    kept = old[~old["suite"].isin(suites)]
    for column in new.columns:  # an integer column with gaps in the kept rows is float in a full report too
        if new[column].dtype.kind in "iu" and len(kept) and (column not in kept or (kept[column] == "").any()):
            new[column] = new[column].astype(float)
    new = pd.read_csv(io.StringIO(new.to_csv(index=False)), dtype=str, keep_default_na=False)
    merged = pd.concat([kept, new], ignore_index=True).fillna("")
    return merged.sort_values("suite", kind="stable", ignore_index=True)


def kept_sections(path: Path, new: list[str], suites: set[str]) -> list[str]:
    """leaderboard.md's ``### <suite> <version>`` sections of the suites not in ``suites``, with ``new``
    in their suites' place, ordered by title."""
    if not path.is_file():
        return new
    body = path.read_text().removeprefix("# Leaderboard\n\n").removesuffix("\n" + INTERVALS_NOTE)
    old = re.split(r"(?m)^(?=### )", body)[1:]
    old = [section.removesuffix("\n") for section in old[:-1]] + old[-1:]  # the "\n" that joined them
    kept = [section for section in old if section.split("\n", 1)[0][4:].rsplit(" ", 1)[0] not in suites]
    return sorted(kept + new, key=lambda section: section.split("\n", 1)[0])
