"""Train the shared frozen visual autoencoder on frames of both generated datasets."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from lawm_eval.data.recipes import RECIPES, TRAINING
from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.train.artifacts import baseline_dir, save_curve, save_golden
from lawm_eval.models.train.data import clear_token_cache, load_arrays
from lawm_eval.models.train.evaluate import load_fixture
from lawm_eval.models.train.loop import train
from lawm_eval.models.visual import VisualAutoencoder

NAME = "visual_ae"
CONFIG = {"width": 32}
STEPS, BATCH, LR = 2500, 32, 2e-3


def training_frames() -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 frames (N,64,64,3) of the training episodes, and of the held-out ones."""
    train_frames, held_frames = [], []
    for name in TRAINING:
        arrays = load_arrays(name)
        cut = len(arrays.frames) - RECIPES[name]["held_out"]
        train_frames += arrays.frames[:cut]
        held_frames += arrays.frames[cut:]
    return torch.from_numpy(np.concatenate(train_frames)), torch.from_numpy(np.concatenate(held_frames))


def reconstruction_loss(model: VisualAutoencoder, frames: torch.Tensor, generator: torch.Generator):
    """Pixel MSE of a random batch of uint8 frames (N,64,64,3), plus a small penalty on the tokens."""
    idx = torch.randint(0, len(frames), (BATCH,), generator=generator)
    images = VisualAutoencoder.to_unit(frames[idx])
    tokens = model.encoder(images)
    recon = F.mse_loss(model.decoder(tokens), images)
    return recon + 1e-4 * tokens.pow(2).mean(), {"recon_mse": recon.item()}


def main(steps: int = STEPS) -> dict:
    torch.manual_seed(0)
    frames, held = training_frames()
    model = VisualAutoencoder(**CONFIG)
    curve = train(model.parameters(), partial(reconstruction_loss, model, frames), steps, lr=LR, log_every=50)
    model.eval()
    with torch.no_grad():
        images = VisualAutoencoder.to_unit(held[:512])
        mse = float(F.mse_loss(model.decoder(model.encoder(images)), images))
    metrics = {"held_out_recon_mse": mse, "held_out_psnr": float(10 * np.log10(1 / mse))}
    save_model(baseline_dir(NAME) / "model.pt", NAME, model, CONFIG, {"metrics": metrics})
    save_curve(NAME, {"autoencoder": curve}, keys=("loss", "recon_mse"))
    save_golden(NAME, autoencoder_golden(model))
    (baseline_dir(NAME) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    clear_token_cache()
    return metrics


@torch.no_grad()
def autoencoder_golden(model: VisualAutoencoder, datasets: tuple[str, ...] = TRAINING) -> dict:
    """Reconstruction MSE on the committed golden batches of ``datasets``, and one token value."""
    golden = {}
    for dataset in datasets:
        frames = torch.from_numpy(load_fixture(dataset)["frames"])  # (8,4,64,64,3)
        tokens = model.encode(frames)
        recon = model.decode(tokens)
        golden[f"{dataset}_recon_mse"] = float(F.mse_loss(recon, VisualAutoencoder.to_unit(frames)))
        golden[f"{dataset}_token_mean_abs"] = float(tokens.abs().mean())
    return golden


def save_fine_tuned(name: str, model: VisualAutoencoder, held: torch.Tensor, curve: list[dict], stage: str,
                    dataset: str) -> dict:
    """Save an autoencoder fine-tuned from the shared one: checkpoint, curve (one panel, ``stage``),
    golden numbers on ``dataset``'s fixture, and held-out PSNR before and after on ``held`` (uint8 frames)."""
    from lawm_eval.models.zoo import load_autoencoder

    shared = load_autoencoder()
    model.eval()
    with torch.no_grad():
        images = VisualAutoencoder.to_unit(held)
        before = float(F.mse_loss(shared.decoder(shared.encoder(images)), images))
        after = float(F.mse_loss(model.decoder(model.encoder(images)), images))
    metrics = {"held_out_psnr_before": float(10 * np.log10(1 / before)),
               "held_out_psnr": float(10 * np.log10(1 / after)), "held_out_recon_mse": after}
    save_model(baseline_dir(name) / "model.pt", name, model, CONFIG, {"metrics": metrics})
    save_curve(name, {stage: curve}, keys=("loss", "recon_mse"))
    save_golden(name, autoencoder_golden(model, (dataset,)))
    (baseline_dir(name) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
