"""Kill a run with SIGKILL halfway; the rerun with the same run id loses and repeats nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO
from lawm_eval.runner.records import EPISODES_FILE, read_records

EPISODES = 10
ARGS = [f"suite.episodes={EPISODES}", "planner.num_samples=12000", "executor.progress=off"]


def start(run_id: str, results):
    return subprocess.Popen(
        [sys.executable, "-m", "lawm_eval.cli", "run", *ARGS, f"run_id={run_id}", f"results_dir={results}"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def lines(path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path):
    results = tmp_path / "runs"
    episodes = results / "killed" / EPISODES_FILE
    proc = start("killed", results)
    deadline = time.time() + 120
    while lines(episodes) < EPISODES // 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    recorded = len(read_records(episodes)[0])
    assert 0 < recorded < EPISODES, "the kill must land mid-run"

    resumed = start("killed", results)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f"{EPISODES - recorded} episodes run, {recorded} already recorded" in out

    reference = start("reference", results)
    _, err = reference.communicate(timeout=300)
    assert reference.returncode == 0, err

    killed_records, tail = read_records(episodes)
    reference_records, _ = read_records(results / "reference" / EPISODES_FILE)
    assert tail == b""
    keys = [r.key for r in killed_records]
    assert len(keys) == len(set(keys)) == EPISODES  # nothing lost, nothing duplicated
    by_key = {r.key: r.comparable() for r in killed_records}
    assert by_key == {r.key: r.comparable() for r in reference_records}
