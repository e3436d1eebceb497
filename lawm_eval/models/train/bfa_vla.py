"""Train the BFA VLA (``models/bfa_vla.py``) on the ``bfa`` recipe's scripted rollouts.

Every second step t of every training episode is a sample: the head-camera frame, the instruction and
the proprio state at t, and the next p = 100 actions (past the episode's end the last action repeats).
All rollouts are used, successful or not, as LAC-WM's VLA is trained on the BFA dataset (20 %
successful, App. A.3). The last ``held_out`` episodes measure the chunk error of the mean of 8 samples,
of one sample, and of holding the current state (the do-nothing chunk).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from lawm_eval.data.recipes import RECIPES
from lawm_eval.models.bfa_vla import KEY_EVERY, BFAFlowVLA, vocabulary
from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.train.artifacts import baseline_dir, save_curve, save_golden
from lawm_eval.models.train.data import load_arrays
from lawm_eval.models.train.loop import train

NAME = "vla_bfa"
DATASET = "bfa"
HORIZON = 100  # p (LAC-WM §4.4)
CONFIG = {"action_dim": 25, "horizon": HORIZON, "dim": 128, "hidden": 384, "steps": 10}
STRIDE = 2  # every second step is a training sample
BATCH = 64


@dataclass
class ChunkSamples:
    frames: torch.Tensor  # (N, 3, 64, 64) uint8
    states: torch.Tensor  # (N, 25)
    chunks: torch.Tensor  # (N, p, 25)
    instructions: list[str]

    def batch(self, size: int, generator: torch.Generator):
        idx = torch.randint(0, len(self.states), (size,), generator=generator)
        return (self.frames[idx].float() / 255.0, [self.instructions[i] for i in idx.tolist()],
                self.states[idx], self.chunks[idx])


def chunk_samples(episodes: range, arrays, horizon: int = HORIZON, stride: int = STRIDE) -> ChunkSamples:
    frames, states, chunks, texts = [], [], [], []
    for e in episodes:
        actions = arrays.actions[e][:-1]  # (T - 1, 25): the last row only repeats the one before
        padded = np.concatenate([actions, np.repeat(actions[-1:], horizon, axis=0)])
        for t in range(0, len(actions), stride):
            frames.append(arrays.frames[e][t])
            states.append(arrays.states[e][t])
            chunks.append(padded[t:t + horizon])
            texts.append(arrays.tasks[e])
    return ChunkSamples(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous(),
                        torch.from_numpy(np.stack(states)).float(), torch.from_numpy(np.stack(chunks)).float(), texts)


def fit_statistics(policy: BFAFlowVLA, data: ChunkSamples) -> None:
    policy.state_mean.copy_(data.states.mean(0))
    policy.state_std.copy_(data.states.std(0).clamp(min=1e-3))
    keys = data.chunks[:, KEY_EVERY - 1::KEY_EVERY] - data.states[:, None]  # (N, K, A)
    policy.offset_std.copy_(keys.std(0).clamp(min=1e-3))


def flow_loss(policy: BFAFlowVLA, data: ChunkSamples, generator: torch.Generator):
    frames, texts, states, chunks = data.batch(BATCH, generator)
    return policy.loss(frames, texts, states, chunks, generator), {}


@torch.no_grad()
def chunk_errors(policy: BFAFlowVLA, held: ChunkSamples, samples: int = 8, limit: int = 256) -> dict[str, float]:
    """Mean |error| over the chunk of: the mean of ``samples`` draws, one draw, holding the state."""
    generator = torch.Generator().manual_seed(0)
    idx = torch.linspace(0, len(held.states) - 1, min(limit, len(held.states))).long()
    mean_err, one_err, hold_err, spread = [], [], [], []
    for i in idx.tolist():
        frame = held.frames[i:i + 1].float() / 255.0
        draws = policy.sample(frame, [held.instructions[i]], held.states[i:i + 1], samples, generator)  # (S, p, A)
        target = held.chunks[i]
        mean_err.append(float((draws.mean(0) - target).abs().mean()))
        one_err.append(float((draws[0] - target).abs().mean()))
        hold_err.append(float((held.states[i] - target).abs().mean()))
        spread.append(float(draws.std(0).mean()))
    return {"held_out_mean_sample_l1": float(np.mean(mean_err)), "held_out_single_sample_l1": float(np.mean(one_err)),
            "hold_state_l1": float(np.mean(hold_err)), "sample_spread": float(np.mean(spread))}


GOLDEN_INSTRUCTION = "pick up the can and place it back on the counter"


@torch.no_grad()
def vla_golden(policy: BFAFlowVLA) -> dict:
    """4 draws (seed 7) from the first frame and state of the committed BFA fixture: their first keyframe."""
    from lawm_eval.models.train.bfa_world_models import write_fixture
    from lawm_eval.models.train.evaluate import fixture_path, load_fixture

    if not fixture_path(DATASET).exists():
        write_fixture()
    fixture = load_fixture(DATASET)
    frame = torch.from_numpy(fixture["frames"][0, 0]).permute(2, 0, 1)[None].float() / 255.0
    state = torch.from_numpy(fixture["states"][0, 0]).float()[None]
    draws = policy.sample(frame, [GOLDEN_INSTRUCTION], state, 4, torch.Generator().manual_seed(7))
    return {"instruction": GOLDEN_INSTRUCTION, "first_keyframe": draws[:, KEY_EVERY - 1].tolist(), "dataset": DATASET}


def main(steps: int = 4000) -> dict:
    arrays = load_arrays(DATASET)
    n, held_out = len(arrays.frames), RECIPES[DATASET]["held_out"]
    data = chunk_samples(range(n - held_out), arrays)
    held = chunk_samples(range(n - held_out, n), arrays, stride=10)
    torch.manual_seed(0)
    policy = BFAFlowVLA(vocabulary(arrays.tasks[: n - held_out]), **CONFIG)
    fit_statistics(policy, data)
    curve = train(policy.parameters(), partial(flow_loss, policy, data), steps, lr=1e-3, seed=1, log_every=50)
    policy.eval()
    metrics = chunk_errors(policy, held)
    metrics["training_samples"] = len(data.states)
    save_model(baseline_dir(NAME) / "model.pt", NAME, policy, {**CONFIG, "vocab": policy.vocab}, {"metrics": metrics})
    save_curve(NAME, {"flow matching": curve})
    save_golden(NAME, vla_golden(policy))
    (baseline_dir(NAME) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
