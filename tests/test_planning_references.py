"""Reference plans of the planning suites: the zero-action, random and privileged (true dynamics +
the run's planner) plans, scored on the run's own episodes, recorded as ``<metric>@<reference>``
and shown by the one aggregation path as rows of their own."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from lawm_eval.metrics.aggregate import RunResults, leaderboard_rows, summarize
from lawm_eval.metrics.specs import base_name, spec_for, split_reference
from lawm_eval.metrics.trajectory import ate
from lawm_eval.report.runs import load_run
from lawm_eval.report.tables import to_markdown
from lawm_eval.runner.build import build_suite
from lawm_eval.runner.records import EPISODES_FILE, read_records
from lawm_eval.runner.run import run_evaluation
from lawm_eval.types import EpisodeRecord, EpisodeSpec

EPISODES = 6
LABELS = {"zero": "reference: zero-action plan", "random": "reference: random plan",
          "privileged": "reference: privileged plan (true dynamics)"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Runs on the same episodes from images with copy_last (cheap, and no state input: the privileged plan
    must read the recorded states itself), one per setting."""
    from lawm_eval.config import compose_config

    root = tmp_path_factory.mktemp("refs")
    base = [f"results_dir={root}", "executor.progress=off", "model=copy_last"]
    settings = {
        "droid": ["suite=droid_planning", f"suite.episodes={EPISODES}"],
        "droid_random": ["suite=droid_planning", f"suite.episodes={EPISODES}", "planner=random"],
        "droid_none": ["suite=droid_planning", "suite.episodes=2", "suite.references=[]"],
        "recon": ["suite=recon_planning", f"suite.episodes={EPISODES}"],
    }
    out = {}
    for run_id, overrides in settings.items():
        config = compose_config([*base, *overrides, f"run_id={run_id}"])
        out[run_id] = (config, run_evaluation(config))
    return out


def rows_of(outcome) -> list[dict]:
    """The leaderboard rows of a run read back from its directory (records through JSON)."""
    return leaderboard_rows([load_run(outcome.run_dir)])


def by_reference(rows) -> dict:
    return {row.get("reference"): row for row in rows}


def records(outcome) -> list[EpisodeRecord]:
    recs = read_records(outcome.run_dir / EPISODES_FILE)[0]
    assert recs and not [r.error for r in recs if r.error]
    return sorted(recs, key=lambda r: r.episode_idx)


@pytest.mark.slow
def test_zero_row_is_the_expert_displacement_computed_from_the_dataset(runs):
    config, outcome = runs["droid"]
    suite = build_suite(config)
    dataset_values = []
    for spec in suite.episodes():  # by hand: the zero plan's Δxyz is Σ_xyz |Σ_t a_expert| = Σ_xyz |x_goal − x_now|
        episode = suite.dataset().episode(spec.params["episode"])
        frames = suite.clip_indices(spec)  # v2: the expert actions are state differences (jepa-wms poses_to_diffs)
        now, goal = frames[suite.params["context_frames"] - 1], frames[-1]
        states = np.asarray(episode.states, dtype=np.float64)
        dataset_values.append(np.abs(states[goal, :3] - states[now, :3]).sum())
    zero = by_reference(rows_of(outcome))["zero"]
    assert zero["delta_xyz_n"] == EPISODES
    assert zero["delta_xyz"] == pytest.approx(np.mean(dataset_values), abs=1e-9)
    # and per episode, in the records
    assert [r.metrics["delta_xyz@zero"] for r in records(outcome)] == pytest.approx(dataset_values, abs=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("run_id, metric", [("droid", "delta_xyz"), ("recon", "ate")])
def test_privileged_plan_beats_random_on_the_same_episodes(runs, run_id, metric):
    _, outcome = runs[run_id]
    rows = by_reference(rows_of(outcome))
    privileged = np.array([r.metrics[f"{metric}@privileged"] for r in records(outcome)])
    random = np.array([r.metrics[f"{metric}@random"] for r in records(outcome)])
    assert rows["privileged"][metric] == pytest.approx(privileged.mean())
    assert rows["privileged"][metric] < rows["random"][metric] == pytest.approx(random.mean())
    if run_id == "droid":  # true dynamics + CEM reach the goal: the recorded displacement, almost exactly
        assert rows["privileged"][metric] < 0.01 and (privileged < random).all()
    else:  # NWM's narrow prior and single CEM step leave the straight-line plan short of the goal (docs)
        assert privileged.mean() < 0.95 * random.mean()


@pytest.mark.slow
@pytest.mark.parametrize("run_id", ["droid", "recon"])
def test_reference_rows_share_the_runs_episodes_and_the_model_row_has_no_reference_columns(runs, run_id):
    config, outcome = runs[run_id]
    rows = rows_of(outcome)
    assert [r.get("reference") for r in rows] == [None, "zero", "random", "privileged"]  # model first
    model, *references = rows
    assert model["model"] == "copy_last" and not [k for k in model if "@" in k]
    metrics = ["delta_xyz", "delta_orientation", "delta_gripper", "delta_total"] if run_id == "droid" else \
        ["ate", "rpe", "final_position_error"]
    for row in references:
        assert row["model"] == LABELS[row["reference"]]
        assert row["planner"] == ("cem" if row["reference"] == "privileged" else "-")
        assert (row["run_id"], row["group"], row["suite"], row["n"]) == (run_id, model["group"], model["suite"],
                                                                         EPISODES)
        assert not [k for k in row if "@" in k] and "plan_cost" not in row
        for name in metrics:  # the same columns as the model's, with the same t intervals
            assert row[f"{name}_n"] == model[f"{name}_n"] == EPISODES
            assert row[f"{name}_ci_low"] <= row[name] <= row[f"{name}_ci_high"]
    # rows from memory and from the run directory agree; records are strict JSON
    memory = leaderboard_rows([outcome.results])
    assert [(r["model"], r["planner"], r["n"]) for r in memory] == [(r["model"], r["planner"], r["n"]) for r in rows]
    assert [r[metrics[0]] for r in memory] == pytest.approx([r[metrics[0]] for r in rows], abs=1e-12)
    for line in (outcome.run_dir / EPISODES_FILE).read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    markdown = to_markdown(rows)
    assert all(f"| *{label}*" in markdown for label in LABELS.values())


@pytest.mark.slow
def test_random_reference_is_the_random_planners_own_draw(runs):
    # drawn as planner=random draws, from the episode seed: the random row of a CEM run is planner=random's row
    cem = records(runs["droid"][1])
    unplanned = records(runs["droid_random"][1])
    assert [r.metrics["delta_xyz@random"] for r in cem] == pytest.approx([r.metrics["delta_xyz"] for r in unplanned])
    assert [r.info["reference_actions"]["random"] for r in cem] == [r.info["planned_actions"] for r in unplanned]


@pytest.mark.slow
def test_recon_zero_reference_stands_still(runs):
    for record in records(runs["recon"][1]):
        truth = np.asarray(record.info["true_positions"])
        assert record.metrics["ate@zero"] == pytest.approx(ate(np.zeros_like(truth), truth), abs=1e-9)
        assert record.metrics["final_position_error@zero"] == pytest.approx(np.linalg.norm(truth[-1]), abs=1e-9)
        assert record.info["reference_plans"]["zero"][2] == 0.0  # no terminal yaw


@pytest.mark.slow
def test_references_off_gives_no_reference_rows_and_is_no_deviation(runs):
    config, outcome = runs["droid_none"]
    assert not [k for r in records(outcome) for k in r.metrics if "@" in k]
    rows = rows_of(outcome)
    assert len(rows) == 1 and "reference" not in rows[0]
    assert "references" not in rows[0]["deviations"]


def test_reference_keys_resolve_to_their_metric():
    assert split_reference("delta_xyz@zero") == ("delta_xyz", "zero")
    assert split_reference("psnr_controller") == ("psnr_controller", None)
    assert spec_for("delta_xyz@privileged") is spec_for("delta_xyz")
    assert base_name("ate@random") == "ate" and base_name("psnr_controller@zero") == "psnr"
    assert base_name("unknown_thing@zero") == "unknown_thing"


def test_leaderboard_rows_split_reference_metrics_from_records():
    def record(i, **metrics):
        return EpisodeRecord(EpisodeSpec("s", "v1", "t", i, i, group="g"), model="m", planner="cem",
                             metrics=metrics)

    recs = [record(0, d=1.0, **{"d@zero": 3.0, "d@privileged": 0.5}), record(1, d=2.0, **{"d@zero": 5.0})]
    rows = leaderboard_rows([RunResults("r", recs, expected=2)])
    assert [(r["model"], r["planner"], r["n"]) for r in rows] == [
        ("m", "cem", 2), (LABELS["zero"], "-", 2), (LABELS["privileged"], "cem", 2)]
    model, zero, privileged = rows
    assert model["d"] == 1.5 and not [k for k in model if "@" in k]
    assert zero["d"] == 4.0 and zero["d_n"] == 2 and privileged["d"] == 0.5 and privileged["d_n"] == 1


def test_model_row_carries_the_paired_difference_to_each_reference():
    """delta_xyz_vs_<reference>: mean of the per-episode differences with the Student-t interval of those
    differences (closed form), over the episodes that score both; unpaired metrics get none."""
    def record(i, **metrics):
        return EpisodeRecord(EpisodeSpec("s", "v1", "t", i, i, group="g"), model="m", planner="cem",
                             metrics=metrics)

    plan, zero = [0.10, 0.30, 0.20], [0.40, 0.35, 0.50]
    recs = [record(i, delta_xyz=p, d=1.0, **{"delta_xyz@zero": z, "d@zero": 2.0, **({"delta_xyz@random": 0.5}
                                                                                    if i == 0 else {})})
            for i, (p, z) in enumerate(zip(plan, zero))]
    model = leaderboard_rows([RunResults("r", recs, expected=3)])[0]
    differences = np.array(plan) - np.array(zero)  # -0.30, -0.05, -0.30
    half = stats.t.ppf(0.975, 2) * differences.std(ddof=1) / np.sqrt(3)
    assert model["delta_xyz_vs_zero"] == pytest.approx(differences.mean(), abs=1e-12)
    assert (model["delta_xyz_vs_zero_ci_low"], model["delta_xyz_vs_zero_ci_high"]) == pytest.approx(
        (differences.mean() - half, differences.mean() + half), abs=1e-12)
    assert model["delta_xyz_vs_zero_n"] == 3
    assert model["delta_xyz_vs_random"] == pytest.approx(0.10 - 0.5) and model["delta_xyz_vs_random_n"] == 1
    assert "d_vs_zero" not in model  # only the PAIRED headline metrics
    assert spec_for("delta_xyz_vs_zero") is spec_for("delta_xyz")  # lower is better, in m
    # summary.json's overall / per-task summaries carry the same paired columns
    overall = summarize(recs)
    assert overall["delta_xyz_vs_zero"] == model["delta_xyz_vs_zero"] and overall["delta_xyz_vs_zero_n"] == 3
    assert overall["delta_xyz_vs_random_n"] == 1 and "delta_xyz@zero" not in overall
