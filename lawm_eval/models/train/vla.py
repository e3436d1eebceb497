"""Train the flow-matching VLA policy on Franka action chunks."""

from __future__ import annotations

import json
from functools import partial

import torch

from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.train.artifacts import baseline_dir, save_curve, save_golden
from lawm_eval.models.train.data import Transitions, transitions
from lawm_eval.models.train.evaluate import load_fixture
from lawm_eval.models.train.lawm import TASKS
from lawm_eval.models.train.loop import train
from lawm_eval.models.vla import FlowMatchingPolicy
from lawm_eval.models.zoo import load_autoencoder

NAME = "vla_flow"
CHUNK = 3
CONFIG = {"action_dim": 7, "chunk": CHUNK, "dim": 128, "tasks": len(TASKS), "steps": 10}


def flow_loss(policy: FlowMatchingPolicy, data: Transitions, generator: torch.Generator):
    """Flow matching of the expert action chunk from the first frame and the task."""
    x, a, _, task = data.batch(64, generator)
    return policy.loss(x[:, 0], task, a, generator), {}


def main(steps: int = 3000) -> dict:
    autoencoder = load_autoencoder()
    data = transitions("franka", autoencoder, window=CHUNK)
    held = transitions("franka", autoencoder, window=CHUNK, split="held_out")
    torch.manual_seed(0)
    policy = FlowMatchingPolicy(**CONFIG)
    policy.normalizer.fit(data.a)
    curve = train(policy.parameters(), partial(flow_loss, policy, data), steps, lr=1e-3, seed=1, log_every=50)
    policy.eval()
    generator = torch.Generator().manual_seed(0)
    samples = torch.stack([policy.act_tokens(held.x[:, 0], held.task, generator) for _ in range(8)])  # (8,N,Hc,A)
    metrics = {
        "held_out_mean_sample_l1": float((samples.mean(0) - held.a).abs().mean()),
        "held_out_single_sample_l1": float((samples[0] - held.a).abs().mean()),
        "median_action_l1": float((held.a - data.a.flatten(0, 1).median(0).values).abs().mean()),
        "sample_spread": float(samples.std(0).mean()),
    }
    fixture = load_fixture("franka")
    x = autoencoder.encode(torch.from_numpy(fixture["frames"]))[:, 0]
    golden_samples = policy.act_tokens(x, torch.zeros(len(x), dtype=torch.long), torch.Generator().manual_seed(7))
    golden = {"chunk_l1": float((golden_samples - torch.from_numpy(fixture["actions"][:, :CHUNK])).abs().mean()),
              "first_chunk": golden_samples[0].tolist(), "dataset": "franka"}
    save_model(baseline_dir(NAME) / "model.pt", NAME, policy, CONFIG, {"metrics": metrics, "tasks": TASKS})
    save_curve(NAME, {"flow matching": curve})
    save_golden(NAME, golden)
    (baseline_dir(NAME) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
