"""Train EAC-WM end to end on both embodiments (alternating Franka and navigation batches)."""

from __future__ import annotations

import torch

from lawm_eval.models.eac_wm import EACWM
from lawm_eval.models.train.data import Transitions, transitions
from lawm_eval.models.train.evaluate import finish, lam_errors
from lawm_eval.models.train.loop import LossFn, train
from lawm_eval.models.train.losses import window_loss
from lawm_eval.models.zoo import load_autoencoder

NAME = "eac_wm"
CONFIG = {"dim": 64, "latent_dim": 16, "depth": 2}


def embodiment_loss(model: EACWM, data: Transitions, embodiment: str, generator: torch.Generator):
    """Window reconstruction conditioned on one embodiment's real actions (its own encoder)."""
    x, a, _, _ = data.batch(64, generator)
    latents = model.encode_action(a.flatten(0, 1), embodiment).view(len(a), a.shape[1], -1)
    loss, logs = window_loss(model, x, latents)
    return loss, {f"recon_{embodiment}": logs["recon"], f"rollout_{embodiment}": logs["rollout"]}


def alternating_loss(model: EACWM, data: dict[str, Transitions]) -> LossFn:
    """The training objective: Franka batches on odd steps, navigation batches on even ones."""
    counter = {"step": 0}

    def loss_fn(generator: torch.Generator):
        counter["step"] += 1
        name = "franka" if counter["step"] % 2 else "navigation"
        return embodiment_loss(model, data[name], name, generator)

    return loss_fn


def main(steps: int = 9000) -> dict:
    autoencoder = load_autoencoder()
    data = {name: transitions(name, autoencoder, window=3) for name in ("franka", "navigation")}
    torch.manual_seed(0)
    model = EACWM(**CONFIG)
    for name, d in data.items():
        model.normalizers[name].fit(d.a)
    curve = train(model.parameters(), alternating_loss(model, data), steps, lr=1e-3, seed=1, log_every=50)
    navigation = transitions("navigation", autoencoder, window=3, split="held_out")
    extra = {f"navigation_{k}": v for k, v in lam_errors(model.use("navigation"), navigation.x, navigation.a).items()}
    model.use("franka")
    held = transitions("franka", autoencoder, window=3, split="held_out")
    return finish(NAME, model, CONFIG, {"end to end, both embodiments": curve},
                  ("loss", "recon_franka", "recon_navigation", "rollout_franka"), held, "franka", autoencoder, extra)
