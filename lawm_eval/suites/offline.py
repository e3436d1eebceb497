"""Shared pieces of the offline (recorded-data) suites: opening the dataset lazily, choosing a
fixed, seeded set of windows, and turning frames into the tensors models read."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lawm_eval.errors import ConfigError, LawmEvalError, ModelError
from lawm_eval.suites.base import Suite
from lawm_eval.types import EpisodeSpec


class OfflineSuite(Suite):
    """A suite over a recorded dataset (``suite.dataset``: a recipe name or a path)."""

    def dataset(self) -> Any:
        if getattr(self, "_live_dataset", None) is None:
            from lawm_eval.data.formats import open_dataset
            from lawm_eval.data.recipes import resolve_dataset

            self._live_dataset = open_dataset(resolve_dataset(self.params["dataset"]))
            self._live_cache: dict[int, Any] = {}
        return self._live_dataset

    def episode_data(self, index: int) -> Any:
        """An Episode of the dataset, cached (recorded datasets here are small)."""
        dataset = self.dataset()
        if index not in self._live_cache:
            self._live_cache[index] = dataset.episode(index)
        return self._live_cache[index]

    def window_specs(self, count: int, length: int, task: str = "window") -> list[EpisodeSpec]:
        """``count`` windows of ``length`` frames chosen with the suite's seed: without replacement
        while there are enough distinct windows, then with replacement."""
        lengths = self.dataset().lengths()
        candidates = [(e, t) for e, n in enumerate(lengths) for t in range(n - length + 1)]
        if not candidates:
            raise LawmEvalError(f"suite '{self.name}': no episode of the dataset has {length} frames")
        rng = np.random.default_rng(self.params["seed"])
        replace = count > len(candidates)
        picks = rng.choice(len(candidates), size=count, replace=replace)
        specs = []
        for i, pick in enumerate(picks):
            episode, start = candidates[int(pick)]
            specs.append(self.spec(task, i, self.params["seed"] * 100_000 + i, group=self.name,
                                   params={"episode": int(episode), "start": int(start)}))
        return specs


def frames_tensor(frames: np.ndarray) -> torch.Tensor:
    """(T,H,W,3) uint8 → (1,T,3,H,W) uint8, the layout encoders read."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)[None]


def check_frames(frames: torch.Tensor, expected: tuple[int, ...], who: str) -> torch.Tensor:
    if not isinstance(frames, torch.Tensor) or tuple(frames.shape) != expected:
        shape = tuple(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
        raise ModelError(f"{who} returned {shape}, expected {expected}")
    if not bool(torch.isfinite(frames).all()):
        raise ModelError(f"{who} returned NaN/inf pixels")
    return frames.float().clamp(0, 1)


def choose(value: str, allowed: tuple[str, ...], key: str) -> str:
    if value not in allowed:
        raise ConfigError(f"suite.{key} must be one of {', '.join(allowed)}, got '{value}'")
    return value
