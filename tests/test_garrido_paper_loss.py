"""scripts/garrido_paper_loss.py: a Garrido et al. recipe trained with the paper's loss (L1, teacher-forced, no
rollout term), everything else as bundled; the checkpoint runs as the bundled model's ``model.checkpoint``."""

from __future__ import annotations

import pytest
import torch

from lawm_eval.models.train import lam_variants as recipe
from lawm_eval.models.train.data import windows
from lawm_eval.models.train.evaluate import load_fixture
from lawm_eval.models.zoo import build_bundled
from tests.scripts_loader import load_script

script = load_script("garrido_paper_loss")


def fixture_windows():
    """The committed Franka fixture's 8 windows of 3 transitions, encoded."""
    fixture = load_fixture("franka")
    autoencoder = build_bundled("lam_noisy").encoder
    xs = list(autoencoder.encode(torch.from_numpy(fixture["frames"])))  # 8 × (4, 16, 32)
    actions = [torch.from_numpy(a).float() for a in fixture["actions"]]  # 8 × (3, 7)
    return windows(xs, actions, [torch.zeros(len(x), 1) for x in xs], [0] * len(xs), "franka", window=3)


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


def test_the_models_are_the_franka_recipes():
    assert set(script.MODELS) == {"lam_sparse", "lam_noisy", "lam_discrete", "lam_noisy_history"}


def test_the_distance_is_the_world_models_training_error():
    data = fixture_windows()
    trained = {distance: recipe.fit_bundled("lam_noisy", data, 4, distance=distance, rollout=False)[0]
               for distance in ("l1", "mse")}
    l1, mse = (dict(trained[d].named_parameters()) for d in ("l1", "mse"))
    assert any(not torch.equal(l1[key], mse[key]) for key in l1 if key.startswith("world"))


def test_a_tiny_budget_trains_a_checkpoint_that_runs_as_the_bundled_model(tmp_path, monkeypatch):
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    model, config, _ = recipe.fit_bundled("lam_noisy_history", fixture_windows(), 4, 1, distance="l1", rollout=False)
    path = script.save_model(script.checkpoint_file("lam_noisy_history", "l1", 1), "lam_noisy_history", model, config)
    assert path.is_relative_to(tmp_path) and path.name == "lam_noisy_history_l1_seed1.pt"
    bundle = build_bundled("lam_noisy_history", checkpoint=str(path))
    context = fixture_windows().x[:2, :1]  # (2, 1, 16, 32)
    states = context.expand(-1, 3, -1, -1)  # (2, 3, 16, 32)
    actions = torch.randn(2, 3, 7)
    with torch.no_grad():
        ours = bundle.world_model.rollout(context, bundle.controller.to_latent(actions, states))
        theirs = model.eval().rollout(context, model.to_latent(actions, states))
    assert ours.shape == (2, 3, 16, 32) and torch.allclose(ours, theirs)


@pytest.mark.parametrize("argv, message", [
    (["--models", "lam_nav"], "invalid choice: 'lam_nav'"), (["--distance", "huber"], "invalid choice: 'huber'"),
    (["--seed", "-1"], "-1 is not a seed"), (["--seed", "one"], "one is not a seed"),
    (["--steps", "0"], "0 is not a number of steps"),
])
def test_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, argv, message):
    monkeypatch.setattr("sys.argv", ["garrido_paper_loss.py", *argv])
    with pytest.raises(SystemExit) as exit_info:
        script.main()
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]
