"""A tiny behaviour-cloning policy for LIBERO: the agentview frame, the 8-D end-effector state and the
task → a chunk of ``chunk`` 7-D actions (LIBERO's delta-OSC pose + gripper, −1 open / +1 close), trained
with L1 on standardised actions (action chunking as ACT; the suite runs ``execute_steps`` of it open loop).

- frame: ``image_size``² (64 or 128: at 64² a libero_object can is 3-4 pixels wide) through a small
  CNN (one more stride-2 layer at 128²) and a spatial soft-argmax (robomimic's keypoints: where each
  feature map peaks, so object positions survive the pooling);
- state: standardised, through an MLP;
- task: one learned embedding per training instruction; an instruction it was not trained on is refused
  (``ModelError`` at the suite's probe, before the first episode).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lawm_eval.errors import ModelError
from lawm_eval.models.blocks import MLP

Tensor = torch.Tensor
STATE_DIM = 8  # eef position (3), axis-angle (3), gripper qpos (2): the LIBERO suite's state
ACTION_DIM = 7


class SpatialSoftArgmax(nn.Module):
    """(B, C, H, W) feature maps → (B, 2C): the expected (x, y) in [−1, 1] of each map's softmax."""

    def forward(self, features: Tensor) -> Tensor:
        b, c, h, w = features.shape
        weights = features.flatten(2).softmax(-1).view(b, c, h, w)
        ys = torch.linspace(-1.0, 1.0, h, dtype=features.dtype)
        xs = torch.linspace(-1.0, 1.0, w, dtype=features.dtype)
        x = (weights.sum(2) * xs).sum(-1)  # (B, C)
        y = (weights.sum(3) * ys).sum(-1)  # (B, C)
        return torch.cat([x, y], dim=-1)


class KeypointEncoder(nn.Module):
    """(B, 3, S, S) float in [0, 1], S = 64 or 128 → (B, 2·keypoints + channels): keypoints and pooled
    features of (B, C, S/4, S/4) feature maps."""

    def __init__(self, keypoints: int = 32, channels: int = 64, image_size: int = 64):
        super().__init__()
        if image_size not in (64, 128):
            raise ValueError(f"image_size must be 64 or 128, got {image_size}")
        first = ([nn.Conv2d(3, 32, 5, 2, 2)] if image_size == 64 else
                 [nn.Conv2d(3, 16, 4, 2, 1), nn.GELU(), nn.Conv2d(16, 32, 3, 1, 1)])  # (B, 32, S/2, S/2)
        self.convs = nn.Sequential(
            *first, nn.GELU(), nn.Conv2d(32, 32, 3, 2, 1), nn.GELU(),  # (B, 32, S/4, S/4)
            nn.Conv2d(32, channels, 3, 1, 1), nn.GELU())  # (B, C, S/4, S/4)
        self.to_keypoints = nn.Conv2d(channels, keypoints, 1)
        self.soft_argmax = SpatialSoftArgmax()
        self.out_dim = 2 * keypoints + channels

    def forward(self, frames: Tensor) -> Tensor:
        features = self.convs(frames)
        return torch.cat([self.soft_argmax(self.to_keypoints(features)), features.mean((2, 3))], dim=-1)


class LiberoBC(nn.Module):
    def __init__(self, tasks: Sequence[str], chunk: int = 8, keypoints: int = 32, hidden: int = 512,
                 image_size: int = 64):
        super().__init__()
        self.tasks = list(tasks)
        self.index = {task: i for i, task in enumerate(self.tasks)}
        self.chunk, self.image_size = chunk, image_size
        self.frames = KeypointEncoder(keypoints, image_size=image_size)
        self.task_embedding = nn.Embedding(len(self.tasks), 64)
        self.state = MLP(STATE_DIM, 128, 64)
        self.head = MLP(self.frames.out_dim + 64 + 64, hidden, chunk * ACTION_DIM, layers=3)
        self.register_buffer("state_mean", torch.zeros(STATE_DIM))
        self.register_buffer("state_std", torch.ones(STATE_DIM))
        self.register_buffer("action_mean", torch.zeros(ACTION_DIM))
        self.register_buffer("action_std", torch.ones(ACTION_DIM))

    def task_ids(self, instructions: Sequence[str]) -> Tensor:
        unknown = sorted({t for t in instructions if t not in self.index})
        if unknown:
            raise ModelError(f"libero_bc was trained on {len(self.tasks)} LIBERO tasks and not on "
                             f"'{unknown[0]}' (it knows: {'; '.join(self.tasks[:3])}; ...)")
        return torch.tensor([self.index[t] for t in instructions])

    def features(self, frames: Tensor, task_ids: Tensor, states: Tensor) -> Tensor:
        """(B, 3, S, S) [0, 1], (B,), (B, 8) → (B, F): what the head reads."""
        z = (states - self.state_mean) / self.state_std
        return torch.cat([self.frames(frames), self.task_embedding(task_ids), self.state(z)], dim=-1)

    def forward(self, frames: Tensor, task_ids: Tensor, states: Tensor) -> Tensor:
        """(B, 3, S, S) [0, 1], (B,), (B, 8) → (B, chunk, 7) standardised actions."""
        return self.head(self.features(frames, task_ids, states)).view(-1, self.chunk, ACTION_DIM)

    def loss(self, frames: Tensor, task_ids: Tensor, states: Tensor, chunks: Tensor) -> Tensor:
        """L1 between the predicted and the demonstrated (B, chunk, 7) actions, standardised."""
        target = (chunks - self.action_mean) / self.action_std
        return F.l1_loss(self(frames, task_ids, states), target)

    @torch.no_grad()
    def actions(self, frames: Tensor, task_ids: Tensor, states: Tensor) -> Tensor:
        """(B, chunk, 7) in LIBERO's action units."""
        return self(frames, task_ids, states) * self.action_std + self.action_mean

    def as_policy(self) -> LiberoBCPolicy:
        return LiberoBCPolicy(self)


def frame_input(image: Any, size: int) -> Tensor:
    """(size, size, 3) uint8 (the suite gives the declared size; other sizes are resized bilinearly)
    → (1, 3, size, size) float in [0, 1]."""
    frame = torch.as_tensor(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()
    if frame.shape[-2:] != (size, size):
        frame = F.interpolate(frame, size=(size, size), mode="bilinear", antialias=True).round().clamp(0, 255)
    return frame / 255.0


class LiberoBCPolicy:
    """The Policy the bundled ``libero_bc`` is: deterministic, one (chunk, 7) chunk per call."""

    def __init__(self, network: LiberoBC):
        self.network = network.eval()

    def reset(self, seed: int) -> None:  # deterministic: nothing to reseed
        pass

    def act(self, obs: dict) -> np.ndarray:  # -> (chunk, 7)
        state = torch.as_tensor(np.asarray(obs["state"], dtype=np.float32))[None]
        task = self.network.task_ids([str(obs.get("task", ""))])
        chunk = self.network.actions(frame_input(obs["image"], self.network.image_size), task, state)[0]
        return chunk.double().numpy()
