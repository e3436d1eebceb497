"""Train LaWM (posterior IDM + AdaLN decoder + auxiliary state head, then the adapter) and the LaWAM
policy on a LaWM whose latent spans one action chunk, with the "w/o LaWM" ablation beside it.

- ``lawm`` (the world-model suites' model) spans one recorded frame, so video prediction and planning
  can step it at the clips' frame rate.
- ``lawam`` embeds its own LaWM spanning H = ``CHUNK`` frames, the paper's fixed physical interval, and
  its expert generates the H actions between x_t and x_{t+H}.
Both LaWMs train one-step, teacher-forced (Eq. 4); ``rollout=True`` adds the 3-step rollout term the
other bundled world models use.
"""

from __future__ import annotations

import json
from functools import partial

import torch
import torch.nn.functional as F

from lawm_eval.data.generate.franka import FPS, GRASP_PHASES
from lawm_eval.metrics.stats import bootstrap_interval
from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.lawm import LaWAMPolicy, LaWM, kl_standard_normal
from lawm_eval.models.train.artifacts import baseline_dir, save_curve, save_golden
from lawm_eval.models.train.data import Transitions, transitions
from lawm_eval.models.train.evaluate import evaluate_held_out, finish, load_fixture
from lawm_eval.models.train.loop import train
from lawm_eval.models.train.losses import cross_augment, pairs, window_loss
from lawm_eval.models.zoo import load_autoencoder

NAME, POLICY = "lawm", "lawam"
# the adapter reads the current frame beside the actions: LaWM's latent depends on the scene, so an
# action-only adapter cannot follow it (held-out one-step MSE 0.0047 against the posterior's 0.0018)
CONFIG = {"dim": 64, "latent_dim": 16, "action_dim": 7, "state_dim": 7, "depth": 2, "horizon": 1, "state_adapter": True}
STEPS = 7200  # lawm's world-model steps: 3x the first recipe's 2,400 (undertrained for planning)
CHUNK = round(1.2 * FPS)  # the paper's 1.2 s robot-video horizon (App. C.5) at the clips' 4 fps: 5 frames
POLICY_CONFIG = {**CONFIG, "horizon": CHUNK, "state_adapter": False}  # lawam never uses the adapter
BETA, STATE_WEIGHT = 1e-5, 0.01  # β: KL (nats) vs a token MSE of ~5e-3; the state term stays auxiliary
SUBGOAL_WEIGHT = 10.0  # Eq. 5's subgoal term (token MSE ~1e-2) brought to the distillation term's scale
TASKS = ["move the arm around the cube", "pick up the cube"]


def state_stats(data: Transitions) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std of the training states, which standardise the state predictor's input and target."""
    return data.s.flatten(0, 1).mean(0), data.s.flatten(0, 1).std(0) + 1e-4


def world_loss(model: LaWM, data: Transitions, state_mean: torch.Tensor, state_std: torch.Tensor,
               generator: torch.Generator, augment: bool = False):
    """Stage 1 (Eq. 4): the horizon frame from a posterior sample, β·KL to N(0, I), and the auxiliary
    head (s_t, z) → s_{t+H} on standardised states. Windows of more than one transition add the
    rollout term (``window_loss``). ``augment`` (C.5): the posterior reads the window under one random
    appearance change and the decoder reads and predicts it under another, drawn independently, each
    the same for every frame of the window, so z cannot carry the view's appearance."""
    x, _, s, _ = data.batch(64, generator)  # (B,W+1,16,32), states (B,W+1,7)
    posterior_view = x
    if augment:
        posterior_view = cross_augment(x.transpose(0, 1), generator).transpose(0, 1)  # encoder view
        x = cross_augment(x.transpose(0, 1), generator).transpose(0, 1)  # decoder view
    mu, log_sigma = model.posterior_stats(*pairs(posterior_view))
    z = mu + torch.exp(log_sigma) * torch.randn(mu.shape, generator=generator)
    recon, logs = window_loss(model, x, z.view(len(x), -1, z.shape[-1]))
    kl = kl_standard_normal(mu, log_sigma)
    s_t, s_next = pairs((s - state_mean) / state_std)
    state = F.mse_loss(model.predict_state(s_t, z), s_next)
    return recon + BETA * kl + STATE_WEIGHT * state, {**logs, "kl": kl.item(), "state": state.item()}


def adapter_loss(model: LaWM, data: Transitions, generator: torch.Generator):
    """Stage 2: the adapter regresses the posterior mean of the frozen LaWM (L2)."""
    x, a, _, _ = data.batch(64, generator)
    with torch.no_grad():
        target = model.idm_latent(x[:, 0], x[:, 1])
    return F.mse_loss(model.control(a[:, 0], x[:, 0]), target), {}


def policy_loss(policy: LaWAMPolicy, world: LaWM, data: Transitions, generator: torch.Generator):
    """Eq. 5: the latent policy distils the frozen LaWM's posterior mean, its subgoal LaWM(x_t, ẑ) is
    supervised by the true horizon frame (through the frozen LaWM), and the expert is trained by flow
    matching on the chunk, reading the subgoal detached."""
    x, a, _, task = data.batch(64, generator)  # (B,2,16,32), chunks (B,1,H·A)
    with torch.no_grad():
        z_target = world.idm_latent(x[:, 0], x[:, 1])
    z, subgoal = policy.subgoal(x[:, 0], task)
    distill = F.mse_loss(z, z_target)
    subgoal_error = F.mse_loss(subgoal, x[:, 1])
    chunk = a[:, 0].view(len(a), policy.chunk, policy.action_dim)
    flow = policy.flow_loss(policy.condition(x[:, 0], subgoal, task), chunk, generator)
    loss = distill + SUBGOAL_WEIGHT * subgoal_error + flow
    return loss, {"distill": distill.item(), "subgoal": subgoal_error.item(), "flow": flow.item()}


def train_world(steps: int = 2400, config: dict | None = None, data: Transitions | None = None,
                rollout: bool = False, seed: int = 0, augment: bool = False) -> tuple[LaWM, dict]:
    """Stage 1 (world model, IDM, state head), then the adapter, on the Franka clips. ``seed``: the
    initialisation's and the batches' (0: the bundled checkpoints); ``augment``: C.5's views."""
    config = config or CONFIG
    autoencoder = load_autoencoder()
    window = 3 if rollout else 1
    if data is None:
        data = transitions("franka", autoencoder, window=window, stride=config["horizon"])
    torch.manual_seed(100 * seed)
    model = LaWM(**config)
    model.normalizer.fit(data.a.view(-1, config["action_dim"]))
    world = train([p for n, p in model.named_parameters() if not n.startswith("adapter")],
                  partial(world_loss, model, data, *state_stats(data), augment=augment), steps, lr=1e-3, seed=1 + 100 * seed)
    adapter = train(model.adapter.parameters(), partial(adapter_loss, model, data), steps // 2, lr=1e-3,
                    seed=2 + 100 * seed)
    return model, {"1: world model": world, "2: adapter": adapter}


def main(steps: int = STEPS, policy_steps: int | None = None) -> dict:
    """``lawm`` (one frame) for the world-model suites, then ``lawam`` on its own chunk-horizon LaWM with
    ``policy_steps`` (default: a third of ``steps``, 2,400). Returns ``lawm``'s held-out numbers."""
    metrics = train_lawm(steps)
    train_lawam(policy_steps if policy_steps is not None else max(1, steps // 3))
    return metrics


def train_lawm(steps: int = STEPS) -> dict:
    """``lawm`` alone: ``steps`` world-model steps (3× the first recipe's 2,400; the model was undertrained
    for planning), then ``steps // 2`` adapter steps."""
    autoencoder = load_autoencoder()
    model, curves = train_world(steps)
    held = transitions("franka", autoencoder, window=3, split="held_out")
    return finish(NAME, model, CONFIG, curves, ("loss", "recon", "kl", "state"), held, "franka", autoencoder)


def lawam_policy(world: LaWM, config: dict, data: Transitions, use_subgoal: bool = True, tasks: int = len(TASKS),
                 chunk: int | None = None) -> LaWAMPolicy:
    """A LaWAM policy on a frozen copy of ``world`` (built from ``config``), its action normaliser
    fitted to ``data``."""
    policy = LaWAMPolicy(config, tasks=tasks, use_subgoal=use_subgoal, chunk=chunk)
    policy.world.load_state_dict(world.state_dict())
    for p in policy.world.parameters():
        p.requires_grad_(False)
    policy.action_normalizer.fit(data.a.reshape(-1, policy.action_dim))
    return policy


def scripted(data: Transitions, action_dim: int = 7) -> torch.Tensor:
    """(N,) bool: windows inside the scripted approach, descent and close of the pick-up episodes, which
    the first frame determines (the lift after them goes to a randomly offset target, the rest of every
    episode to random targets)."""
    if data.start is None:
        raise ValueError("scripted(): the windows carry no start step (Transitions.start)")
    span = (data.x.shape[1] - 1) * (data.a.shape[-1] // action_dim)  # recorded steps a window covers
    determined = sum(GRASP_PHASES[:3])  # above the cube, descending, closing
    return (data.task == TASKS.index("pick up the cube")) & (data.start + span <= determined)


@torch.no_grad()
def window_errors(policy: LaWAMPolicy, held: Transitions, median: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per held-out window (N,), the chunk L1 in real units (mean over steps and dims) of the deterministic
    chunk, of one sampled chunk (what the served policy acts), of the median training chunk, and of the
    expert given the IDM's subgoal (the true future: a diagnostic)."""
    x_t, x_goal = held.x[:, 0], held.x[:, 1]
    target = held.a[:, 0].view(len(held), policy.chunk, policy.action_dim)  # (N,H,A)
    idm_subgoal = policy.world.predict_next(x_t, policy.world.idm_latent(x_t, x_goal))
    chunks = {"chunk_l1": policy.act_tokens(x_t, held.task),
              "sampled_chunk_l1": policy.act_tokens(x_t, held.task, torch.Generator().manual_seed(0)),
              "median_chunk_l1": median.expand_as(target),
              "idm_subgoal_chunk_l1": policy.generate(x_t, idm_subgoal, held.task)}
    return {key: (chunk - target).abs().mean((1, 2)) for key, chunk in chunks.items()}


@torch.no_grad()
def chunk_errors(policy: LaWAMPolicy, held: Transitions, errors: dict[str, torch.Tensor]) -> dict[str, float]:
    """``window_errors`` averaged over all, the scripted and the other windows; the subgoal's token MSE
    against copy-last."""
    mask = scripted(held, policy.action_dim)
    out = {}
    for key, per_window in errors.items():
        out[key] = float(per_window.mean())
        out[f"scripted_{key}"] = float(per_window[mask].mean())
        out[f"free_{key}"] = float(per_window[~mask].mean())
    x_t, x_goal = held.x[:, 0], held.x[:, 1]
    out["subgoal_token_mse"] = float(F.mse_loss(policy.subgoal(x_t, held.task)[1], x_goal))
    out["copy_last_token_mse"] = float(F.mse_loss(x_t, x_goal))
    out["scripted_windows"], out["held_out_windows"] = int(mask.sum()), len(held)
    return out


def paired_gaps(first: torch.Tensor, second: torch.Tensor, mask: torch.Tensor) -> dict[str, list[float]]:
    """Mean per-window difference first − second with its 95% bootstrap interval, over all windows and
    over the scripted ones: [mean, low, high]."""
    gap = (first - second).numpy()
    return {"all": list(bootstrap_interval(gap)), "scripted": list(bootstrap_interval(gap[mask.numpy()]))}


def train_lawam(steps: int = 2400) -> dict:
    """LaWAM on a LaWM spanning one chunk: stage 1 as ``lawm``'s, then Eq. 5; the same policy without
    the subgoal stream (the paper's "w/o LaWM") is trained and measured beside it, not saved."""
    autoencoder = load_autoencoder()
    data = transitions("franka", autoencoder, window=1, stride=CHUNK)  # x (N,2,16,32), a (N,1,H·A)
    held = transitions("franka", autoencoder, window=1, stride=CHUNK, split="held_out")
    world, world_curves = train_world(steps, POLICY_CONFIG, data)
    world.eval()
    median = data.a[:, 0].view(len(data), CHUNK, -1).median(0).values  # (H,A)
    runs, curves = {}, {}
    for label, use_subgoal in (("LaWAM", True), ("without LaWM", False)):
        torch.manual_seed(3)  # both arms start from the same weights
        policy = lawam_policy(world, POLICY_CONFIG, data, use_subgoal)
        curves[label] = train([p for p in policy.parameters() if p.requires_grad],
                              partial(policy_loss, policy, world, data), steps, lr=1e-3, seed=4)
        policy.eval()
        runs[label] = (policy, window_errors(policy, held, median))
    policy, errors = runs["LaWAM"]
    ablation_policy, ablation_errors = runs["without LaWM"]
    full, ablation = chunk_errors(policy, held, errors), chunk_errors(ablation_policy, held, ablation_errors)
    mask = scripted(held)
    metrics = {"chunk_l1": full["chunk_l1"], "median_chunk_l1": full["median_chunk_l1"],
               "without_lawm_chunk_l1": ablation["chunk_l1"], "idm_subgoal_chunk_l1": full["idm_subgoal_chunk_l1"],
               "chunk_frames": CHUNK, "lawam": full, "without_lawm": ablation,
               "gap_to_median": paired_gaps(errors["chunk_l1"], errors["median_chunk_l1"], mask),
               "gap_to_without_lawm": paired_gaps(errors["chunk_l1"], ablation_errors["chunk_l1"], mask),
               "sampled_gap_to_without_lawm": paired_gaps(errors["sampled_chunk_l1"],
                                                          ablation_errors["sampled_chunk_l1"], mask),
               "lawm_chunk_world": evaluate_held_out(world, held)}
    save_model(baseline_dir(POLICY) / "model.pt", POLICY, policy, {"lawm_config": POLICY_CONFIG, "tasks": len(TASKS)},
               {"metrics": metrics, "tasks": TASKS})
    save_curve(POLICY, {**{f"LaWM (H={CHUNK}) {k}": v for k, v in world_curves.items()}, **curves},
               ("loss", "recon", "state", "distill", "subgoal", "flow"))
    fixture = load_fixture("franka")
    with torch.no_grad():
        x = autoencoder.encode(torch.from_numpy(fixture["frames"]))[:, 0]
        chunks = policy.act_tokens(x, torch.zeros(len(x), dtype=torch.long))
    save_golden(POLICY, {"first_chunk": chunks[0].tolist(), "dataset": "franka"})
    (baseline_dir(POLICY) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
