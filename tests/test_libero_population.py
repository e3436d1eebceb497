"""scripts/libero_population.py on the real simulator: the oracle and a no-op policy on one LIBERO task,
with the tables the evaluator issue scores world models against."""

from __future__ import annotations

import csv

import pytest
from scripts_loader import load_script as load


def load_script():
    return load("libero_population")


def test_the_population_is_the_oracle_ladder_the_learned_policies_and_the_baselines():
    script = load_script()
    from lawm_eval.models.libero_oracle import PERTURBATION_LEVELS

    assert len(script.POPULATION) >= 8  # issue 17: at least 8 policies
    assert script.POPULATION["oracle_perturbed_0"] == ["model=oracle_perturbed", "model.level=0"]
    from lawm_eval.models.train.libero_bc import SNAPSHOTS, snapshot_path

    learned = {"libero_bc"} | {f"libero_bc_step{step}" for step in SNAPSHOTS}
    assert {f"oracle_perturbed_{k}" for k in range(len(PERTURBATION_LEVELS))} | {"noop", "random"} | learned == set(
        script.POPULATION)
    assert script.POPULATION[f"libero_bc_step{SNAPSHOTS[0]}"] == [
        "model=libero_bc", f"model.checkpoint={snapshot_path(SNAPSHOTS[0])}"]
    assert script.describe(f"libero_bc_step{SNAPSHOTS[0]}") == f"behaviour cloning, {SNAPSHOTS[0]} steps"
    assert script.describe("oracle_perturbed_0") == "none (the oracle)"


@pytest.mark.sim
@pytest.mark.extra("libero")
def test_oracle_succeeds_and_noop_fails_on_a_real_task(tmp_path):
    script = load_script()
    out = tmp_path / "tables"
    assert script.main(["--suite", "libero_object", "--trials", "1", "--tasks", "0", "--only", "oracle_perturbed_0",
                        "noop", "--out", str(out), "--runs", str(tmp_path / "runs")]) == 0
    with open(out / "population.csv") as f:
        rows = {row["policy"]: row for row in csv.DictReader(f)}
    assert float(rows["oracle_perturbed_0"]["success_rate"]) == 1.0
    assert float(rows["noop"]["success_rate"]) == 0.0
    assert rows["noop"]["n"] == "1"
    table = (out / "population.md").read_text()
    assert "none (the oracle)" in table and "| `noop` | – | 1 | 0.000" in table
    with open(out / "per_task.csv") as f:
        header = next(csv.reader(f))
    assert header == ["policy", "pick_up_the_alphabet_soup_and_place_it_in_the_basket"]
