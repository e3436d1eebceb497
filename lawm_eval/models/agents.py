"""The Policy interface around a network that acts on encoded 64×64 frames."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F


def frame_64(image: Any) -> torch.Tensor:
    """(H,W,3) uint8 observation image → (64,64,3) uint8 (resized when needed)."""
    frame = torch.as_tensor(np.ascontiguousarray(image))
    if frame.shape[0] != 64 or frame.shape[1] != 64:
        resized = F.interpolate(frame.permute(2, 0, 1)[None].float(), size=(64, 64), mode="bilinear",
                                antialias=True)
        frame = resized[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8)
    return frame


def frame_tokens(autoencoder, image: Any) -> torch.Tensor:
    """(H,W,3) uint8 observation image → (1,16,32) tokens."""
    return autoencoder.encode(frame_64(image)[None, None])[:, 0]


class ImagePolicy:
    """Policy / SamplingPolicy: ``network.act_tokens(tokens, task, generator) -> (B,Hc,A)``."""

    def __init__(self, network: torch.nn.Module, autoencoder, tasks: list[str]):
        self.network, self.autoencoder, self.tasks = network.eval(), autoencoder, list(tasks)
        self.generator = torch.Generator().manual_seed(0)

    def task_index(self, obs: dict) -> torch.Tensor:
        task = obs.get("task", "")
        return torch.tensor([self.tasks.index(task) if task in self.tasks else 0])

    def reset(self, seed: int) -> None:
        self.generator = torch.Generator().manual_seed(int(seed))

    @torch.no_grad()
    def act(self, obs: dict) -> np.ndarray:  # -> (Hc, A)
        tokens = frame_tokens(self.autoencoder, obs["image"])
        return self.network.act_tokens(tokens, self.task_index(obs), self.generator)[0].numpy()

    @torch.no_grad()
    def act_batch(self, sessions: list[ImagePolicy], observations: list[dict]) -> list[np.ndarray]:
        """Each session's ``act`` on its observation, in one encoder and one network call (each row's
        noise from that session's generator). Used by the shared model server (runner/batching.py)."""
        frames = torch.stack([frame_64(obs["image"]) for obs in observations])  # (B,64,64,3)
        tokens = self.autoencoder.encode(frames[:, None])[:, 0]  # (B,16,32)
        tasks = torch.cat([self.task_index(obs) for obs in observations])  # (B,)
        chunks = self.network.act_tokens(tokens, tasks, [session.generator for session in sessions])  # (B,Hc,A)
        return list(chunks.numpy())

    @torch.no_grad()
    def sample(self, obs: dict, n: int, generator: torch.Generator) -> np.ndarray:  # -> (n, Hc, A)
        tokens = frame_tokens(self.autoencoder, obs["image"]).expand(n, -1, -1)
        return self.network.act_tokens(tokens, self.task_index(obs).expand(n), generator).numpy()
