"""A tiny VLA for the BFA stand-in: image + instruction + robot state -> a chunk of p actions, sampled by
flow matching so that different noise seeds give different candidates (LAC-WM §4.4 and A.7: a VLA with a
diffusion head conditioned on the observation, the language instruction and the robot state).

- image: the 64×64 head-camera frame through a small CNN trained with the policy;
- instruction: word embeddings averaged (the vocabulary of the training instructions; unknown words,
  such as an unseen category's name, share one embedding);
- state: the 25-D proprio (grip pose, 6-D rotation, hand joints), standardised.

The chunk is represented by its ``p / 5`` keyframes (the last action of every 5-step group, the world
models' step), as offsets from the current state, standardised; the p actions interpolate linearly
from the current state through the keyframes. The flow-matching velocity field v(a_τ, τ, c) is trained
with MSE to (a₁ − a₀) on a_τ = (1 − τ) a₀ + τ a₁, a₀ ~ N(0, I); sampling integrates 10 Euler steps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from lawm_eval.models.blocks import MLP
from lawm_eval.models.flow import euler_sample, flow_matching_loss

Tensor = torch.Tensor
KEY_EVERY = 5  # actions per keyframe: LAC-WM's 5-step action chunks
UNKNOWN = "<unk>"


def words(instruction: str) -> list[str]:
    return re.findall(r"[a-z]+", instruction.lower())


def vocabulary(instructions: Sequence[str]) -> list[str]:
    """The sorted words of the training instructions, after ``UNKNOWN``."""
    return [UNKNOWN] + sorted({w for text in instructions for w in words(text)})


class FrameEncoder(nn.Module):
    """(B, 3, 64, 64) float in [0, 1] -> (B, dim)."""

    def __init__(self, dim: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 4, 2, 1), nn.GELU(), nn.Conv2d(32, 64, 4, 2, 1), nn.GELU(),
            nn.Conv2d(64, 96, 4, 2, 1), nn.GELU(), nn.Conv2d(96, dim, 4, 2, 1), nn.GELU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, frames: Tensor) -> Tensor:
        return self.net(frames)


class BFAFlowVLA(nn.Module):
    def __init__(self, vocab: Sequence[str], action_dim: int = 25, horizon: int = 100, dim: int = 128,
                 hidden: int = 384, steps: int = 10):
        super().__init__()
        if horizon % KEY_EVERY:
            raise ValueError(f"the VLA's horizon must be a multiple of {KEY_EVERY}, got {horizon}")
        self.vocab = list(vocab)
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.action_dim, self.horizon, self.steps = action_dim, horizon, steps
        self.keys = horizon // KEY_EVERY
        self.frames = FrameEncoder(dim)
        self.words = nn.EmbeddingBag(len(self.vocab), dim // 2, mode="mean")
        self.state = MLP(action_dim, dim, dim // 2)
        flat = self.keys * action_dim
        self.velocity = MLP(flat + 1 + 2 * dim, hidden, flat, layers=3)
        self.register_buffer("state_mean", torch.zeros(action_dim))
        self.register_buffer("state_std", torch.ones(action_dim))
        self.register_buffer("offset_std", torch.ones(self.keys, action_dim))

    # -- inputs ---------------------------------------------------------------------------------
    def tokens(self, instructions: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Word indices and bag offsets for ``nn.EmbeddingBag``."""
        ids, offsets = [], []
        for text in instructions:
            offsets.append(len(ids))
            ids += [self.index.get(w, 0) for w in words(text)] or [0]
        return torch.tensor(ids), torch.tensor(offsets)

    def condition(self, frames: Tensor, instructions: Sequence[str], states: Tensor) -> Tensor:
        """(B, 3, 64, 64) [0, 1], B texts, (B, 25) -> (B, 2·dim)."""
        ids, offsets = self.tokens(instructions)
        z = (states - self.state_mean) / self.state_std
        return torch.cat([self.frames(frames), self.words(ids, offsets), self.state(z)], dim=-1)

    # -- the chunk's representation -------------------------------------------------------------
    def keyframes(self, chunk: Tensor, states: Tensor) -> Tensor:
        """(B, p, A) actions, (B, A) current states -> (B, K·A) standardised keyframe offsets."""
        keys = chunk[:, KEY_EVERY - 1::KEY_EVERY]  # (B, K, A)
        return ((keys - states[:, None]) / self.offset_std).flatten(1)

    def actions(self, keyframes: Tensor, states: Tensor) -> Tensor:
        """(B, K·A), (B, A) -> (B, p, A): linear from the state through the keyframes."""
        keys = keyframes.view(-1, self.keys, self.action_dim) * self.offset_std + states[:, None]  # (B, K, A)
        points = torch.cat([states[:, None], keys], dim=1)  # (B, K + 1, A)
        w = torch.arange(1, KEY_EVERY + 1, dtype=keys.dtype) / KEY_EVERY  # (5,)
        segments = points[:, :-1, None] + w[None, None, :, None] * (points[:, 1:, None] - points[:, :-1, None])
        return segments.flatten(1, 2)  # (B, p, A)

    # -- flow matching ------------------------------------------------------------------------------
    def loss(self, frames: Tensor, instructions: Sequence[str], states: Tensor, chunk: Tensor,
             generator: torch.Generator) -> Tensor:
        a1 = self.keyframes(chunk, states)
        cond = self.condition(frames, instructions, states)
        return flow_matching_loss(lambda a, tau: self.velocity(torch.cat([a, tau, cond], dim=-1)), a1, generator)

    @torch.no_grad()
    def sample(self, frames: Tensor, instructions: Sequence[str], states: Tensor, n: int,
               generator: torch.Generator) -> Tensor:
        """One observation (1, ...) -> (n, p, A): n chunks from n noise draws, integrated together."""
        cond = self.condition(frames, instructions, states).expand(n, -1)
        a0 = torch.randn(n, self.keys * self.action_dim, generator=generator)
        a = euler_sample(lambda a, tau: self.velocity(torch.cat([a, tau, cond], dim=-1)), a0, self.steps)
        return self.actions(a, states.expand(n, -1))

    def as_policy(self) -> BFAVLAPolicy:
        """The Policy / SamplingPolicy the bundled model's parts are (``zoo.build_bundled``)."""
        return BFAVLAPolicy(self)


def frame_input(image: Any) -> Tensor:
    """(64, 64, 3) uint8 -> (1, 3, 64, 64) float in [0, 1]."""
    from lawm_eval.models.agents import frame_64

    return frame_64(image).permute(2, 0, 1)[None].float() / 255.0


class BFAVLAPolicy:
    """Policy (``act``: one sampled chunk) and SamplingPolicy (``sample``: n chunks) for the BFA suites."""

    def __init__(self, network: BFAFlowVLA):
        self.network = network.eval()
        self.generator = torch.Generator().manual_seed(0)

    def reset(self, seed: int) -> None:
        self.generator = torch.Generator().manual_seed(int(seed))

    def _inputs(self, obs: dict) -> tuple[Tensor, list[str], Tensor]:
        state = torch.as_tensor(np.asarray(obs["state"], dtype=np.float32))[None]
        return frame_input(obs["image"]), [str(obs.get("task", ""))], state

    def sample(self, obs: dict, n: int, generator: torch.Generator) -> np.ndarray:  # -> (n, p, A)
        return self.network.sample(*self._inputs(obs), n, generator).numpy()

    def act(self, obs: dict) -> np.ndarray:  # -> (p, A)
        return self.sample(obs, 1, self.generator)[0]
