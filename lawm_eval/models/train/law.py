"""Train LAW: RSSM + latent actions + imitation model jointly, then fine-tune on real actions, then (where
the config asks) a controller that reads the current frame."""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F

from lawm_eval.models.law import LAW
from lawm_eval.models.train.data import Transitions, transitions
from lawm_eval.models.train.evaluate import finish
from lawm_eval.models.train.loop import train
from lawm_eval.models.zoo import load_autoencoder

NAME = "law"
# the controller reads the current frame beside the action (stage 3): the inverse model's latents depend on
# the scene, so an action-only encoder cannot follow them (droid_planning on the same clips: 0.186 m, 0.135 with it)
CONFIG = {"hidden": 128, "variables": 16, "classes": 16, "latent_dim": 8, "chunk": 3, "action_dim": 7,
          "frame_controller": True}
STEPS = 9000  # per stage: 3x the first recipe's 3,000 (undertrained for planning)
BETA = 1e-4  # KL in nats (tens) against a token MSE of ~5e-3


def rssm_loss(model: LAW, data: Transitions, generator: torch.Generator, from_actions: bool):
    """Posterior filtering over a window: reconstruction + β·KL; the latent actions come from
    the inverse model (joint training) or from the real actions (fine-tuning)."""
    x, a, _, _ = data.batch(48, generator)  # (B,4,16,32), (B,3,A): A = the model's action_dim
    inverse = [model.idm_latent(x[:, t], x[:, t + 1]) for t in range(x.shape[1] - 1)]
    latents = model.action_encoder(model.normalizer(a)).unbind(1) if from_actions else inverse
    recon, kl = model.filtering_loss(x, torch.stack(list(latents), dim=1), generator)
    imagined = F.mse_loss(model.rollout_train(x[:, 0], torch.stack(list(latents), dim=1)), x[:, 1:])
    recon = recon + imagined  # the prior's own 3-step imagination, as used for planning
    logs = {"recon": recon.item(), "kl": kl.item(), "rollout": imagined.item()}
    if from_actions:  # stay close to the latent actions the world model was trained with
        align = F.mse_loss(torch.stack(latents, 1), torch.stack(inverse, 1).detach())
        return recon + BETA * kl + 0.1 * align, {**logs, "align": align.item()}
    chunk = torch.stack(inverse, dim=1).detach().flatten(1)  # (B, K*L)
    imitation = F.mse_loss(model.imitation(x[:, 0].flatten(1)), chunk)
    return recon + BETA * kl + imitation, {**logs, "imitation": imitation.item()}


def joint_loss(model: LAW, data: Transitions, generator: torch.Generator):
    """Stage 1: RSSM + inverse latent actions + imitation, jointly."""
    return rssm_loss(model, data, generator, from_actions=False)


def finetune_loss(model: LAW, data: Transitions, generator: torch.Generator):
    """Stage 2: real-action latents, plus the inverse model's on the same kind of batch so that the
    RSSM keeps modelling the latent actions it was trained with (only RSSM and encoder train)."""
    from_actions, logs = rssm_loss(model, data, generator, from_actions=True)
    from_inverse, inverse_logs = rssm_loss(model, data, generator, from_actions=False)
    return from_actions + from_inverse, {**logs, "recon_inverse": inverse_logs["recon"]}


def frame_controller_loss(model: LAW, data: Transitions, generator: torch.Generator):
    """Stage 3: the frame-reading controller regresses the frozen inverse model's latents (L2), on every
    transition of the window."""
    x, a, _, _ = data.batch(48, generator)  # (B,4,16,32), (B,3,A)
    x_t, x_next = x[:, :-1].flatten(0, 1), x[:, 1:].flatten(0, 1)  # (B·3,16,32)
    with torch.no_grad():
        target = model.idm_latent(x_t, x_next)  # (B·3, L)
    align = F.mse_loss(model.control(a.flatten(0, 1), x_t), target)
    return align, {"align": align.item()}


def fit_frame_controller(model: LAW, data: Transitions, steps: int, seed: int = 0) -> list:
    """Stage 3 (``frame_controller`` models): only the frame-reading controller trains."""
    return train(model.frame_encoder.parameters(), partial(frame_controller_loss, model, data), steps, lr=1e-3,
                 seed=3 + 100 * seed)


def fit_law(config: dict, data: Transitions, steps: int, seed: int = 0) -> tuple[LAW, dict[str, list]]:
    """Both stages, ``steps`` each, then the frame-reading controller's ``steps // 2`` where the config
    has one: (model, curves). ``seed``: the initialisation's and the batches' (0: the bundled checkpoints)."""
    torch.manual_seed(100 * seed)
    model = LAW(**config)
    model.normalizer.fit(data.a)
    joint_params = [p for n, p in model.named_parameters() if not n.startswith(("action_encoder", "frame_encoder"))]
    stage1 = train(joint_params, partial(joint_loss, model, data), steps, lr=1e-3, seed=1 + 100 * seed)
    finetune_params = [p for n, p in model.named_parameters()
                       if n.split(".")[0] in ("action_encoder", "cell", "prior", "post", "embed", "decoder")]
    stage2 = train(finetune_params, partial(finetune_loss, model, data), steps, lr=5e-4, seed=2 + 100 * seed)
    curves = {"1: RSSM + latent actions + imitation": stage1, "2: fine-tune on real actions": stage2}
    if model.frame_encoder is not None:
        curves["3: frame-reading controller"] = fit_frame_controller(model, data, steps // 2, seed)
    return model, curves


def train_law(name: str, config: dict, data: Transitions, held: Transitions, dataset: str, autoencoder,
              steps: int, extra_metrics: dict | None = None) -> dict:
    """``fit_law``'s stages, then the held-out numbers and the checkpoint ``name``."""
    model, curves = fit_law(config, data, steps)
    return finish(name, model, config, curves, ("loss", "recon", "rollout", "kl", "imitation", "align"), held,
                  dataset, autoencoder, extra_metrics)


def main(steps: int = STEPS) -> dict:
    """``law`` with ``steps`` per stage (3x the first recipe's 3,000: undertrained for planning)."""
    autoencoder = load_autoencoder()
    data = transitions("franka", autoencoder, window=3)
    held = transitions("franka", autoencoder, window=3, split="held_out")
    return train_law(NAME, CONFIG, data, held, "franka", autoencoder, steps)
