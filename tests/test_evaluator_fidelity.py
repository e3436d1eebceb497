"""scripts/evaluator_fidelity.py without the simulator: its runs replaced by known outcomes, the tables
it writes are checked against the ranking metrics computed here on the same matrices."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from scripts_loader import load_script

from lawm_eval.metrics.ranking import fidelity

TASKS, TRIALS = ["a", "b"], 4
REAL = {"libero_bc": 1.0, "libero_bc_step4000": 0.75, "libero_bc_noise0.1": 0.5, "noop": 0.0}
# the imagined rate of each policy, per world model: one ranks as the simulator, one upside down,
# one sees no success at all
IMAGINED = {"lawm_libero": dict(REAL), "law_libero": {p: 1.0 - r for p, r in REAL.items()},
            "copy_last": dict.fromkeys(REAL, 0.0)}
VIDEO_PSNR = {"lawm_libero": 30.0, "law_libero": 20.0, "copy_last": 25.0}


def outcome_matrix(rate: float) -> dict[tuple[str, int], bool]:
    """Successes on the first ``rate`` share of each task's trials."""
    return {(task, k): k < rate * TRIALS for task in TASKS for k in range(TRIALS)}


@pytest.fixture()
def script(monkeypatch, tmp_path):
    module = load_script("evaluator_fidelity")

    def outcomes(name, overrides, world_model, trials, tasks, runs):
        rate = REAL[name] if world_model is None else IMAGINED[world_model][name]
        result = outcome_matrix(rate)
        peaks = {} if world_model is None else {key: 0.9 if ok else 0.1 for key, ok in result.items()}
        return result, peaks, 2.0 if world_model else 40.0, tmp_path / f"{world_model}-{name}"

    monkeypatch.setattr(module, "outcomes", outcomes)
    monkeypatch.setattr(module, "video_metrics", lambda w: {"psnr": VIDEO_PSNR[w], "ssim": VIDEO_PSNR[w] / 40,
                                                            "lpips": 1 - VIDEO_PSNR[w] / 40, "frames": 9, "actions": 8})
    monkeypatch.setattr(module, "judge_on_real", lambda dirs: {"episodes": 32, "real_successes": 18, "judged_successes": 16,
                                                               "precision": 0.9, "recall": 0.8, "accuracy": 0.85})
    monkeypatch.setattr(module, "scatter", lambda path, *a: path.write_text("plot"))
    return module


def test_the_tables_hold_the_ranking_metrics_of_the_paired_outcomes(script, tmp_path):
    out = tmp_path / "out"
    assert script.main(["--trials", str(TRIALS), "--policies", *REAL, "--world-models", *IMAGINED,
                        "--out", str(out)]) == 0
    rows = {(r["world_model"], r["score"]): r for r in csv.DictReader(open(out / "fidelity.csv"))}
    keys = sorted(outcome_matrix(1.0))
    real = np.array([[outcome_matrix(r)[k] for k in keys] for r in REAL.values()], float)  # (P, K)
    for world_model, rates in IMAGINED.items():
        imagined = np.array([[outcome_matrix(rates[p])[k] for k in keys] for p in REAL], float)
        expected = fidelity(imagined, real)
        for metric in ("pearson", "spearman", "mmrv", "pairwise_accuracy", "episode_agreement"):
            value = float(rows[(world_model, "success")][metric])
            assert value == pytest.approx(expected[metric]["value"], nan_ok=True), (world_model, metric)
        assert float(rows[(world_model, "success")]["video_psnr"]) == VIDEO_PSNR[world_model]
    assert float(rows[("lawm_libero", "success")]["pearson"]) == pytest.approx(1.0)
    assert float(rows[("law_libero", "success")]["pearson"]) == pytest.approx(-1.0)
    rates = {r["policy"]: r for r in csv.DictReader(open(out / "rates.csv"))}
    assert {p: float(r["real"]) for p, r in rates.items()} == REAL
    assert {p: float(r["law_libero"]) for p, r in rates.items()} == IMAGINED["law_libero"]
    table = (out / "fidelity.md").read_text()
    # PSNR orders the world models lawm_libero > copy_last > law_libero, Pearson 1 > 0 > -1: Spearman 1
    assert "| PSNR | 1.00 | 1.00 |" in table and "| LPIPS (lower is better) | -1.00 | -1.00 |" in table
    assert json.loads((out / "judge_on_real.json").read_text())["precision"] == 0.9
    assert sorted(p.name for p in out.glob("scatter_*.png")) == [f"scatter_{w}.png" for w in sorted(IMAGINED)]


def test_the_adapted_world_model_is_the_one_scored_and_hashed(tmp_path):
    script = load_script("evaluator_fidelity")
    assert script.resolved("cola_world") == "cola_world_libero" and script.resolved("lawm_libero") == "lawm_libero"
    assert script.resolved("law") == "law"  # law_libero exists, but law is no adaptable model: the suite builds law
    checkpoint = tmp_path / "policy.pt"
    checkpoint.write_bytes(b"one")
    before = script.files_hash(["model=libero_bc", f"model.checkpoint={checkpoint}"], "cola_world")
    assert before == script.files_hash(["model=libero_bc", f"model.checkpoint={checkpoint}"], "cola_world")
    assert before != script.files_hash(["model=libero_bc", f"model.checkpoint={checkpoint}"], "cola_two_stage")
    checkpoint.write_bytes(b"two")
    assert before != script.files_hash(["model=libero_bc", f"model.checkpoint={checkpoint}"], "cola_world")
