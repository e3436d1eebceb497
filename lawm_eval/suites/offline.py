"""Shared pieces of the offline (recorded-data) suites: opening the dataset lazily (with the camera
the run asks for), choosing a fixed, seeded set of windows, and turning recorded frames into the
tensors a model reads, at the size and by the resize method it declares (``lawm_eval/inputs.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ConfigError, LawmEvalError, ModelError
from lawm_eval.inputs import adapt_images, images_tensor
from lawm_eval.suites.base import Suite
from lawm_eval.types import EpisodeSpec


class OfflineSuite(Suite):
    """A suite over a recorded dataset (``suite.dataset``: a recipe name or a path)."""

    def dataset(self) -> Any:
        if getattr(self, "_live_dataset", None) is None:
            from lawm_eval.data.formats import open_dataset
            from lawm_eval.data.recipes import resolve_dataset

            self._live_dataset = open_dataset(resolve_dataset(self.params["dataset"]), camera=self.camera)
            self._live_cache: dict[int, Any] = {}
        return self._live_dataset

    @property
    def domain(self) -> str | None:
        """The generated recipe's kind (franka, navigation, robodesk): models adapted to it are chosen."""
        from lawm_eval.data.recipes import RECIPES

        recipe = RECIPES.get(self.params["dataset"])
        return recipe["kind"] if recipe else None

    @property
    def camera(self) -> str | None:
        """The camera the run reads (``suite.camera``; None: the dataset's first)."""
        return self.params.get("camera")

    def model_frames(self, model: ModelBundle, frames: np.ndarray) -> torch.Tensor:
        """(T,H,W,3) recorded uint8 frames → (1,T,3,h,w) uint8 at the size the model declares,
        adapted by its declared resize method (as recorded when it declares no size)."""
        inputs = model.inputs
        return images_tensor(adapt_images(frames, inputs.image_size, inputs.resize))

    def recorded_size(self) -> tuple[int, int]:
        """(height, width) of the dataset's frames (of the chosen camera)."""
        frames = self.episode_data(0).frames
        return int(frames.shape[1]), int(frames.shape[2])

    def image_contract(self, model: ModelBundle) -> dict[str, Any]:
        """Camera, recorded and delivered resolution, resize method: the image part of the contract
        (without reading the data while it is still to be generated: ``validate`` writes nothing)."""
        if self.pending_generation():
            size = model.inputs.image_size
            return {"camera": self.camera, "resolution": list(size) if size else "as recorded"}
        recorded = self.recorded_size()
        delivered = model.inputs.delivered_size(recorded)
        return {"camera": getattr(self.dataset(), "camera", None), "recorded_resolution": list(recorded),
                "resolution": list(delivered),
                "resize": model.inputs.resize if tuple(delivered) != tuple(recorded) else "none"}

    def check_inputs(self, model: ModelBundle) -> None:
        super().check_inputs(model)
        if self.pending_generation():  # a generated recipe: one camera, checked once it exists
            return
        from lawm_eval.data.lerobot import camera_name

        wanted, reading = model.inputs.camera, getattr(self.dataset(), "camera", None)
        if wanted and reading and camera_name(wanted) != camera_name(reading):
            cameras = ", ".join(getattr(self.dataset(), "cameras", ()) or (reading,))
            raise ModelError(f"model '{model.model_id}' reads camera '{wanted}' but the run reads '{reading}' "
                             f"(cameras: {cameras}); set suite.camera={wanted}")

    def deviations(self) -> list[str]:
        """The manifest's deviations (its data deviation only while the data is a generated recipe),
        the changed parameters, and — on a user's dataset — what that dataset is, computed from it."""
        from lawm_eval.data.recipes import RECIPES

        data_keys = ("dataset", "camera")
        texts = [d for d in super().deviations() if not d.startswith(tuple(f"{k}=" for k in data_keys))]
        if self.params["dataset"] not in RECIPES:
            reference = self.manifest.sources.get("data", "not named in the manifest")
            texts.append(f"data: {self.dataset().describe()} (the protocol's data: {reference})")
        elif self.params.get("camera") is not None:
            texts.append(f"camera={self.params['camera']!r} (reference {self.manifest.params.get('camera')!r})")
        return texts

    def simulator_versions(self) -> dict[str, str]:
        """The simulators' versions and a fingerprint of the dataset read (``data:<name>``)."""
        from lawm_eval.data.recipes import data_versions

        return {**super().simulator_versions(), **data_versions([self.params["dataset"]])}

    def pending_generation(self) -> str | None:
        from lawm_eval.data.recipes import dataset_path, is_generated

        name = self.params["dataset"]
        if isinstance(name, str) and not is_generated(name):
            return f"dataset '{name}' is generated by the first run (into {dataset_path(name)})"
        return None

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


frames_tensor = images_tensor  # (T,H,W,3) uint8 → (1,T,3,H,W) uint8, frames as recorded


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
