"""The four offline suites on real-shaped data: LeRobot v3.0 and v2.1 datasets with two cameras and
non-square 192×320 frames (tests/real_shaped.py), with bundled models and true-dynamics baselines;
what each record says the model was given; and the refusals of a model the data cannot serve."""

from __future__ import annotations

import pytest

from lawm_eval.runner.records import EPISODES_FILE, read_records
from lawm_eval.runner.run import run_evaluation
from tests.conftest import run_cli
from tests.real_shaped import EXTERIOR, WRIST, write_real_shaped

pytestmark = pytest.mark.slow

VERSIONS = ("v3.0", "v2.1")


@pytest.fixture(scope="module")
def real_sets(tmp_path_factory) -> dict[tuple[str, str], str]:
    """{(kind, version): path} for franka (DROID-like) and navigation (RECON-like) clips."""
    from lawm_eval.data.recipes import resolve_dataset

    root = tmp_path_factory.mktemp("real")
    sets = {}
    for kind, recipe, count in (("franka", "franka_val", 5), ("navigation", "navigation_val", 5)):
        for version in VERSIONS:
            path = root / f"{kind}_{version}"
            write_real_shaped(resolve_dataset(recipe), path, version, episodes=count)
            sets[(kind, version)] = str(path)
    return sets


def run(tmp_path, *overrides: str):
    from lawm_eval.config import compose_config

    outcome = run_evaluation(compose_config([f"results_dir={tmp_path}", "executor.progress=off", *overrides]))
    recs = read_records(outcome.run_dir / EPISODES_FILE)[0]
    assert recs and [r.error for r in recs if r.error] == []
    return recs


@pytest.mark.parametrize("version", VERSIONS)
def test_video_prediction_on_real_shaped_data(real_sets, tmp_path, version):
    data = real_sets[("franka", version)]
    for model in ("lawm", "copy_last"):
        recs = run(tmp_path, "suite=video_prediction", f"model={model}", f"suite.dataset={data}", "suite.windows=3",
                   "suite.fid=false", "suite.fvd=false", f"run_id={model}")
        contract = recs[0].contract
        assert contract["camera"] == "exterior" and contract["recorded_resolution"] == list(EXTERIOR)
        assert contract["resolution"] == ([64, 64] if model == "lawm" else list(EXTERIOR))
        assert all(r.metrics[k] == r.metrics[k] for r in recs for k in r.metrics)  # no NaN
        assert any(d.startswith("data: LeRobot " + version) for d in recs[0].deviations)
        assert not any("generated Franka" in d for d in recs[0].deviations)


@pytest.mark.parametrize("version", VERSIONS)
def test_droid_planning_on_real_shaped_data(real_sets, tmp_path, version):
    data = real_sets[("franka", version)]
    small = ["suite.episodes=3", "planner.num_samples=20", "planner.num_elites=4", "planner.iterations=2"]
    recs = run(tmp_path, "suite=droid_planning", "model=lawm", f"suite.dataset={data}", "suite.camera=wrist",
               *small, "run_id=lawm")
    assert recs[0].contract["camera"] == "wrist" and recs[0].contract["recorded_resolution"] == list(WRIST)
    oracle = run(tmp_path, "suite=droid_planning", "model=oracle_droid", f"suite.dataset={data}",
                 "suite.observation=state", "suite.episodes=3", "run_id=oracle")  # the protocol's CEM: 9 s
    assert all(r.metrics["delta_xyz"] <= r.metrics["delta_xyz@zero"] + 1e-9 for r in oracle)


@pytest.mark.parametrize("version", VERSIONS)
def test_recon_planning_on_real_shaped_data(real_sets, tmp_path, version):
    data = real_sets[("navigation", version)]
    for model, extra in (("lam_nav", []), ("oracle_nav", ["suite.observation=state"])):
        recs = run(tmp_path, "suite=recon_planning", f"model={model}", f"suite.dataset={data}", "suite.episodes=3",
                   *extra, f"run_id={model}")
        assert {"ate", "rpe"} <= set(recs[0].metrics)


@pytest.mark.parametrize("version", VERSIONS)
def test_latent_analysis_on_real_shaped_data(real_sets, tmp_path, version):
    franka, navigation = real_sets[("franka", version)], real_sets[("navigation", version)]
    recs = run(tmp_path, "suite=latent_analysis", "model=lawm", f"suite.train_dataset={franka}",
               f"suite.test_dataset={franka}", f"suite.pca_datasets=[{franka},{navigation}]",
               "suite.analyses=[probe,cca,leakage,cycle,controller,pca]", "suite.max_transitions=120",
               "suite.probe_steps=50")
    assert {r.task for r in recs} == {"probe", "cca", "leakage", "cycle", "controller", "pca"}
    assert recs[0].contract["resolution"] == [64, 64] and recs[0].contract["recorded_resolution"] == list(EXTERIOR)


@pytest.mark.parametrize("args, message", [
    (["suite=droid_planning", "model=oracle_droid"], "reads state observations but suite 'droid_planning' gives image"),
    (["suite=droid_planning", "model=lawm", "suite.observation=state"], "reads image observations"),
    (["suite=recon_planning", "model=lawm"], "takes 7-D actions but suite 'recon_planning' gives 3-D"),
    (["suite=video_prediction", "model=lawm", "suite.camera=top"], "no camera 'top'"),
])
def test_models_the_suite_cannot_serve_are_refused_before_the_first_episode(real_sets, tmp_path, args, message):
    data = real_sets[("navigation" if "recon" in args[0] else "franka", "v3.0")]
    result = run_cli("run", *args, f"suite.dataset={data}", f"results_dir={tmp_path}", "executor.progress=off")
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not list(tmp_path.rglob("episodes.jsonl"))  # nothing ran
