"""Published protocol versions are pinned: every manifest of every version loads, the constants of
the offline analysis and toy suites are the documented ones, and each suite's protocol page carries
the constant-beside-reference table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lawm_eval.catalog import suite_manifest
from lawm_eval.errors import ConfigError
from lawm_eval.suites.manifest import load_manifest

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = sorted((REPO / "suites").glob("*/v*.yaml"))
TABLE_HEADER = re.compile(r"^\|\s*constant ?/ ?behaviour\s*\|\s*reference[^|]*\|\s*lawm-eval[^|]*\|\s*same\?\s*\|",
                          re.MULTILINE)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_published_version_loads_and_is_selectable(path):
    manifest = load_manifest(path)
    assert manifest.name == path.parent.name and manifest.version == path.stem
    assert suite_manifest(manifest.name, manifest.version).params == manifest.params


def test_an_unknown_version_is_one_config_error():
    with pytest.raises(ConfigError, match=r"suite 'latent_analysis' has no version 'v9' \(versions: v1, v2\)"):
        suite_manifest("latent_analysis", "v9")


def test_latent_analysis_v2_pins():
    m = suite_manifest("latent_analysis", "v2")
    assert dict(m.params) == {
        "analyses": ["probe", "cca", "codebook", "leakage", "cycle", "controller", "pca"],
        "train_dataset": "franka", "test_dataset": "franka_val", "pca_datasets": ["franka_val", "navigation_val"],
        "alignment_datasets": ["franka_val", "navigation_val"], "max_transitions": 2000, "probe_steps": 1000, "rollout_steps": 3, "seed": 0, "camera": None}
    assert m.deviations_for(m.params) == ["data: lawm-eval's generated Franka / navigation clips"]
    assert m.deviations_for({**m.params, "test_dataset": "/data/droid"}) == []  # computed from the data instead


def test_point_mass_v1_pins():
    m = suite_manifest("point_mass", "v1")
    assert {k: m.params[k] for k in ("episodes", "seed", "max_steps", "success_radius", "dt", "damping")} == {
        "episodes": 16, "seed": 0, "max_steps": 60, "success_radius": 0.05, "dt": 0.1, "damping": 0.1}
    assert m.planners["cem"] == {"horizon": 10, "num_samples": 64, "num_elites": 8, "iterations": 4,
                                 "init_std": 1.0, "select": "best"}


@pytest.mark.parametrize("page", sorted((REPO / "docs" / "protocols").glob("*.md")), ids=lambda p: p.stem)
def test_each_protocol_page_has_the_reference_table(page):
    assert TABLE_HEADER.search(page.read_text()), f"{page.name} lacks the constant/reference table"


def test_a_conditional_deviation_must_name_known_parameters():
    from lawm_eval.suites.manifest import SuiteManifest

    data = {"name": "s", "version": "v1", "protocol": "m:C", "description": "d", "params": {"dataset": "x"},
            "deviations": [{"text": "t", "when": {"datset": ["x"]}}]}
    with pytest.raises(ConfigError, match="unknown parameter"):
        SuiteManifest.from_dict(data)


@pytest.mark.slow
def test_an_older_version_runs_on_request_and_reports_beside_the_newest(compose, tmp_path):
    """suite.version=v1 runs the v1 manifest; the report keeps v1 and v2 rows apart."""
    from lawm_eval.report.build import build_report
    from lawm_eval.runner.run import run_evaluation

    common = ("suite=latent_analysis", "model=lam_discrete", "suite.analyses=[cca]", "suite.max_transitions=200")
    old = run_evaluation(compose(*common, "suite.version=v1", "run_id=old"))
    new = run_evaluation(compose(*common, "run_id=new"))
    assert {r.version for r in old.results.records} == {"v1"} and {r.version for r in new.results.records} == {"v2"}
    assert old.results.records[0].metrics["cca_all"] == pytest.approx(new.results.records[0].metrics["cca_all"])
    report = build_report([old.run_dir, new.run_dir], tmp_path / "report")
    for version in ("v1", "v2"):  # one table per protocol version, never mixed
        assert (tmp_path / "report" / f"latent_analysis-{version}.csv").is_file()
    assert sorted(report.leaderboard["version"]) == ["v1", "v2"]
