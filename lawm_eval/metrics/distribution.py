"""FID and FVD: Fréchet distances of Inception-V3 pool3 and I3D-logit features.

FID: frames in [0,1] → pytorch-fid's InceptionV3 (resize to 299² bilinear, scale to [−1,1]) →
2048-d pool3. FVD: videos (N,T,C,H,W) in [0,1], T ≥ 10 → frames resized bilinearly to 224²,
scaled to [−1,1] → I3D Kinetics-400 logits averaged over time (400-d). Both report how many
samples (and frames) went in, since the distance depends on them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lawm_eval.errors import LawmEvalError, ModelError
from lawm_eval.metrics.base import Metric
from lawm_eval.metrics.frechet import FeatureStats, stats_distance

FVD_MIN_FRAMES = 10
I3D_SIZE = 224


def _check_unit_range(x: torch.Tensor, what: str) -> torch.Tensor:
    if not bool(torch.isfinite(x).all()):
        raise ModelError(f"{what} contain NaN/inf")
    if x.dtype == torch.uint8:
        return x.float() / 255.0
    return x.float().clamp(0, 1)


@torch.no_grad()
def inception_features(frames: torch.Tensor, batch_size: int = 50) -> np.ndarray:
    """(N,C,H,W) or (N,T,C,H,W) frames in [0,1] (or uint8) → (M, 2048) pool3 features."""
    from lawm_eval.metrics.weights import fid_inception

    if frames.dim() == 5:
        frames = frames.flatten(0, 1)
    frames = _check_unit_range(frames, "images")
    network = fid_inception()
    out = [network(frames[i : i + batch_size])[0].flatten(1) for i in range(0, len(frames), batch_size)]
    return torch.cat(out).double().numpy()


def preprocess_i3d(videos: torch.Tensor) -> torch.Tensor:
    """(N,T,C,H,W) in [0,1] (or uint8) → (N,C,T,224,224) in [−1,1]: the shorter side bilinearly to
    224, then the centred 224×224 crop (fitvid ``fvd.py`` as VP² uses it; square frames: a plain resize)."""
    if videos.dim() != 5:
        raise ModelError(f"videos must be (N,T,C,H,W), got {tuple(videos.shape)}")
    n, t = videos.shape[:2]
    if t < FVD_MIN_FRAMES:
        raise LawmEvalError(
            f"FVD needs at least {FVD_MIN_FRAMES} frames per video (I3D's temporal receptive field), got {t}"
        )
    frames = _check_unit_range(videos, "videos").flatten(0, 1)  # (N*T, C, H, W)
    height, width = frames.shape[-2:]
    scale = I3D_SIZE / min(height, width)
    size = (max(I3D_SIZE, round(height * scale)), max(I3D_SIZE, round(width * scale)))
    frames = F.interpolate(frames, size=size, mode="bilinear", align_corners=False)
    top, left = (size[0] - I3D_SIZE) // 2, (size[1] - I3D_SIZE) // 2
    frames = frames[..., top : top + I3D_SIZE, left : left + I3D_SIZE]  # (N*T, C, 224, 224)
    clips = frames.reshape(n, t, videos.shape[2], I3D_SIZE, I3D_SIZE).transpose(1, 2)  # (N, C, T, 224, 224)
    return clips * 2 - 1


@torch.no_grad()
def i3d_features(videos: torch.Tensor, batch_size: int = 8) -> np.ndarray:
    """(N,T,C,H,W) videos in [0,1] → (N, 400) time-averaged I3D logits."""
    from lawm_eval.metrics.weights import i3d_network

    network = i3d_network()
    out = [network(preprocess_i3d(videos[i : i + batch_size])) for i in range(0, len(videos), batch_size)]
    return torch.cat(out).double().numpy()


class _FrechetMetric(Metric):
    dim = 0

    def reset(self) -> None:
        self.real, self.fake = FeatureStats(self.dim), FeatureStats(self.dim)
        self.frames = {"real": 0, "fake": 0}

    def features(self, x: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    def frames_in(self, x: torch.Tensor) -> int:
        return int(np.prod(x.shape[:2])) if x.dim() == 5 else len(x)

    def update(self, real: torch.Tensor | None = None, fake: torch.Tensor | None = None) -> None:
        if real is not None:
            self.real.update(self.features(real))
            self.frames["real"] += self.frames_in(real)
        if fake is not None:
            self.fake.update(self.features(fake))
            self.frames["fake"] += self.frames_in(fake)

    def compute(self) -> dict[str, Any]:
        if self.real.n < 2 or self.fake.n < 2:
            raise LawmEvalError(f"{self.name} needs at least 2 real and 2 generated samples "
                                f"(got {self.real.n} and {self.fake.n})")
        return {"value": stats_distance(self.real, self.fake), "n_real": self.real.n, "n_fake": self.fake.n,
                "frames_real": self.frames["real"], "frames_fake": self.frames["fake"]}

    def state_dict(self) -> dict[str, Any]:
        return {"real": self.real.state_dict(), "fake": self.fake.state_dict(), "frames": dict(self.frames)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.real.load_state_dict(state["real"])
        self.fake.load_state_dict(state["fake"])
        self.frames = dict(state["frames"])

    def merge(self, other: _FrechetMetric) -> _FrechetMetric:
        self.real.merge(other.real)
        self.fake.merge(other.fake)
        for key in self.frames:
            self.frames[key] += other.frames[key]
        return self


class FID(_FrechetMetric):
    """Fréchet Inception Distance over frames (video frames are flattened into images)."""

    name, dim = "fid", 2048

    def features(self, x: torch.Tensor) -> np.ndarray:
        return inception_features(x)


class FVD(_FrechetMetric):
    """Fréchet Video Distance over (N,T,C,H,W) videos with at least 10 frames."""

    name, dim = "fvd", 400

    def features(self, x: torch.Tensor) -> np.ndarray:
        return i3d_features(x)
