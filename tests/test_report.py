from __future__ import annotations

import pandas as pd
import pytest

from lawm_eval.metrics.success import wilson_interval
from lawm_eval.report.build import build_report
from lawm_eval.runner.records import RecordStore
from lawm_eval.types import EpisodeRecord


def write_run(root, run_id, successes, model="m", planner="cem", task="t", error_at=None):
    store = RecordStore(root / run_id)
    for i, ok in enumerate(successes):
        store.append(EpisodeRecord(suite="s", version="v1", task=task, episode_idx=i, seed=i, group="g",
                                   success=ok, metrics={"dist": float(i)}, model=model, planner=planner,
                                   error="boom" if i == error_at else None))


def test_leaderboard_rows_intervals_and_files(tmp_path):
    write_run(tmp_path / "runs", "a", [True, True, False, True], model="good")
    write_run(tmp_path / "runs", "b", [False, False, True, None], model="bad", error_at=3)
    report = build_report([tmp_path / "runs"], tmp_path / "out")
    board = report.leaderboard.set_index("run_id")
    assert board.loc["a", "success_rate"] == 0.75
    assert (board.loc["a", "success_ci_low"], board.loc["a", "success_ci_high"]) == pytest.approx(wilson_interval(3, 4))
    # the errored episode counts as a failure and is counted in 'errors'
    assert board.loc["b", "success_rate"] == 0.25 and board.loc["b", "errors"] == 1
    assert board.loc["a", "dist"] == pytest.approx(1.5)
    csv = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert list(csv["run_id"]) == ["b", "a"] or set(csv["run_id"]) == {"a", "b"}
    md = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "| s | v1 | g | good | cem | a | 4 | 0 | 0.750 [0.301, 0.954] |" in md
    assert (tmp_path / "out" / "per_task.png").read_bytes()[:4] == b"\x89PNG"


def test_per_task_table_splits_tasks(tmp_path):
    write_run(tmp_path, "r", [True, False], task="open_drawer")
    store = RecordStore(tmp_path / "r")
    store.append(EpisodeRecord(suite="s", version="v1", task="push_red", episode_idx=0, seed=9, group="g",
                               success=True, model="m", planner="cem"))
    report = build_report([tmp_path / "r"], tmp_path / "out")
    tasks = report.per_task.set_index("task")
    assert tasks.loc["open_drawer", "n"] == 2 and tasks.loc["push_red", "success_rate"] == 1.0
    assert len(report.leaderboard) == 1 and report.leaderboard.loc[0, "n"] == 3
