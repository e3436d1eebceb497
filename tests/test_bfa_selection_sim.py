"""bfa_selection end to end on the BFA stand-in: a short selection episode with a world model and with the
VLA-only baseline, on the bundled tiny checkpoints; the records carry the paper's metrics and the timing."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.sim, pytest.mark.slow, pytest.mark.extra("bfa", "data")]

SHORT = ("suite.splits=[unseen_categories]", "suite.episodes_per_split=1", "suite.seeds=[0]", "suite.demo_tries=1",
         "planner.num_samples=16", "planner.horizon=100", "planner.top_k=3")


@pytest.mark.parametrize("model, planner, choose", [("lac_wm_bfa", "vla_selection", "world_model"),
                                                    ("vla_bfa", "vla_mean", "mean")])
def test_one_short_selection_episode(model, planner, choose, compose):
    from lawm_eval.runner.run import run_evaluation

    outcome = run_evaluation(compose("suite=bfa_selection", f"model={model}", f"planner={planner}", *SHORT,
                                     f"run_id={model}_{choose}"))
    records = outcome.results.records
    assert len(records) == 1 and records[0].error is None, records[0].error
    record = records[0]
    assert set(record.metrics) >= {"sr_contact", "sr_lift", "delta_f", "delta_f_goal"}
    assert record.metrics["delta_f"] > 0 and record.metrics["sr_contact"] in (0.0, 1.0)
    assert record.info["object"] == "donut" and record.info["subgoal_steps"] == [100, 200, 250]  # the last: 50 actions
    assert record.info["sampler"] == "vla_bfa" and record.info["choose"] == choose
    assert set(record.info["seconds"]) == {"demonstration", "simulation", "rendering", "sampling", "world_model"}
    assert record.steps == 250
    deviations = " ".join(record.deviations)
    assert "planner.num_samples=16 (reference 500)" in deviations and "own MJCF" in deviations
    assert record.simulator_versions["mujoco"] == "3.3.7"


@pytest.mark.parametrize("model, planner, expected", [
    ("lac_wm_bfa", "cem", "needs planner=vla_selection, vla_mean or vla_random (got CEMPlanner)"),
    ("vla_bfa", "vla_selection", "needs"),  # choose=world_model, but the VLA has no world model
    ("lac_wm_bfa", "vla_selection", "planner.horizon (33) must be a positive multiple of suite.chunk (5)"),
])
def test_a_wrong_planner_is_one_line_before_the_first_episode(capsys, tmp_path, model, planner, expected):
    from lawm_eval.cli import main

    extra = ["planner.horizon=33"] if "horizon" in expected else []
    assert main(["run", "suite=bfa_selection", f"model={model}", f"planner={planner}", *extra,
                 f"results_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lawm-eval: error: ") and expected in err[0], err
    assert not list(tmp_path.rglob("*.jsonl"))  # no episode ran
