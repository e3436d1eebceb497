"""``lawm-eval report``: read runs, write leaderboard.csv/.md, per_task.csv/.md and a plot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lawm_eval.errors import LawmEvalError
from lawm_eval.report.aggregate import find_runs, leaderboard, load_records, per_task
from lawm_eval.report.plots import plot_per_task
from lawm_eval.report.reported import load_reported
from lawm_eval.report.reported import to_markdown as reported_markdown
from lawm_eval.report.tables import to_markdown


@dataclass
class Report:
    leaderboard: pd.DataFrame
    per_task: pd.DataFrame
    files: list[Path]
    markdown: str


def build_report(runs: Sequence[str | Path], out_dir: str | Path) -> Report:
    run_dirs = find_runs(runs)
    if not run_dirs:
        raise LawmEvalError(f"no runs found in {', '.join(map(str, runs))}")
    df = load_records(run_dirs)
    if df.empty:
        raise LawmEvalError(f"the runs in {', '.join(map(str, runs))} have no recorded episodes yet")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    board, tasks = leaderboard(df), per_task(df)
    reported = load_reported(board["suite"].unique())
    markdown = to_markdown(board) + reported_markdown(reported)
    files = [out / "leaderboard.csv", out / "leaderboard.md", out / "per_task.csv", out / "per_task.md"]
    board.to_csv(files[0], index=False)
    files[1].write_text("# Leaderboard\n\n" + markdown)
    tasks.to_csv(files[2], index=False)
    if not reported.empty:
        reported.to_csv(out / "reported.csv", index=False)
        files.append(out / "reported.csv")
    files[3].write_text("# Per-task results\n\n" + to_markdown(tasks))
    plot = plot_per_task(tasks, out / "per_task.png")
    if plot is not None:
        files.append(plot)
    return Report(board, tasks, files, markdown)
