"""LAW as its paper uses it (§III): pretrain an imitation policy on action-free video through a world
model, then fine-tune it on a few labelled demonstrations and evaluate it as a policy, on LIBERO:

    python -m lawm_eval.models.train law_policy_libero

The policy network is ``libero_bc``'s (agentview 64² keypoints + task embedding + state → head), so
the three arms below differ only in how its weights start:

1. **LAW** (``law_policy_libero``, bundled): the policy's head emits ``LATENTS`` latent actions of
   ``LATENT_DIM`` (tanh) for the current frame, one per transition of ``STRIDE`` recorded steps; they
   drive ``law``'s RSSM (posterior filtering of the next ``LATENTS`` frames' ``visual_ae_libero``
   tokens, loss = reconstruction + β·KL, Eq. 5), and the world-model loss trains the policy end to end
   (§III-A, Fig. 2).
2. **IDM-latent behaviour cloning** (the paper's contrast, §V R4: villa-X / LAPA-style): the RSSM is
   driven by an inverse model's latents u = IDM(x_k, x_{k+1}) and the policy regresses them, detached.
3. **no pretraining**: the same policy from its initial weights.

Then each is fine-tuned on the labelled demos of initial states ``LABELLED_INITS`` only (LAW fine-tunes
on a downstream set far smaller than its video): the head's last layer re-initialised to emit an
8-action chunk, L1 on standardised actions with random shift, all weights training (§III-B; the world
model is no longer used). Pretraining reads every training demo's frames (initial states 10-27, failed
episodes included) and none of their actions. Held out: initial states 28-29 (chunk L1 beside the
median action's); before fine-tuning, the canonical correlations between each pretrained policy's
first latent and the true actions of that transition, and the untrained policy's (LAW Table III). The two contrasts' checkpoints go
to ``$LAWM_EVAL_CACHE/checkpoints/law_policy/`` (``model=law_policy_libero model.checkpoint=...``).
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lawm_eval.data.recipes import ensure_dataset
from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.law import LAW
from lawm_eval.models.libero_bc import LiberoBC
from lawm_eval.models.train import libero_bc as bc
from lawm_eval.models.train import libero_world_models as libero
from lawm_eval.models.train.artifacts import baseline_dir, save_curve, save_golden
from lawm_eval.models.train.data import encode_frames
from lawm_eval.models.train.law import BETA
from lawm_eval.models.train.loop import train
from lawm_eval.models.zoo import load_autoencoder

NAME = "law_policy_libero"
STRIDE = libero.STRIDE  # recorded steps per latent action: one executed chunk
LATENTS, LATENT_DIM = 3, 8  # latent actions per policy call (transitions the RSSM filters)
RSSM = {"hidden": 128, "variables": 16, "classes": 16, "latent_dim": LATENT_DIM, "chunk": LATENTS,
        "action_dim": 7 * STRIDE}  # law's RSSM (its imitation and action-encoder modules stay unused)
LABELLED_INITS = (10, 11, 12)  # the fine-tuning demos: 3 of the 18 training initial states per task
PRETRAIN_STEPS, FINETUNE_STEPS = 3000, 3000
ARMS = ("law", "idm", "scratch")


def contrast_path(arm: str) -> Path:
    from lawm_eval.paths import cache_dir

    return cache_dir() / "checkpoints" / "law_policy" / f"{arm}.pt"


@dataclass
class VideoSamples:
    """Action-free pretraining samples: the policy's input at t and the tokens of t, t+S, ..., t+L·S."""

    frames: torch.Tensor  # (N, 3, 64, 64) uint8
    states: torch.Tensor  # (N, 8)
    tasks: torch.Tensor  # (N,)
    tokens: torch.Tensor  # (N, L+1, 16, 32)
    actions: torch.Tensor  # (N, 7): the first transition's actions summed, for the CCA only (never trained on)

    def batch(self, size: int, generator: torch.Generator):
        idx = torch.randint(0, len(self.states), (size,), generator=generator)
        frames = bc.random_shift(self.frames[idx].float() / 255.0, bc.SHIFT, generator)
        return frames, self.tasks[idx], self.states[idx], self.tokens[idx]


def video_samples(episodes: list[bc.DemoEpisode], tasks: list[str], autoencoder, every: int = 1) -> VideoSamples:
    span = LATENTS * STRIDE
    frames, states, task_ids, tokens, actions = [], [], [], [], []
    for episode in episodes:
        encoded = encode_frames(autoencoder, episode.frames)  # (T+1, 16, 32)
        for t in range(0, len(episode.frames) - span, every):
            frames.append(episode.frames[t])
            states.append(episode.states[t])
            task_ids.append(tasks.index(episode.task))
            tokens.append(encoded[t:t + span + 1:STRIDE])
            actions.append(episode.actions[t:t + STRIDE].sum(0))
    return VideoSamples(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous(),
                        torch.from_numpy(np.stack(states)), torch.tensor(task_ids), torch.stack(tokens),
                        torch.from_numpy(np.stack(actions)))


class Pretraining(nn.Module):
    """The policy with a latent head, and the RSSM its latents (or an inverse model's) drive."""

    def __init__(self, policy: LiberoBC, world: LAW):
        super().__init__()
        self.policy, self.world = policy, world
        policy.head[-1] = nn.Linear(policy.head[-1].in_features, LATENTS * LATENT_DIM)

    def latents(self, frames: torch.Tensor, tasks: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """(B, L, D) in [-1, 1]: the policy's latent actions for the current frame."""
        return torch.tanh(self.policy.head(self.policy.features(frames, tasks, states))).view(-1, LATENTS, LATENT_DIM)

    def loss(self, data: VideoSamples, end_to_end: bool, generator: torch.Generator):
        frames, tasks, states, x = data.batch(bc.BATCH, generator)
        predicted = self.latents(frames, tasks, states)
        if end_to_end:  # LAW: the world model's loss trains the policy's latents
            recon, kl = self.world.filtering_loss(x, predicted, generator)
            return recon + BETA * kl, {"recon": recon.item(), "kl": kl.item()}
        inverse = torch.stack([self.world.idm_latent(x[:, k], x[:, k + 1]) for k in range(LATENTS)], dim=1)
        recon, kl = self.world.filtering_loss(x, inverse, generator)
        imitation = F.mse_loss(predicted, inverse.detach())  # behaviour cloning of the IDM's latents
        return recon + BETA * kl + imitation, {"recon": recon.item(), "kl": kl.item(), "imitation": imitation.item()}


@torch.no_grad()
def latent_action_cca(pretrained: Pretraining, held: VideoSamples) -> dict[str, float]:
    """Canonical correlations between the pretrained policy's first latent and the true action of that
    transition (its 8 recorded actions summed: the net pose change and gripper), on held-out samples
    (LAW Table III)."""
    from lawm_eval.metrics.latent import canonical_correlations

    frames = held.frames.float() / 255.0
    latents = torch.cat([pretrained.latents(frames[i:i + 256], held.tasks[i:i + 256], held.states[i:i + 256])[:, 0]
                         for i in range(0, len(frames), 256)])
    correlations = canonical_correlations(latents.numpy(), held.actions.numpy())
    return {"cca_mean": float(np.mean(correlations)), "cca_first": float(correlations[0])}


def pretrain(arm: str, tasks: list[str], video: VideoSamples, held_video: VideoSamples, labelled: bc.ChunkSamples,
             steps: int) -> tuple[LiberoBC, list, dict]:
    """The policy network after ``arm``'s pretraining (its head's last layer still the latent one), the
    curve and the CCA numbers."""
    torch.manual_seed(0)  # every arm starts from the same policy weights
    policy = LiberoBC(tasks, **bc.CONFIG)
    bc.fit_statistics(policy, labelled)
    if arm == "scratch":  # its CCA: the untrained latent head's (how much chance alone gives)
        return policy, [], latent_action_cca(Pretraining(copy.deepcopy(policy), LAW(**RSSM)).eval(), held_video)
    torch.manual_seed(1)
    model = Pretraining(policy, LAW(**RSSM))
    params = [p for n, p in model.named_parameters() if not n.startswith(("world.imitation", "world.action_encoder"))
              and (arm == "idm" or not n.startswith("world.inverse"))]
    curve = train(params, partial(model.loss, video, arm == "law"), steps, lr=1e-3, seed=2, log_every=50)
    model.eval()
    return policy, curve, latent_action_cca(model, held_video)


def fine_tune(policy: LiberoBC, labelled: bc.ChunkSamples, steps: int) -> list:
    """§III-B: the head's last layer re-initialised to emit the action chunk, then every weight trains."""
    torch.manual_seed(4)
    policy.head[-1] = nn.Linear(policy.head[-1].in_features, bc.CONFIG["chunk"] * 7)
    policy.train()
    curve = train(policy.parameters(), partial(bc.bc_loss, policy, labelled), steps, lr=1e-3, seed=5, log_every=50,
                  weight_decay=1e-4)
    policy.eval()
    return curve


def main(pretrain_steps: int = PRETRAIN_STEPS, steps: int = FINETUNE_STEPS) -> dict:
    tic = time.monotonic()
    episodes = bc.load_demos(ensure_dataset(libero.DATASET), 64)
    tasks = sorted({e.task for e in episodes})
    video_eps, held_eps = libero.split(episodes)  # every training demo's frames, failures included
    _, held_good = bc.split(episodes)
    labelled_eps = [e for e in video_eps if e.meta.get("success") and e.meta["init_state"] in LABELLED_INITS]
    autoencoder = load_autoencoder(libero.AUTOENCODER)
    video = video_samples(video_eps, tasks, autoencoder)
    held_video = video_samples(held_eps, tasks, autoencoder, every=STRIDE)
    labelled = bc.chunk_samples(labelled_eps, tasks, bc.CONFIG["chunk"])
    held = bc.chunk_samples(held_good, tasks, bc.CONFIG["chunk"])
    median = labelled.chunks[:, 0].median(0).values
    config = {**bc.CONFIG, "tasks": tasks}
    metrics: dict = {"labelled_episodes": len(labelled_eps), "labelled_samples": len(labelled.states),
                     "video_episodes": len(video_eps), "video_samples": len(video.states),
                     "pretrain_steps": pretrain_steps, "finetune_steps": steps}
    curves = {}
    for arm in ARMS:
        start = time.monotonic()
        policy, pre_curve, cca = pretrain(arm, tasks, video, held_video, labelled, pretrain_steps)
        tune_curve = fine_tune(policy, labelled, steps)
        numbers = {**bc.chunk_errors(policy, held, median), **cca, "seconds": round(time.monotonic() - start, 1)}
        metrics.update({f"{arm}_{key}": value for key, value in numbers.items()})
        if pre_curve:
            curves[f"{arm}: pretraining"] = pre_curve
        curves[f"{arm}: fine-tuning"] = tune_curve
        path = baseline_dir(NAME) / "model.pt" if arm == "law" else contrast_path(arm)
        save_model(path, NAME, policy, config, {"metrics": numbers, "arm": arm})
        if arm == "law":
            save_golden(NAME, {**bc.bc_golden(policy)})
        print(arm, json.dumps(numbers), flush=True)
    metrics["train_seconds_total_run"] = round(time.monotonic() - tic, 1)
    save_curve(NAME, curves)
    (baseline_dir(NAME) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
