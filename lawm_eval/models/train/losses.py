"""Losses shared by the world-model training scripts."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lawm_eval.models.lam_base import TOKEN_DIM

Tensor = torch.Tensor


def pairs(x: Tensor) -> tuple[Tensor, Tensor]:
    """(B,W+1,16,32) windows → all (x_t, x_{t+1}) pairs flattened: (B·W,16,32) twice."""
    return x[:, :-1].flatten(0, 1), x[:, 1:].flatten(0, 1)


DISTANCES = {"mse": F.mse_loss, "l1": F.l1_loss}  # the prediction error: squared (ours) or absolute (Garrido et al. §4)


def window_loss(model, x: Tensor, latents: Tensor, distance: str = "mse",
                rollout: bool = True) -> tuple[Tensor, dict[str, float]]:
    """Teacher-forced one-step error on every transition of the window plus, with ``rollout``, the
    error of the model's own W-step rollout from the first frame (so that predictions stay sharp when
    fed back): x (B,W+1,16,32), latents (B,W,L). A model with history (``history_frames`` > 1)
    predicts each transition from its frame and the window's earlier ones in one frame-causal pass
    (Garrido et al.'s teacher forcing). A window of one transition gives the one-step error alone.
    ``distance``: "mse" or "l1"."""
    error = DISTANCES[distance]
    if getattr(model, "history_frames", 1) > 1:
        one_step = error(model.predict_window(x[:, :-1], latents), x[:, 1:])
    else:
        x_t, x_next = pairs(x)
        one_step = error(model.predict_next(x_t, latents.flatten(0, 1)), x_next)
    if latents.shape[1] == 1:
        return one_step, {"recon": one_step.item(), "rollout": one_step.item()}
    if not rollout:
        return one_step, {"recon": one_step.item()}
    rollout_error = error(model.rollout_train(x[:, 0], latents), x[:, 1:])
    return 0.5 * (one_step + rollout_error), {"recon": one_step.item(), "rollout": rollout_error.item()}


def cross_augment(x: Tensor, generator: torch.Generator, strength: float = 0.2) -> Tensor:
    """The same random per-channel gain and offset for every frame of a window: (K,B,16,32), one draw per B.
    Offsets are scaled by the tokens' own spread so the change of appearance stays moderate."""
    scale = x.std().detach()
    gain = 1 + strength * torch.randn(x.shape[1], 1, TOKEN_DIM, generator=generator)
    offset = strength * scale * torch.randn(x.shape[1], 1, TOKEN_DIM, generator=generator)
    return x * gain + offset
