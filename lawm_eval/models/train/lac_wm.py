"""Train LAC-WM: (1) latent actions from action-free pairs, (2) action projector, (3) rank-2 LoRA."""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F

from lawm_eval.models.lac_wm import LACWM, cross_augment, pooled_motion
from lawm_eval.models.train.data import Transitions, transitions
from lawm_eval.models.train.evaluate import finish
from lawm_eval.models.train.loop import train
from lawm_eval.models.train.losses import pairs, window_loss
from lawm_eval.models.zoo import load_autoencoder

NAME = "lac_wm"
CONFIG = {"dim": 64, "latent_dim": 16, "action_dim": 7, "depth": 2}
BATCH, LAMBDA_RECON, LAMBDA_MOTION = 64, 1.0, 0.5


def lam_loss(model: LACWM, data: Transitions, generator: torch.Generator):
    """Stage 1: latent actions from action-free pairs (cross-augmented IDM input), window
    reconstruction through the FDM, and the motion decoder's pooled token motion."""
    x, _, _, _ = data.batch(BATCH, generator)  # (B,4,16,32)
    x_t, x_next = pairs(x)
    augmented = cross_augment(torch.stack([x_t, x_next]), generator)
    z = model.idm(augmented[0], augmented[1])  # (B·3, L)
    recon, logs = window_loss(model, x, z.view(len(x), -1, z.shape[-1]))
    motion = F.mse_loss(model.motion(x_t, z), pooled_motion(x_t, x_next))
    return LAMBDA_RECON * recon + LAMBDA_MOTION * motion, {**logs, "motion": motion.item()}


def projector_loss(model: LACWM, data: Transitions, generator: torch.Generator):
    """Stage 2: the action projector regresses the frozen IDM's latent action (L2)."""
    x, a, _, _ = data.batch(BATCH, generator)
    with torch.no_grad():
        target = model.idm(x[:, 0], x[:, 1])
    return F.mse_loss(model.control(a[:, 0], None), target), {}


def lora_loss(model: LACWM, data: Transitions, generator: torch.Generator):
    """Stage 3: projector + LoRA trained end to end through the FDM on real-action latents."""
    x, a, _, _ = data.batch(BATCH, generator)
    latents = model.control(a.flatten(0, 1), None).view(len(a), a.shape[1], -1)
    return window_loss(model, x, latents)


def main(steps: int = 2400) -> dict:
    autoencoder = load_autoencoder()
    data = transitions("franka", autoencoder, window=3)
    held = transitions("franka", autoencoder, window=3, split="held_out")
    torch.manual_seed(0)
    model = LACWM(**CONFIG)
    model.normalizer.fit(data.a)
    stage1 = train(list(model.idm.parameters()) + list(model.fdm.parameters()) + list(model.motion.parameters()),
                   partial(lam_loss, model, data), steps, lr=1e-3, seed=1)
    stage2 = train(model.projector.parameters(), partial(projector_loss, model, data), steps // 2, lr=1e-3, seed=2)
    lora_params = model.enable_lora(2)
    stage3 = train(lora_params + list(model.projector.parameters()), partial(lora_loss, model, data), steps // 2,
                   lr=5e-4, seed=3)
    curves = {"1: latent actions": stage1, "2: action projector": stage2, "3: LoRA rank 2": stage3}
    return finish(NAME, model, {**CONFIG, "lora_rank": 2}, curves, ("loss", "recon", "rollout", "motion"), held,
                  "franka", autoencoder)
