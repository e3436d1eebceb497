"""scripts/action_sensitivity.py on the committed Franka fixture: the errors are the one-step token MSEs of
the bundle's own world model and controller, and a model that follows its actions scores a positive
sensitivity while one fed the same latent whatever the actions scores zero."""

from __future__ import annotations

import pytest
import torch

from lawm_eval.models.train.evaluate import load_fixture
from lawm_eval.models.zoo import build_bundled
from tests.scripts_loader import load_script

script = load_script("action_sensitivity")


def fixture_pairs(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixture's first transition of each window, encoded: (8,2,16,32), (8,1,7)."""
    fixture = load_fixture("franka")
    x = build_bundled(name).encoder.encode(torch.from_numpy(fixture["frames"]))
    return x[:, :2], torch.from_numpy(fixture["actions"]).float()[:, :1]


def test_errors_are_the_models_one_step_errors_and_sensitivity_their_ratio():
    x, actions = fixture_pairs("eac_wm")
    permutation = torch.roll(torch.arange(len(x)), 1)
    result = script.sensitivity("eac_wm", x, actions, permutation)
    bundle = build_bundled("eac_wm")
    with torch.no_grad():
        own = bundle.world_model.rollout(x[:, :1], bundle.controller.to_latent(actions, x[:, :1]))
        other = bundle.world_model.rollout(x[:, :1], bundle.controller.to_latent(actions[permutation], x[:, :1]))
    assert result["own"] == pytest.approx(float(((own - x[:, 1:]) ** 2).mean()), rel=1e-6)
    assert result["shuffled"] == pytest.approx(float(((other - x[:, 1:]) ** 2).mean()), rel=1e-6)
    assert result["copy_last"] == pytest.approx(float(((x[:, :1] - x[:, 1:]) ** 2).mean()), rel=1e-6)
    assert result["sensitivity"] == pytest.approx((result["shuffled"] - result["own"]) / result["own"])
    assert result["sensitivity"] > 0.5  # eac_wm follows its actions (2.56 on the full held-out split)


def test_a_controller_that_ignores_the_actions_has_no_sensitivity(monkeypatch):
    x, actions = fixture_pairs("eac_wm")
    bundle = build_bundled("eac_wm")
    to_latent = bundle.controller.to_latent
    bundle.controller.to_latent = lambda acts, context: to_latent(torch.zeros_like(acts), context)
    monkeypatch.setattr(script, "build_bundled", lambda name: bundle)
    result = script.sensitivity("eac_wm", x, actions, torch.roll(torch.arange(len(x)), 1))
    assert result["sensitivity"] == pytest.approx(0.0, abs=1e-9)
    assert result["own"] == pytest.approx(result["zero"], rel=1e-6)
