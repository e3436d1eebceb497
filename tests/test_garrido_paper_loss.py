"""scripts/garrido_paper_loss.py: a Garrido et al. recipe trained with the paper's loss (L1, teacher-forced, no
rollout term), everything else as bundled; the checkpoint runs as the bundled model's ``model.checkpoint``."""

from __future__ import annotations

import pytest
import torch

from lawm_eval.models.train import lam_variants as recipe
from lawm_eval.models.zoo import build_bundled
from tests.scripts_loader import exit_2_stderr, franka_fixture_windows, load_script

script = load_script("garrido_paper_loss")


@pytest.fixture(scope="module")
def fixture_windows():
    return franka_fixture_windows()


@pytest.mark.parametrize("name, history, bundled_rollout", [("lam_noisy", 1, True), ("lam_noisy_history", 3, False)])
def test_the_recipe_changes_only_the_loss(monkeypatch, name, history, bundled_rollout):
    calls = []
    monkeypatch.setattr(recipe, "train_variant", lambda *args, **kwargs: calls.append((args[2:], kwargs)))
    recipe.fit_bundled(name, None)
    recipe.fit_bundled(name, None, None, 0, distance="l1", rollout=False)
    bundled, paper = calls
    assert bundled == ((recipe.STEPS[name],), {"distance": "mse", "history_frames": history,
                                               "rollout": bundled_rollout, "seed": 0})
    assert paper == ((recipe.STEPS[name],), {**bundled[1], "distance": "l1", "rollout": False})


def test_the_models_are_the_garrido_recipes():
    assert set(script.MODELS) == {"lam_sparse", "lam_noisy", "lam_discrete", "lam_noisy_history", "lam_nav"}


def test_main_trains_with_the_papers_loss_and_saves_a_checkpoint_that_runs_as_the_bundled_model(
        tmp_path, monkeypatch, capsys, fixture_windows):
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    monkeypatch.setattr(script, "load_autoencoder", lambda: None)
    monkeypatch.setattr(script, "transitions", lambda dataset, autoencoder, window, split="train": fixture_windows)
    calls, fit = [], recipe.fit_bundled
    monkeypatch.setattr(recipe, "fit_bundled", lambda *args, **kwargs: calls.append((args, kwargs)) or fit(*args, **kwargs))
    monkeypatch.setattr("sys.argv", ["garrido_paper_loss.py", "--models", "lam_noisy_history", "--seed", "1", "--steps", "4"])
    script.main()
    assert calls == [(("lam_noisy_history", fixture_windows, 4, 1), {"distance": "l1", "rollout": False})]
    path = tmp_path / "checkpoints" / "garrido_paper_loss" / "lam_noisy_history_l1_seed1_steps4.pt"
    row = capsys.readouterr().out.strip().splitlines()[-1]
    assert row.startswith("| `lam_noisy_history` | l1, teacher-forced | 1 |") and str(path) in row
    bundle = build_bundled("lam_noisy_history", checkpoint=str(path))
    extra = torch.load(path, weights_only=True)["extra"]
    assert extra["world_model_steps"] == 4 and extra["rollout"] is False and extra["distance"] == "l1"
    assert set(extra["metrics"]) >= {"gt_latent_mse", "controller_mse", "rollout_controller_mse", "copy_last_mse"}
    context = fixture_windows.x[:2, :1]  # (2, 1, 16, 32)
    actions = torch.randn(2, 3, 7)
    with torch.no_grad():
        latents = bundle.controller.to_latent(actions, context.expand(-1, 3, -1, -1))  # (2, 3, L)
        assert bundle.world_model.rollout(context, latents).shape == (2, 3, 16, 32)


def test_the_bundled_steps_leave_the_budget_out_of_the_checkpoints_name(tmp_path, monkeypatch):
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    assert script.checkpoint_file("lam_noisy", "l1", 0, 7200).name == "lam_noisy_l1_seed0.pt"
    assert script.checkpoint_file("lam_sparse", "mse", 2, 2400).name == "lam_sparse_mse_seed2.pt"
    assert script.checkpoint_file("lam_noisy", "l1", 0, 100).name == "lam_noisy_l1_seed0_steps100.pt"


@pytest.mark.parametrize("argv, message", [
    (["--models", "lac_wm"], "invalid choice: 'lac_wm'"), (["--distance", "huber"], "invalid choice: 'huber'"),
    (["--seed", "-1"], "-1 is not a seed"), (["--seed", "one"], "one is not a seed"),
    (["--steps", "0"], "0 is not a number of steps"),
])
def test_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, argv, message):
    lines = exit_2_stderr(script, argv, monkeypatch, capsys)
    assert len(lines) == 1 and message in lines[0]
