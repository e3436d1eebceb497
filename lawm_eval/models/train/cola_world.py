"""Train the CoLA-World two-stage baseline, then CoLA-World (warm-up against the frozen world
model, then joint training)."""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F

from lawm_eval.models.cola_world import CoLAWorld
from lawm_eval.models.lam_base import AdaLNPredictor
from lawm_eval.models.train.data import transitions
from lawm_eval.models.train.evaluate import finish
from lawm_eval.models.train.loop import train
from lawm_eval.models.train.losses import pairs, window_loss
from lawm_eval.models.zoo import load_autoencoder

CONFIG = {"dim": 64, "code_dim": 16, "codes": 32, "latent_tokens": 2, "action_dim": 7, "depth": 2,
          "decoder_depth": 2}
RESET_EVERY = 200


class _Through:
    """Rolls out through another predictor (the two-stage LAM's light decoder)."""

    def __init__(self, predictor):
        self.predictor = predictor

    def predict_next(self, x_t, z):
        return self.predictor(x_t, z)

    def rollout_train(self, x0, latents):
        x, out = x0, []
        for t in range(latents.shape[1]):
            x = self.predictor(x, latents[:, t])
            out.append(x)
        return torch.stack(out, dim=1)


def lam_step(model: CoLAWorld, world, data, generator: torch.Generator):
    """Loss of the IDM + VQ through ``world`` (the model's own world model or a light decoder)."""
    x, _, _, _ = data.batch(64, generator)
    x_t, x_next = pairs(x)
    z, _, vq_loss = model.quantised_latent(x_t, x_next)
    recon, logs = window_loss(_Through(world), x, z.view(len(x), -1, z.shape[-1]))
    return recon + vq_loss, {**logs, "vq": vq_loss.item()}


def code_reset(model: CoLAWorld, data, seed: int):
    generator = torch.Generator().manual_seed(seed)

    def on_step(step: int) -> None:
        if step == 1 or step % RESET_EVERY == 0:  # step 1: initialise the codebook from data
            x, _, _, _ = data.batch(128, generator)
            with torch.no_grad():
                recent = model.idm(*pairs(x)).flatten(0, 1)
            model.vq.reset_dead_codes(recent, generator)

    return on_step


def world_loss(model: CoLAWorld, data, generator: torch.Generator):
    """Two-stage baseline, stage 2: the world model on the frozen LAM's quantised latents."""
    x, _, _, _ = data.batch(64, generator)
    with torch.no_grad():
        z = model.idm_latent(*pairs(x))
    return window_loss(model, x, z.view(len(x), -1, z.shape[-1]))


def adapter_loss(model: CoLAWorld, data, generator: torch.Generator):
    """The adapter regresses the frozen IDM's quantised latents of every transition (L2)."""
    x, a, _, _ = data.batch(64, generator)
    with torch.no_grad():
        target = model.idm_latent(*pairs(x))
    return F.mse_loss(model.adapter(model.normalizer(a.flatten(0, 1))), target), {}


def train_adapter(model: CoLAWorld, data, steps: int) -> list:
    return train(model.adapter.parameters(), partial(adapter_loss, model, data), steps, lr=1e-3, seed=9)


def two_stage(steps: int, autoencoder, data, held) -> tuple[CoLAWorld, dict]:
    torch.manual_seed(0)
    model = CoLAWorld(**CONFIG)
    model.normalizer.fit(data.a)
    light = AdaLNPredictor(64, model.latent_dim, depth=1)  # the LAM's own decoder, dropped afterwards
    lam_params = list(model.idm.parameters()) + list(model.vq.parameters()) + list(light.parameters())
    stage1 = train(lam_params, lambda g: lam_step(model, light, data, g), steps, seed=1,
                   on_step=code_reset(model, data, 11))
    stage2 = train(model.world.parameters(), partial(world_loss, model, data), steps, seed=2)
    stage3 = train_adapter(model, data, steps // 2)
    curves = {"1: LAM + light decoder": stage1, "2: world model on frozen latents": stage2, "3: adapter": stage3}
    metrics = finish("cola_two_stage", model, CONFIG, curves, ("loss", "recon", "rollout", "vq"), held, "franka", autoencoder,
                     {"codebook_usage": codebook_usage(model, held)})
    return model, metrics


def codebook_usage(model: CoLAWorld, held) -> dict:
    from lawm_eval.metrics.latent import codebook_stats

    with torch.no_grad():
        codes = model.codes(held.x[:, 0], held.x[:, 1]).flatten()
    return codebook_stats(torch.bincount(codes, minlength=CONFIG["codes"]).numpy())


def main(steps: int = 2000) -> dict:
    autoencoder = load_autoencoder()
    data = transitions("franka", autoencoder, window=3)
    held = transitions("franka", autoencoder, window=3, split="held_out")
    pretrained, _ = two_stage(steps, autoencoder, data, held)

    torch.manual_seed(100)
    model = CoLAWorld(**CONFIG)
    model.normalizer.fit(data.a)
    model.world.load_state_dict(pretrained.world.state_dict())
    warmup = train(list(model.idm.parameters()) + list(model.vq.parameters()),
                   lambda g: lam_step(model, model.world, data, g), steps // 2, seed=3,
                   on_step=code_reset(model, data, 12))
    joint = train(list(model.idm.parameters()) + list(model.vq.parameters()) + list(model.world.parameters()),
                  lambda g: lam_step(model, model.world, data, g), steps, lr=5e-4, seed=4,
                  on_step=code_reset(model, data, 13))
    adapter = train_adapter(model, data, steps // 2)
    curves = {"1: warm-up (world model frozen)": warmup, "2: joint": joint, "3: adapter": adapter}
    return finish("cola_world", model, CONFIG, curves, ("loss", "recon", "rollout", "vq"), held, "franka", autoencoder,
                  {"codebook_usage": codebook_usage(model, held)})
