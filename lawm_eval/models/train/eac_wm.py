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


def embodiment_loss(model: EACWM, data: Transitions, embodiment: str, generator: torch.Generator,
                    rollout: bool = True):
    """Window reconstruction conditioned on one embodiment's real actions (its own encoder); ``rollout``
    adds the 3-step rollout term (the bundled recipe; LAC-WM §3.1 trains one step, teacher-forced)."""
    x, a, _, _ = data.batch(64, generator)
    latents = model.encode_action(a.flatten(0, 1), embodiment).view(len(a), a.shape[1], -1)
    loss, logs = window_loss(model, x, latents, rollout=rollout)
    return loss, {f"{key}_{embodiment}": value for key, value in logs.items()}


def alternating_loss(model: EACWM, data: dict[str, Transitions], rollout: bool = True) -> LossFn:
    """The training objective: Franka batches on odd steps, navigation batches on even ones."""
    counter = {"step": 0}

    def loss_fn(generator: torch.Generator):
        counter["step"] += 1
        name = "franka" if counter["step"] % 2 else "navigation"
        return embodiment_loss(model, data[name], name, generator, rollout)

    return loss_fn


def main(steps: int = 9000, rollout: bool = True) -> dict:
    """Train and save the bundled checkpoint; ``rollout=False`` trains the paper's one-step, teacher-forced loss
    instead (an option, not the bundled recipe: like ``lac_wm.main(rollout=True)`` it writes the checkpoint in
    place, and its metrics.json records ``rollout_term``)."""
    autoencoder = load_autoencoder()
    data = {name: transitions(name, autoencoder, window=3) for name in ("franka", "navigation")}
    torch.manual_seed(0)
    model = EACWM(**CONFIG)
    for name, d in data.items():
        model.normalizers[name].fit(d.a)
    curve = train(model.parameters(), alternating_loss(model, data, rollout), steps, lr=1e-3, seed=1, log_every=50)
    navigation = transitions("navigation", autoencoder, window=3, split="held_out")
    extra = {f"navigation_{k}": v for k, v in lam_errors(model.use("navigation"), navigation.x, navigation.a).items()}
    extra["rollout_term"] = rollout
    model.use("franka")
    held = transitions("franka", autoencoder, window=3, split="held_out")
    return finish(NAME, model, CONFIG, {"end to end, both embodiments": curve},
                  ("loss", "recon_franka", "recon_navigation", *(["rollout_franka"] if rollout else [])), held, "franka",
                  autoencoder, extra)
