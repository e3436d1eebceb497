"""One contract over every registered suite: one short episode with a suitable bundled or toy
model, then what the records and the leaderboard must hold.

- every metric key of every record belongs to a metric the manifest's ``metrics:`` declares;
- every record carries the model's provenance, the simulators the manifest lists and, for the suites
  that read a dataset, its fingerprint;
- merged metrics (FID/FVD) reach the leaderboard rows with their sample counts;
- the assets the suite requires are ones its manifest lists;
- every record says what the model was given (``contract``): its declared inputs and the
  observation kind the suite gave, which matches the model's declaration.
"""

from __future__ import annotations

import pytest

from lawm_eval.catalog import registries
from lawm_eval.data.recipes import resolve_dataset
from lawm_eval.metrics.aggregate import leaderboard_rows
from lawm_eval.metrics.specs import MERGED, base_name, spec_for
from lawm_eval.runner.build import build_suite
from lawm_eval.runner.run import run_evaluation
from lawm_eval.util.hashing import folder_fingerprint

LIBERO_SHORT = ("model=noop", "suite.tasks=[0]", "suite.trials_per_task=1", "suite.max_steps=5")
READS_DATA = ("droid_planning", "recon_planning", "video_prediction", "latent_analysis")
SHORT_RUNS = {
    "point_mass": ("model=linear", "suite.episodes=1"),
    "droid_planning": ("model=lac_wm", "suite.episodes=1", "planner.num_samples=30", "planner.iterations=2"),
    "recon_planning": ("model=lam_nav", "suite.episodes=1"),
    "video_prediction": ("model=lam_noisy", "suite.windows=2", "suite.conditions=[controller]"),
    "latent_analysis": ("model=lam_discrete", "suite.max_transitions=300"),
    **{name: LIBERO_SHORT for name in ("libero_spatial", "libero_object", "libero_goal", "libero_10", "libero_90")},
    # the RoboTwin runtime needs assets and a render device this machine lacks: its stand-in (tests/fake_robotwin)
    **{name: ("model=custom", "model.factory=robotwin_fake:pusher", "suite.trials_per_task=1")
       for name in ("robotwin_clean", "robotwin_randomized")},
    "vp2_robodesk": ("model=robodesk_simulator", "planner=random", "suite.tasks=[push_red]", "suite.pairs_per_task=1",
                     "suite.seeds=[1]", "suite.max_steps=3"),
    "libero_imagined": ("model=libero_bc", "suite.tasks=[0]", "suite.trials_per_task=1", "suite.max_steps=16"),
    "bfa_selection": ("model=lac_wm_bfa", "suite.splits=[unseen_categories]", "suite.episodes_per_split=1",
                      "suite.seeds=[0]", "suite.demo_tries=1", "planner.num_samples=8", "planner.horizon=50"),
}
FAKE_RUNTIME = {"robotwin_clean", "robotwin_randomized"}
SIMULATED = {"libero_spatial", "libero_object", "libero_goal", "libero_10", "libero_90", "libero_imagined", "vp2_robodesk",
             "bfa_selection"}
BUILTIN = sorted(name for name in registries()["suite"].names() if registries()["suite"].entry(name).source == "lawm-eval")


def test_every_builtin_suite_has_a_contract_run():
    assert set(BUILTIN) == set(SHORT_RUNS)


def marks(name: str) -> list:
    return [pytest.mark.slow] + ([pytest.mark.sim] if name in SIMULATED else [])


def outcome_model_inputs(config) -> dict:
    """The run's model's declared inputs, as the record stores them."""
    from lawm_eval.inputs import ModelInputs

    return ModelInputs.from_value(config.model.to_dict().get("inputs"), "test").to_dict()


@pytest.mark.parametrize("name", [pytest.param(n, marks=marks(n)) for n in sorted(SHORT_RUNS)])
def test_suite_contract(compose, name, tmp_path, monkeypatch):
    manifest = registries()["suite"].get(name)
    fake = []
    if name in FAKE_RUNTIME:
        from robotwin_fake import use_fake_runtime

        fake = use_fake_runtime(tmp_path, monkeypatch)
    config = compose(f"suite={name}", *SHORT_RUNS[name], *fake, f"run_id={name}")
    assert set(build_suite(config).required_assets()) <= set(manifest.assets)
    outcome = run_evaluation(config)
    records = outcome.results.records
    assert records and all(r.error is None for r in records), [r.error for r in records]
    declared = set(manifest.metrics)
    for record in records:
        undeclared = {key for key in record.metrics if base_name(key) not in declared}
        assert not undeclared, f"{name} records metrics its manifest does not declare: {sorted(undeclared)}"
        if record.success is not None:
            assert "success_rate" in declared
        model_id = "pusher_0.25" if name in FAKE_RUNTIME else config.model.name  # a custom model names itself
        assert record.provenance["model_id"] == model_id and record.provenance["factory"]
        data = {key for key in record.simulator_versions if key.startswith("data:")}
        assert set(record.simulator_versions) - data == set(manifest.simulators)
        if name in READS_DATA:  # the dataset read, fingerprinted as it is on disk
            spec = config.suite_params.get("dataset") or config.suite_params["test_dataset"]
            assert record.simulator_versions[f"data:{spec}"] == folder_fingerprint(resolve_dataset(spec))
        else:
            assert not data
        contract = record.contract
        assert contract["declared_inputs"] == outcome_model_inputs(config), contract
        declared_kind = contract["declared_inputs"]["observation"]
        if declared_kind and contract.get("observation"):
            assert contract["observation"] == declared_kind
    (row,) = [r for r in leaderboard_rows([outcome.results]) if not r.get("reference")]  # + reference-plan rows
    merged = [key for key in outcome.summary["merged_metrics"]]
    for key in merged:
        assert spec_for(key).aggregation == MERGED and row[f"{key}_n"] > 0 and row[key] == row[key]  # not NaN
    if name == "video_prediction":
        assert {"fid_controller", "fvd_controller"} <= set(merged)
