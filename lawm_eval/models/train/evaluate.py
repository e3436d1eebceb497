"""Held-out evaluation and golden numbers of the bundled latent-action world models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lawm_eval.models.train.data import RECIPES, Transitions, load_arrays
from lawm_eval.paths import data_dir

Tensor = torch.Tensor
FIXTURE_WINDOWS, FIXTURE_FRAMES = 8, 4


def mse(a: Tensor, b: Tensor) -> float:
    return float(F.mse_loss(a, b))


@torch.no_grad()
def lam_errors(model, x: Tensor, a: Tensor) -> dict[str, float]:
    """x (N,W+1,16,32), a (N,W,A): one-step latent MSE of copy-last, GT latent (IDM on the true
    next frame) and controller (real actions) conditioning, and the W-step controller rollout MSE
    against a copy-last rollout."""
    x_t, x_next = x[:, 0], x[:, 1]
    out = {
        "copy_last_mse": mse(x_t, x_next),
        "controller_mse": mse(model.predict_next(x_t, model.control(a[:, 0], x_t)), x_next),
    }
    if model.has_idm:
        out["gt_latent_mse"] = mse(model.predict_next(x_t, model.idm_latent(x_t, x_next)), x_next)
    if x.shape[1] > 2:
        latents = model.to_latent(a, x[:, :-1])
        rollout = model.rollout(x[:, :1], latents)
        out["rollout_controller_mse"] = mse(rollout, x[:, 1:])
        out["rollout_copy_last_mse"] = mse(x[:, :1].expand_as(x[:, 1:]), x[:, 1:])
    return out


def evaluate_held_out(model, held: Transitions) -> dict[str, float]:
    model.eval()
    return lam_errors(model, held.x, held.a)


# -- the golden batch: a few held-out windows committed with the package ---------------------------
def fixture_path(dataset: str) -> Path:
    return data_dir("baselines") / "fixtures" / f"{dataset}_golden.npz"


def write_fixture(dataset: str) -> Path:
    """Windows of 4 frames from the held-out episodes (fixed positions), with actions and states."""
    arrays = load_arrays(dataset)
    held = RECIPES[dataset]["held_out"]
    frames, actions, states = [], [], []
    for i in range(FIXTURE_WINDOWS):
        e = len(arrays.frames) - held + i % held
        t = 3 + 5 * (i // held)
        frames.append(arrays.frames[e][t : t + FIXTURE_FRAMES])
        actions.append(arrays.actions[e][t : t + FIXTURE_FRAMES - 1])
        states.append(arrays.states[e][t : t + FIXTURE_FRAMES])
    path = fixture_path(dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, frames=np.stack(frames), actions=np.stack(actions), states=np.stack(states))
    return path


def load_fixture(dataset: str) -> dict[str, np.ndarray]:
    with np.load(fixture_path(dataset)) as data:
        return {k: data[k] for k in data.files}


@torch.no_grad()
def lam_golden(model, autoencoder, dataset: str) -> dict[str, Any]:
    """Golden numbers on the committed fixture: latent errors and decoded PSNR of one-step
    controller predictions."""
    fixture = load_fixture(dataset)
    x = autoencoder.encode(torch.from_numpy(fixture["frames"]))  # (8,4,16,32)
    a = torch.from_numpy(fixture["actions"]).float()
    golden = lam_errors(model, x, a)
    pred = model.predict_next(x[:, 0], model.control(a[:, 0], x[:, 0]))
    frames = autoencoder.decode(pred[:, None])[:, 0]
    target = torch.from_numpy(fixture["frames"][:, 1]).permute(0, 3, 1, 2).float() / 255
    golden["controller_psnr"] = float(10 * torch.log10(1 / F.mse_loss(frames, target)))
    golden["dataset"] = dataset
    return golden


def finish(name: str, model, config: dict[str, Any], curves: dict[str, list], keys: tuple[str, ...],
           held: Transitions, dataset: str, autoencoder, extra_metrics: dict[str, Any] | None = None) -> dict:
    """Evaluate on held-out episodes, save checkpoint, curve, golden numbers and metrics.json."""
    import json

    from lawm_eval.models.checkpoint import save_model
    from lawm_eval.models.train.artifacts import baseline_dir, save_curve, save_golden

    model.eval()
    metrics = {**evaluate_held_out(model, held), **(extra_metrics or {})}
    save_model(baseline_dir(name) / "model.pt", name, model, config, {"metrics": metrics})
    save_curve(name, curves, keys)
    save_golden(name, lam_golden(model, autoencoder, dataset))
    (baseline_dir(name) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
