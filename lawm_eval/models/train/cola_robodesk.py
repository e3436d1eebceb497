"""Adapt CoLA-World and its two-stage baseline to RoboDesk as the paper does (CoLA-World §4.4 and
App. B): from each Franka checkpoint, with its LAM (IDM + codebook) frozen,

1. the adapter: a 2-layer MLP from RoboDesk's 5-D real action to the GT-LAM code indices (the frozen
   IDM's codes of the same transition), cross-entropy, 1K steps of batch 64;
2. the world model fine-tuned on GT-LAM latents, 3K steps of batch 16 (one-step, teacher-forced).

Both models get the same data, steps and seeds. Before that, stage 0 (lawm-eval's, not the paper's):
the shared frozen autoencoder, our stand-in for the paper's pretrained video VAE, was trained on Franka
and navigation frames only and reconstructs RoboDesk frames at 15 dB PSNR, so a copy is fine-tuned on
RoboDesk training frames (baselines/visual_ae_robodesk) and both adapted models read through it.

Data: the ``robodesk`` recipe (126 scripted rollouts with noise 0.1/0.3/0.6, the last 7 held out).
"""

from __future__ import annotations

import copy
from functools import partial

import numpy as np
import torch

from lawm_eval.data.recipes import RECIPES
from lawm_eval.models.cola_world import CoLAWorld
from lawm_eval.models.train.cola_world import (
    CONFIG,
    adapter_accuracy,
    adapter_loss,
    codebook_usage,
    freeze_lam,
    world_loss,
)
from lawm_eval.models.train.data import Transitions, drop_token_cache, load_arrays, transitions
from lawm_eval.models.train.evaluate import finish, write_fixture
from lawm_eval.models.train.loop import train
from lawm_eval.models.train.visual_ae import reconstruction_loss, save_fine_tuned
from lawm_eval.models.visual import VisualAutoencoder
from lawm_eval.models.zoo import load_autoencoder, load_bundled

DATASET = "robodesk"
AUTOENCODER = "visual_ae_robodesk"
ACTION_DIM = 5  # RoboDesk: end-effector x, y, z, wrist, gripper
AE_LR = 2e-3
ADAPTER_BATCH = 64  # CoLA-World App. B: the adapter trains 1K steps with batch 64
WM_STEPS, WM_BATCH = 3000, 16  # App. B: the world model is fine-tuned on GT-LAM for 3K steps with batch 16
SOURCES = {"cola_two_stage_robodesk": "cola_two_stage", "cola_world_robodesk": "cola_world"}  # adapted <- Franka


def train_autoencoder(steps: int) -> VisualAutoencoder:
    """Stage 0: the shared autoencoder fine-tuned on the RoboDesk training frames."""
    arrays = load_arrays(DATASET)
    cut = len(arrays.frames) - RECIPES[DATASET]["held_out"]
    frames = torch.from_numpy(np.concatenate(arrays.frames[:cut]))
    held = torch.from_numpy(np.concatenate(arrays.frames[cut:]))
    model = copy.deepcopy(load_autoencoder()).train()
    curve = train(model.parameters(), partial(reconstruction_loss, model, frames), steps, lr=AE_LR, seed=20,
                  log_every=50)
    save_fine_tuned(AUTOENCODER, model, held, curve, "fine-tuning on RoboDesk", DATASET)
    drop_token_cache(DATASET)  # tokens of the previous autoencoder
    return model


def adapt(name: str, source: str, data: Transitions, held: Transitions, autoencoder, wm_steps: int,
          dataset: str = DATASET, action_dim: int = ACTION_DIM) -> dict:
    """``source`` (a Franka checkpoint) adapted to ``dataset``: its LAM frozen, a new adapter from the
    ``action_dim``-D real actions to the GT-LAM codes, then the world model fine-tuned on GT-LAM."""
    pretrained, _, _ = load_bundled(source)
    config = {**CONFIG, "action_dim": action_dim}  # the Franka checkpoints' CONFIG
    torch.manual_seed(30)
    model = CoLAWorld(**config)
    kept = {k: v for k, v in pretrained.state_dict().items() if not k.startswith(("adapter.", "normalizer."))}
    missing = model.load_state_dict(kept, strict=False).missing_keys
    assert all(k.startswith(("adapter.", "normalizer.")) for k in missing), missing
    model.normalizer.fit(data.a)
    freeze_lam(model)
    adapter = train(model.adapter.parameters(), partial(adapter_loss, model, data), wm_steps // 3, seed=31)
    world = train(model.world.parameters(), partial(world_loss, model, data, batch=WM_BATCH), wm_steps, lr=5e-4,
                  seed=32)
    curves = {"1: adapter (GT-LAM codes)": adapter, "2: world model on GT-LAM": world}
    extra = {"codebook_usage_gt_lam": codebook_usage(model, held), "adapter_code_accuracy": adapter_accuracy(model, held),
             "adapted_from": source}
    return finish(name, model, config, curves, ("loss", "recon", "accuracy"), held, dataset, autoencoder, extra)


def main(steps: int = WM_STEPS) -> dict:
    """``steps`` world-model steps (adapter a third, autoencoder half of them: 1 000 and 1 500 by default)."""
    write_fixture(DATASET)
    autoencoder = train_autoencoder(steps // 2)
    load_autoencoder.cache_clear()
    data = transitions(DATASET, autoencoder, window=3)
    held = transitions(DATASET, autoencoder, window=3, split="held_out")
    return {name: adapt(name, source, data, held, autoencoder, steps) for name, source in SOURCES.items()}
