"""scripts/capacity_sweep.py: Garrido et al.'s capacity sweep, trained with the bundled checkpoints' loss or the
paper's, and planned on droid_planning v3 with the zero-action plan on the same clips."""

from __future__ import annotations

import csv

import pytest
import torch

from tests.scripts_loader import exit_2_stderr, franka_fixture_windows, load_script

script = load_script("capacity_sweep")


@pytest.fixture(scope="module")
def fixture_windows():
    return franka_fixture_windows()


@pytest.fixture
def sweep(tmp_path, monkeypatch, fixture_windows):
    """The script writing into tmp_path, on the fixture's windows, with one noisy strength and the deterministic end;
    returns the train_variant calls it makes."""
    monkeypatch.setattr(script, "sweep_dir", lambda loss: tmp_path / "cache" / loss)
    monkeypatch.setattr(script, "OUT", tmp_path / "out")
    monkeypatch.setattr(script, "transitions", lambda dataset, autoencoder, window, split="train": fixture_windows)
    monkeypatch.setattr(script, "SWEEP", {"noisy": (1e-5,), "deterministic": (None,)})
    calls, train_variant = [], script.train_variant

    def spy(*args, **kwargs):
        calls.append((args[0], kwargs))
        return train_variant(*args, **kwargs)

    monkeypatch.setattr(script, "train_variant", spy)
    return calls


def test_the_sweep_trains_with_the_papers_loss_and_plans_v3_against_the_zero_plan(tmp_path, sweep):
    assert script.main(["--only", "noisy", "deterministic", "--steps", "2", "--episodes", "2", "--loss", "paper"]) == 0
    assert sweep == [("noisy", {"distance": "l1", "rollout": False}), ("deterministic", {"distance": "l1", "rollout": False})]
    with open(tmp_path / "out" / "paper" / "capacity_sweep.csv") as f:
        rows = {row["regulariser"]: row for row in csv.DictReader(f)}
    noisy, deterministic = rows["noisy"], rows["deterministic"]
    assert noisy["loss"] == deterministic["loss"] == "paper" and noisy["suite_version"] == "v3"
    assert noisy["delta_xyz_n"] == "2" and deterministic["delta_xyz"] == ""  # only the latent kinds plan
    zero_plan = float(noisy["delta_xyz"]) - float(noisy["delta_xyz_vs_zero"])
    assert float(noisy["delta_xyz_vs_zero_ci_low"]) <= float(noisy["delta_xyz_vs_zero"]) and 0 <= zero_plan < 1
    table = (tmp_path / "out" / "paper" / "capacity_sweep.md").read_text()
    assert "− zero plan, same clips (m)" in table and f"{float(noisy['delta_xyz_vs_zero']):+.3f}" in table
    assert (tmp_path / "out" / "paper" / "capacity_curve.png").stat().st_size > 0
    assert torch.load(tmp_path / "cache" / "paper" / "noisy_1e-05" / "model.pt", weights_only=True)["extra"][
        "capacity_sweep"]["distance"] == "l1"
    script.main(["--only", "noisy", "--steps", "2", "--episodes", "2", "--loss", "paper"])
    assert len(sweep) == 2  # finished entries are kept


def test_a_cached_entry_counts_only_for_the_same_loss_steps_episodes_and_suite_version():
    planned = {"steps": 2, "loss": "paper", "delta_xyz_n": 2, "suite_version": "v3"}
    assert script.is_current(planned, "noisy", 2, 2, "paper", "v3")
    assert not script.is_current(planned, "noisy", 2, 2, "bundled", "v3")
    assert not script.is_current(planned, "noisy", 3, 2, "paper", "v3")
    assert not script.is_current(planned, "noisy", 2, 64, "paper", "v3")
    assert not script.is_current(planned, "noisy", 2, 2, "paper", "v2")
    assert not script.is_current({"steps": 2, "delta_xyz_n": 2}, "noisy", 2, 2, "paper", "v3")  # from before the loss was kept
    assert script.is_current({"steps": 2, "loss": "paper"}, "deterministic", 2, 64, "paper", "v3")  # never planned


def test_an_entry_trained_again_is_planned_afresh(tmp_path, sweep):
    script.main(["--only", "noisy", "--steps", "2", "--episodes", "2", "--loss", "paper"])
    first = (tmp_path / "cache" / "paper" / "noisy_1e-05" / "result.json").read_text()
    script.main(["--only", "noisy", "--steps", "3", "--episodes", "1", "--loss", "paper"])  # retrain, replan
    assert len(sweep) == 2
    with open(tmp_path / "out" / "paper" / "capacity_sweep.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert row["steps"] == "3" and row["delta_xyz_n"] == "1"
    assert (tmp_path / "cache" / "paper" / "noisy_1e-05" / "result.json").read_text() != first
    runs = list((tmp_path / "cache" / "paper" / "noisy_1e-05" / "runs").iterdir())
    assert len(runs) == 1 and sum(1 for _ in open(runs[0] / "episodes.jsonl")) == 1  # not the first run's records


def test_the_default_loss_is_the_bundled_checkpoints(tmp_path, sweep):
    script.main(["--only", "deterministic", "--steps", "2"])
    assert sweep == [("deterministic", {"distance": "mse", "rollout": True})]
    assert (tmp_path / "cache" / "bundled" / "deterministic" / "result.json").is_file()
    assert (tmp_path / "out" / "bundled" / "capacity_sweep.csv").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--loss", "huber"], "invalid choice: 'huber'"), (["--only", "vq"], "invalid choice: 'vq'"),
    (["--suite-version", "v1"], "invalid choice: 'v1'"),
])
def test_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, argv, message):
    lines = exit_2_stderr(script, argv, monkeypatch, capsys)
    assert len(lines) == 1 and message in lines[0]
