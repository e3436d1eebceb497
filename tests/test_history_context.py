"""scripts/history_context.py: its held-out errors are the model interface's own predictions, the last
transition read with 1 and with 3 frames of context, and only a model with history tells the two apart."""

from __future__ import annotations

import pytest
import torch

from lawm_eval.models.lam_variants import RegularisedLAM
from tests.scripts_loader import load_script
from tests.test_models import randomised

script = load_script("history_context")


def windows() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 4, 16, 32, generator=g), torch.randn(4, 3, 7, generator=g)


def test_held_out_errors_read_one_or_three_frames_of_context():
    x, a = windows()
    one, three = randomised(RegularisedLAM("noisy", dim=32)), randomised(RegularisedLAM("noisy", dim=32, history_frames=3))
    flat, history = script.held_out_errors(one, x, a), script.held_out_errors(three, x, a)
    assert flat["idm_last_step_context_1"] == flat["idm_last_step_context_3"]
    assert history["idm_last_step_context_1"] != pytest.approx(history["idm_last_step_context_3"], rel=1e-4)
    latent = three.to_latent(a[:, 2:], x[:, 2:3])
    expected = float((three.step(x[:, :3], latent)[:, 0] - x[:, 3]).pow(2).mean())
    assert history["controller_last_step_context_3"] == pytest.approx(expected)
    assert history["copy_last_last_step"] == pytest.approx(float((x[:, 2] - x[:, 3]).pow(2).mean()))
