"""Leaderboards: one aggregation path from records (and merged metric states) to tables and plots."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from lawm_eval.metrics.aggregate import RunResults, leaderboard_rows, summarize
from lawm_eval.metrics.distribution import FID
from lawm_eval.report.build import build_report
from lawm_eval.report.runs import load_run
from lawm_eval.runner.records import RecordStore
from lawm_eval.runner.states import write_states
from lawm_eval.types import EpisodeRecord, EpisodeSpec


def record(i, ok, task="t", suite="s", model="m", planner="cem", error=None, **kw):
    return EpisodeRecord(EpisodeSpec(suite, "v1", task, i, i, group="g"), success=ok, model=model, planner=planner,
                         error=error, **kw)


def write_run(root, run_id, successes, model="m", task="t", error_at=None):
    store = RecordStore(root / run_id)
    for i, ok in enumerate(successes):
        store.append(record(i, ok, task, model=model, metrics={"dist": float(i)},
                            error="boom" if i == error_at else None))


def test_success_rate_wilson_interval_and_errors_count_as_failures():
    rows = summarize([record(0, True), record(1, True), record(2, False), record(3, True)])
    # Wilson 95% for 3/4, closed form: centre (p + z²/2n)/(1 + z²/n), half z·sqrt(p(1-p)/n + z²/4n²)/(1 + z²/n)
    assert rows["success_rate"] == 0.75
    assert (rows["success_rate_ci_low"], rows["success_rate_ci_high"]) == pytest.approx((0.30064, 0.95441), abs=1e-5)
    errored = summarize([record(0, True), record(1, None, error="boom"), record(2, None)])
    assert errored["success_rate"] == 0.5 and errored["success_rate_n"] == 2 and errored["errors"] == 1


def test_means_carry_a_t_interval_and_their_count():
    row = summarize([record(i, None, metrics={"dist": v}) for i, v in enumerate([1.0, 2.0, 3.0, None])])
    # mean 2, sd 1, n 3: half-width t(0.975, 2) / sqrt(3) = 4.302653 / 1.732051
    assert row["dist"] == 2.0 and row["dist_n"] == 3
    assert row["dist_ci_high"] - 2.0 == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    assert "success_rate" not in row  # no episode reported success


def test_leaderboard_files_per_suite_in_a_fixed_order(tmp_path):
    write_run(tmp_path / "runs", "a", [True, True, False, True], model="good")
    write_run(tmp_path / "runs", "b", [False, False, True, None], model="bad", error_at=3)
    report = build_report([tmp_path / "runs"], tmp_path / "out")
    board = report.leaderboard.set_index("run_id")
    assert board.loc["b", "success_rate"] == 0.25 and board.loc["b", "errors"] == 1
    assert board.loc["a", "dist"] == pytest.approx(1.5)
    csv = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert list(csv["model"]) == ["bad", "good"]  # sorted by suite, group, model
    md = (tmp_path / "out" / "s.md").read_text()
    assert "| good | cem | 4 (incomplete) | 0 | 0.750 [0.301, 0.954] | 1.500 [-0.554, 3.554] | a |" in md
    assert "success rate ↑" in md
    assert (tmp_path / "out" / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "out" / "s.csv").exists()


def test_incomplete_runs_are_marked_with_their_expected_count():
    rows = leaderboard_rows([RunResults("r", [record(0, True)], expected=512)])
    assert rows[0]["complete"] is False and rows[0]["expected"] == 512
    from lawm_eval.report.tables import to_markdown

    assert "| 1 of 512 (incomplete) |" in to_markdown(rows)


def test_runs_that_share_a_deviation_share_one_note():
    from lawm_eval.report.tables import suite_markdown

    def row(run_id, deviations):
        return {"suite": "s", "version": "v1", "model": run_id, "planner": "cem", "run_id": run_id, "n": 2,
                "errors": 0, "deviations": deviations}

    same = suite_markdown([row("a", "episodes=2 (reference 64)"), row("b", "episodes=2 (reference 64)")])
    assert same.count("episodes=2 (reference 64)") == 1  # one note, not one per run
    assert "- † every row: episodes=2 (reference 64)" in same
    assert "| a † |" in same and "| b † |" in same
    mixed = suite_markdown([row("a", "episodes=2"), row("b", "episodes=3"), row("c", "episodes=2"), row("d", "")])
    assert "- † a, c: episodes=2" in mixed and "- † b: episodes=3" in mixed  # each note names its runs
    assert "| d |" in mixed


def test_per_task_rows_split_tasks(tmp_path):
    write_run(tmp_path, "r", [True, False], task="open_drawer")
    RecordStore(tmp_path / "r").append(record(0, True, task="push_red"))
    report = build_report([tmp_path / "r"], tmp_path / "out")
    tasks = report.per_task.set_index("task")
    assert tasks.loc["open_drawer", "n"] == 2 and tasks.loc["push_red", "success_rate"] == 1.0
    assert len(report.leaderboard) == 1 and report.leaderboard.loc[0, "n"] == 3


@pytest.mark.slow  # 2048-d Fréchet distances: tens of seconds on 2 CPU cores, kept out of `make test-fast`
def test_merged_metrics_reach_the_leaderboard_with_their_sample_count(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    run_dir = tmp_path / "fidrun"
    store = RecordStore(run_dir)
    whole = FID()
    for i in range(4):
        fid = FID()
        real, fake = rng.normal(size=(3, 2048)), rng.normal(0.5, 1.0, size=(3, 2048))
        fid.real.update(real)
        fid.fake.update(fake)
        whole.real.update(real)
        whole.fake.update(fake)
        path = write_states(run_dir, f"ep{i}", {"fid_controller": fid})
        store.append(record(i, None, metrics={"psnr_controller": 20.0 + i}, info={"states": path}))
    loaded = load_run(run_dir)
    (row,) = leaderboard_rows([loaded])
    assert row["fid_controller"] == pytest.approx(whole.compute()["value"], rel=1e-9)
    assert row["fid_controller_n"] == 12 and "fid_controller_ci_low" not in row
    report = build_report([run_dir], tmp_path / "out")
    assert "fid controller ↓" in report.markdown and "(n=12)" in report.markdown


def test_run_prints_and_report_writes_the_same_rows(plugin_suites, compose, tmp_path):
    """`lawm-eval run` prints rows from memory, `lawm-eval report` from the run folder: equal, merged
    metrics included (the plugin suite writes codebook and mean states per episode)."""
    from lawm_eval.runner.run import run_evaluation

    outcome = run_evaluation(compose("suite=states_demo", "model=no_parts", "run_id=same"))
    from_memory = leaderboard_rows([outcome.results])
    from_disk = leaderboard_rows([load_run(outcome.run_dir)])
    assert from_memory == from_disk
    assert from_memory[0]["codebook_utilisation"] > 0 and from_memory[0]["mean_n"] == 300
    assert outcome.summary["rows"] == json.loads(json.dumps(from_memory, default=str))


def test_a_rate_metric_of_zeros_and_ones_gets_a_wilson_interval():
    from lawm_eval.metrics.success import wilson_interval

    row = summarize([record(i, None, metrics={"sr_contact": v, "delta_f": 2.0 + i})
                     for i, v in enumerate([1.0, 0.0, 1.0, 1.0])])
    assert row["sr_contact"] == 0.75 and row["sr_contact_n"] == 4
    assert (row["sr_contact_ci_low"], row["sr_contact_ci_high"]) == pytest.approx(wilson_interval(3, 4))
    t_low = summarize([record(i, None, metrics={"delta_f": 2.0 + i}) for i in range(4)])["delta_f_ci_low"]
    assert row["delta_f_ci_low"] == pytest.approx(t_low)  # a distance keeps its t interval


def test_wilson_bounds_are_exact_at_zero_and_all_successes_and_error_bars_are_never_negative():
    """At 0 of n the lower bound is 0 and at n of n the upper bound is 1, exactly: computed, 0 of 3 gave
    5.6e-17 > 0, a negative error bar, and `lawm-eval report` failed on its per-task plot."""
    from lawm_eval.metrics.success import wilson_interval
    from lawm_eval.report.plots import _interval

    assert wilson_interval(0, 3)[0] == 0.0 and wilson_interval(3, 3)[1] == 1.0
    assert wilson_interval(0, 3)[1] == pytest.approx(1 - wilson_interval(3, 3)[0])
    row = {"success_rate": 0.0, "success_rate_ci_low": 5.6e-17, "success_rate_ci_high": 0.56}
    assert _interval(row, "success_rate") == (0.0, 0.56)


def test_runs_of_one_suite_on_different_data_are_flagged(tmp_path):
    def run(run_id, data, name="franka_val", lost=0):
        versions = {"mujoco": "3.1"} if data is None else {"mujoco": "3.1", f"data:{name}": data}
        records = [record(i, None, model=run_id, metrics={"dist": 1.0}, simulator_versions=versions) for i in range(2)]
        # an episode lost with its worker records an error and no versions: not a different dataset
        return RunResults(run_id, records + [record(2 + i, None, model=run_id, error="lost") for i in range(lost)])

    same = build_report([run("a", "sha256:1111", lost=1), run("b", "sha256:1111", name="/data/franka_val")],
                        tmp_path / "same")  # the same bytes under another name: the same data
    assert "different data" not in same.markdown and "different data" not in (tmp_path / "same" / "s.md").read_text()
    mixed = build_report([run("a", "sha256:1111"), run("b", "sha256:2222"), run("c", None)], tmp_path / "mixed")
    line = next(line for line in (tmp_path / "mixed" / "s.md").read_text().splitlines() if "different data" in line)
    assert "franka_val sha256:1111: a" in line and "franka_val sha256:2222: b" in line and "not recorded: c" in line
    assert line in mixed.markdown


def test_every_planned_leaderboard_run_composes_to_a_known_suite_and_model():
    """A typo in configs/leaderboards.yaml would surface only hours into `make leaderboards`."""
    from lawm_eval.config import compose_config
    from lawm_eval.report.leaderboards import planned_runs

    runs = planned_runs()
    assert len(runs) > 40 and any(run.quick for run in runs)
    for run in runs:
        config = compose_config([*run.overrides, f"run_id={run.run_id}"])
        assert config.suite.name and config.model.name and config.run_id == run.run_id


def test_rewriting_one_suite_keeps_the_other_suites_rows_and_sections(tmp_path):
    """``lawm-eval leaderboards --suite X``: X's rows and section replaced, the others' kept byte for byte, and
    the result is what a report of every run would write."""
    def run(run_id, suite, values):
        return RunResults(run_id, [record(i, None, suite=suite, model=run_id, metrics={"dist": v, "n_ok": 1})
                                   for i, v in enumerate(values)])

    a, b_old, c = run("a", "alpha", [1.0, 2.0]), run("b", "beta", [5.0, 7.0]), run("c", "gamma", [0.5, 0.25])
    b_new = run("b", "beta", [3.0, 4.0])
    build_report([a, b_new, c], tmp_path / "all")
    build_report([a, b_old, c], tmp_path / "kept")
    before = {name: (tmp_path / "kept" / name).read_text() for name in ("alpha.md", "gamma.csv", "beta.md")}
    build_report([b_new], tmp_path / "kept", keep_other_suites=True)
    for name in ("leaderboard.csv", "per_task.csv", "leaderboard.md", "beta.md"):
        assert (tmp_path / "kept" / name).read_text() == (tmp_path / "all" / name).read_text(), name
    assert (tmp_path / "kept" / "alpha.md").read_text() == before["alpha.md"]
    assert (tmp_path / "kept" / "beta.md").read_text() != before["beta.md"]
    board = pd.read_csv(tmp_path / "kept" / "leaderboard.csv")
    assert list(board["suite"]) == ["alpha", "beta", "gamma"] and board.set_index("run_id").loc["b", "dist"] == 3.5
    # without the flag the combined files hold only the runs given
    build_report([b_new], tmp_path / "kept")
    assert list(pd.read_csv(tmp_path / "kept" / "leaderboard.csv")["suite"]) == ["beta"]


def test_leaderboards_for_an_unknown_suite_is_one_line_with_a_suggestion(tmp_path, capsys):
    from lawm_eval.cli import main
    from lawm_eval.report.leaderboards import planned_runs

    assert {run.suite for run in planned_runs()} >= {"droid_planning", "recon_planning", "libero_spatial"}
    code = main(["leaderboards", "--suite", "droid_planing", "--results", str(tmp_path / "r"),
                 "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "did you mean 'droid_planning'" in err
    assert not (tmp_path / "r").exists() and not (tmp_path / "o").exists()
    quick_suites = {run.suite for run in planned_runs() if run.quick}
    lacking = next(run.suite for run in planned_runs() if run.suite not in quick_suites)
    code = main(["leaderboards", "--quick", "--suite", lacking, "--results", str(tmp_path / "r"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and f"no quick runs of {lacking}" in err
