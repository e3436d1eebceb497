"""Train LaWM (posterior IDM + AdaLN decoder + state predictor, then the adapter) and the
LaWAM-style policy on top of the frozen LaWM."""

from __future__ import annotations

import json
from functools import partial

import torch
import torch.nn.functional as F

from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.lawm import LaWAMPolicy, LaWM, kl_standard_normal
from lawm_eval.models.train.artifacts import baseline_dir, save_curve, save_golden
from lawm_eval.models.train.data import Transitions, transitions
from lawm_eval.models.train.evaluate import finish, load_fixture
from lawm_eval.models.train.loop import train
from lawm_eval.models.train.losses import pairs, window_loss
from lawm_eval.models.zoo import load_autoencoder

NAME, POLICY = "lawm", "lawam"
CONFIG = {"dim": 64, "latent_dim": 16, "action_dim": 7, "state_dim": 7, "depth": 2}
BETA, STATE_WEIGHT = 1e-5, 0.01  # β: KL (nats) vs a token MSE of ~5e-3; the state term (≈0.1) stays auxiliary
TASKS = ["move the arm around the cube", "pick up the cube"]


def state_stats(data: Transitions) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std of the training states, which standardise the state predictor's target."""
    return data.s.flatten(0, 1).mean(0), data.s.flatten(0, 1).std(0) + 1e-4


def world_loss(model: LaWM, data: Transitions, state_mean: torch.Tensor, state_std: torch.Tensor,
               generator: torch.Generator):
    """Stage 1: window reconstruction from a posterior sample, β·KL to N(0, I), and the auxiliary
    standardised next-state prediction."""
    x, _, s, _ = data.batch(64, generator)  # (B,4,16,32), states (B,4,7)
    x_t, x_next = pairs(x)
    mu, log_sigma = model.posterior_stats(x_t, x_next)
    z = mu + torch.exp(log_sigma) * torch.randn(mu.shape, generator=generator)
    recon, logs = window_loss(model, x, z.view(len(x), -1, z.shape[-1]))
    kl = kl_standard_normal(mu, log_sigma)
    state_target = (s[:, 1:].flatten(0, 1) - state_mean) / state_std
    state = F.mse_loss(model.predict_state(model.decoder(x_t, z)), state_target)
    return recon + BETA * kl + STATE_WEIGHT * state, {**logs, "kl": kl.item(), "state": state.item()}


def adapter_loss(model: LaWM, data: Transitions, generator: torch.Generator):
    """Stage 2: the adapter regresses the posterior mean of the frozen LaWM (L2)."""
    x, a, _, _ = data.batch(64, generator)
    with torch.no_grad():
        target = model.idm_latent(x[:, 0], x[:, 1])
    return F.mse_loss(model.control(a[:, 0], None), target), {}


def policy_loss(policy: LaWAMPolicy, world: LaWM, data: Transitions, generator: torch.Generator):
    """LaWAM: the latent policy regresses the frozen LaWM's posterior mean, and the action head
    (on observation + subgoal) the normalised real action (L1)."""
    x, a, _, task = data.batch(64, generator)
    with torch.no_grad():
        z_target = world.idm_latent(x[:, 0], x[:, 1])
    z, action = policy(x[:, 0], task)
    latent = F.mse_loss(z, z_target)
    act = F.l1_loss(action, policy.action_normalizer(a[:, 0]))
    return latent + act, {"latent": latent.item(), "action_l1": act.item()}


def main(steps: int = 2400) -> dict:
    autoencoder = load_autoencoder()
    data = transitions("franka", autoencoder, window=3)
    held = transitions("franka", autoencoder, window=3, split="held_out")
    torch.manual_seed(0)
    model = LaWM(**CONFIG)
    model.normalizer.fit(data.a)
    state_mean, state_std = state_stats(data)
    stage1 = train([p for n, p in model.named_parameters() if not n.startswith("adapter")],
                   partial(world_loss, model, data, state_mean, state_std), steps, lr=1e-3, seed=1)
    stage2 = train(model.adapter.parameters(), partial(adapter_loss, model, data), steps // 2, lr=1e-3, seed=2)
    metrics = finish(NAME, model, CONFIG, {"1: world model": stage1, "2: adapter": stage2},
                     ("loss", "recon", "rollout", "kl", "state"), held, "franka", autoencoder)
    train_policy(model, data, held, autoencoder, steps)
    return metrics


def lawam_policy(world: LaWM, data: Transitions) -> LaWAMPolicy:
    """A LaWAM policy on a frozen copy of ``world``, its action normaliser fitted to ``data``."""
    policy = LaWAMPolicy(CONFIG, tasks=len(TASKS))
    policy.world.load_state_dict(world.state_dict())
    for p in policy.world.parameters():
        p.requires_grad_(False)
    policy.action_normalizer.fit(data.a)
    return policy


def train_policy(world: LaWM, data, held, autoencoder, steps: int) -> dict:
    """LaWAM: latent policy (to the posterior mean) + action head on the frozen LaWM's subgoal."""
    policy = lawam_policy(world, data)
    curve = train([p for p in policy.parameters() if p.requires_grad], partial(policy_loss, policy, world, data),
                  steps, lr=1e-3, seed=4)
    policy.eval()
    with torch.no_grad():
        predicted = policy.act_tokens(held.x[:, 0], held.task)[:, 0]
        l1 = float((predicted - held.a[:, 0]).abs().mean())
        baseline = float((held.a[:, 0] - data.a[:, 0].median(0).values).abs().mean())
        fixture = load_fixture("franka")
        x = autoencoder.encode(torch.from_numpy(fixture["frames"]))[:, 0]
        golden_actions = policy.act_tokens(x, torch.zeros(len(x), dtype=torch.long))[:, 0]
        golden_l1 = float((golden_actions - torch.from_numpy(fixture["actions"][:, 0])).abs().mean())
    metrics = {"held_out_action_l1": l1, "median_action_l1": baseline}
    save_model(baseline_dir(POLICY) / "model.pt", POLICY, policy, {"lawm_config": CONFIG, "tasks": len(TASKS)},
               {"metrics": metrics, "tasks": TASKS})
    save_curve(POLICY, {"LaWAM policy": curve}, ("loss", "latent", "action_l1"))
    save_golden(POLICY, {"action_l1": golden_l1, "first_action": golden_actions[0].tolist(), "dataset": "franka"})
    (baseline_dir(POLICY) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
