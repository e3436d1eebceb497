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


def test_each_history_model_has_its_own_cached_one_frame_control(monkeypatch, tmp_path):
    """lam_noisy_history's control: the noisy recipe reading one frame, teacher-forced; lac_wm_history's: the
    A.5 schedule with a one-frame FDM (``train_lac_wm(1, …, a5_schedule=True)``); each saved to its own file."""
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    assert script.control_path("lam_noisy") != script.control_path("lac_wm")
    assert script.control_path("lac_wm").parent == tmp_path / "checkpoints" / "history"
    calls, saved = [], {}
    monkeypatch.setattr(script, "load_autoencoder", lambda: None)
    monkeypatch.setattr(script, "transitions", lambda dataset, autoencoder, window=1: window)
    monkeypatch.setattr(script, "train_variant", lambda *args, **kwargs: (calls.append(("lam", args, kwargs)) or
                                                                          (RegularisedLAM("noisy", dim=32), {}, {})))
    monkeypatch.setattr(script, "train_lac_wm", lambda *args, **kwargs: (calls.append(("lac", args, kwargs)) or
                                                                          (RegularisedLAM("noisy", dim=32), {}, {})))
    monkeypatch.setattr(script, "save_model", lambda path, method, *rest: saved.update({method: path}))
    script.train_control("lam_noisy")
    script.train_control("lac_wm")
    assert calls[0][0] == "lam" and calls[0][2] == {"rollout": False} and calls[0][1][1] == 3  # 4-frame windows
    assert calls[1][0] == "lac" and calls[1][1][:3] == (1, 1, 3) and calls[1][2] == {"a5_schedule": True}
    assert saved == {"lam_noisy": script.control_path("lam_noisy"), "lac_wm": script.control_path("lac_wm")}


def test_seed_runs_are_evaluated_only_when_both_checkpoints_exist(monkeypatch, tmp_path):
    """``--seed=N`` trains lam_noisy_history and its one-frame control into seedN/; ``evaluate`` reads the pair
    once both are saved, each with its own method."""
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    paths = script.seed_paths(1)
    paths["lam_noisy_history"].parent.mkdir(parents=True)
    paths["lam_noisy_history"].touch()
    assert not any("seed" in label for label in script.evaluated_models())
    paths["lam_noisy"].touch()
    models = script.evaluated_models()
    assert models["lam_noisy_history, seed 1"][:2] == ("lam_noisy_history", paths["lam_noisy_history"])
    assert models["one frame, teacher-forced, seed 1"][:2] == ("lam_noisy", paths["lam_noisy"])
    assert models["lam_noisy_history"][1] != paths["lam_noisy_history"]
