"""Train LAC-WM on the Franka clips as §3.1–3.2 describe it (the ``*_bfa`` recipe adapts it to a held-out
embodiment, ``bfa_world_models.py``):

1. latent actions from action-free pairs: the IDM reads the pair under one random appearance change (A1),
   the FDM predicts the pair under another, drawn independently (A2; L_recon on the A2 pair), and the
   motion decoder decodes the end-effector motion label from the first half of z and the camera motion
   label from the second (zero: the camera is fixed) (A.2);
2. the action projector trained through the frozen FDM;
3. projector + rank-2 FDM LoRA end to end.

The loss is one-step and teacher-forced, as the paper's; ``rollout=True`` adds the 3-step rollout term
(``window_loss``) as an option.

``lac_wm_history`` follows A.5's schedule for the FDM's temporal attention: stage 1 trains on single
transitions for its first three quarters with the (zero-initialised) temporal attention frozen, then
everything for the last quarter on 4-frame windows, teacher-forced over the window (as 20k of 80k
iterations); stages 2 and 3 train on the same windows.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F

from lawm_eval.models.lac_wm import LACWM
from lawm_eval.models.train.data import Transitions, transitions
from lawm_eval.models.train.evaluate import finish
from lawm_eval.models.train.loop import train
from lawm_eval.models.train.losses import cross_augment, pairs, window_loss
from lawm_eval.models.zoo import load_autoencoder

CONFIG = {"dim": 64, "latent_dim": 16, "action_dim": 7, "depth": 2, "motion_labels": True}
HISTORY = {"lac_wm": 1, "lac_wm_history": 3}  # frames the FDM reads
TEMPORAL_FRACTION = 0.25  # of stage 1 trained with the FDM's temporal attention (A.5: the last 20k of 80k)
BATCH, LAMBDA_RECON, LAMBDA_MOTION = 64, 1.0, 0.5


def motion_labels(embodiment: str, s_t: torch.Tensor, s_next: torch.Tensor) -> torch.Tensor:
    """(N, S) state pairs -> (N, 6) motion labels: end-effector Δxyz, then camera motion (Δforward,
    Δleft, Δyaw in the camera's frame); zero where the embodiment has no such motion (LAC-WM A.2: the
    end-effector and camera pose changes, zero camera motion for a fixed camera)."""
    labels = torch.zeros(len(s_t), 6)
    if embodiment == "navigation":  # states (x, y, yaw): a moving camera, no end effector
        d, yaw = s_next[:, :2] - s_t[:, :2], s_t[:, 2]
        labels[:, 3] = torch.cos(yaw) * d[:, 0] + torch.sin(yaw) * d[:, 1]
        labels[:, 4] = -torch.sin(yaw) * d[:, 0] + torch.cos(yaw) * d[:, 1]
        labels[:, 5] = torch.remainder(s_next[:, 2] - yaw + torch.pi, 2 * torch.pi) - torch.pi
    else:  # end-effector xyz: Franka and BFA states start with it, RoboDesk's are its last three numbers
        where = slice(73, 76) if embodiment == "robodesk" else slice(0, 3)
        labels[:, :3] = s_next[:, where] - s_t[:, where]
    return labels


def label_scale(data: Transitions) -> torch.Tensor:
    """(6,) per-dimension spread of an embodiment's motion labels (1 where it has none)."""
    labels = motion_labels(data.embodiment, data.s[:, :-1].flatten(0, 1), data.s[:, 1:].flatten(0, 1))
    std = labels.std(0)
    return torch.where(std > 1e-8, std, torch.ones_like(std))


def lam_loss(model: LACWM, data: Transitions, generator: torch.Generator, *, motion: bool, scale: torch.Tensor,
             independent_a2: bool, batch: int = BATCH, rollout: bool = True):
    """Latent actions from action-free windows: FDM reconstruction, plus (``motion``) the motion decoder on
    the standardised motion labels and cross-augmentation: A1 on the IDM's pair, and (``independent_a2``)
    an independent A2 on the window the FDM reads and predicts (§3.1)."""
    x, _, s, _ = data.batch(batch, generator)  # (B, W + 1, 16, 32), (B, W + 1, S)
    x_t, x_next = pairs(x)
    if motion:
        augmented = cross_augment(torch.stack([x_t, x_next]), generator)  # A1
        z = model.idm(augmented[0], augmented[1])  # (B·W, L)
        if independent_a2:
            x = cross_augment(x.transpose(0, 1), generator).transpose(0, 1)  # A2: one draw per window
    else:
        z = model.idm(x_t, x_next)
    recon, logs = window_loss(model, x, z.view(len(x), -1, z.shape[-1]), rollout=rollout)
    if not motion:
        return recon, logs
    target = motion_labels(data.embodiment, s[:, :-1].flatten(0, 1), s[:, 1:].flatten(0, 1)) / scale
    motion_loss = F.mse_loss(model.motion(x_t, z), target)
    return LAMBDA_RECON * recon + LAMBDA_MOTION * motion_loss, {**logs, "motion": motion_loss.item()}


def projector_loss(model: LACWM, data: Transitions, generator: torch.Generator, batch: int = BATCH,
                   rollout: bool = True):
    """Real-action latents from the projector, judged by the FDM's predictions (stages 2 and 3)."""
    x, a, _, _ = data.batch(batch, generator)
    latents = model.control(a.flatten(0, 1), None).view(len(a), a.shape[1], -1)
    return window_loss(model, x, latents, rollout=rollout)


def train_lac_wm(history_frames: int, data: Transitions, windows: Transitions, steps: int = 7200,
                 rollout: bool = False, a5_schedule: bool | None = None) -> tuple[LACWM, dict, dict]:
    """LAC-WM whose FDM reads ``history_frames`` frames. ``a5_schedule`` (the default with history): stage 1's
    last quarter and stages 2-3 on the 4-frame ``windows``; with one frame it is the matched control of
    ``lac_wm_history``, the same schedule without the temporal attention."""
    a5_schedule = history_frames > 1 if a5_schedule is None else a5_schedule
    if history_frames > 1 and not a5_schedule:
        raise ValueError("an FDM with history trains its temporal attention on windows: a5_schedule must be on")
    config = {**CONFIG, **({"history_frames": history_frames} if history_frames > 1 else {})}
    torch.manual_seed(0)
    model = LACWM(**config)
    model.normalizer.fit(data.a)
    lam = partial(lam_loss, model, motion=True, scale=label_scale(data), independent_a2=True)
    temporal = {id(p) for p in model.fdm.temporal_parameters()}
    stage1_params = list(model.idm.parameters()) + list(model.fdm.parameters()) + list(model.motion.parameters())
    first = steps - int(TEMPORAL_FRACTION * steps) if a5_schedule else steps
    stage1 = train([p for p in stage1_params if id(p) not in temporal], partial(lam, data), first, lr=1e-3, seed=1)
    curves = {"1: latent actions": stage1}
    if a5_schedule:  # the last quarter: temporal attention on, windows of 4 frames, teacher-forced
        curves["1b: + temporal attention"] = train(stage1_params, partial(lam, windows, rollout=False), steps - first,
                                                   lr=5e-4, seed=4)
    projector = partial(projector_loss, model, windows if a5_schedule else data, rollout=rollout or not a5_schedule)
    curves["2: action projector"] = train(model.projector.parameters(), projector, steps // 2, lr=1e-3, seed=2)
    lora_params = model.enable_lora(2)
    curves["3: LoRA rank 2"] = train(lora_params + list(model.projector.parameters()), projector, steps // 2,
                                     lr=5e-4, seed=3)
    return model, {**config, "lora_rank": 2}, curves


def main(name: str = "lac_wm", steps: int = 7200, rollout: bool = False) -> dict:
    """Train ``lac_wm`` (the FDM reads one frame) or ``lac_wm_history`` (3 frames, A.5's schedule)."""
    history = HISTORY[name]
    autoencoder = load_autoencoder()
    data = transitions("franka", autoencoder, window=3 if rollout else 1)
    windows = transitions("franka", autoencoder, window=3) if history > 1 else data
    held = transitions("franka", autoencoder, window=3, split="held_out")
    model, config, curves = train_lac_wm(history, data, windows, steps, rollout)
    return finish(name, model, config, curves, ("loss", "recon", "rollout", "motion"), held,
                  "franka", autoencoder, {"rollout_term": rollout})
