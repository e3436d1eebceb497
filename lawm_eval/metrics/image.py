"""Per-frame image metrics: MSE, PSNR, SSIM (Gaussian 11, σ 1.5) and LPIPS (AlexNet or VGG).

Inputs are float images in [0, 1], shaped (N,C,H,W) or (N,T,C,H,W) (frames are flattened); each
metric is averaged over frames. The Metric classes keep a fixed-size mergeable state.

SSIM conventions (``SSIM_CONVENTIONS``), which differ only at the borders (a few % on 64×64 frames):

- ``valid``: the SSIM map over the valid region only (no padding), as Wang et al.'s ``ssim.m``,
  scikit-image (``structural_similarity(gaussian_weights=True, use_sample_covariance=False)``),
  TensorFlow's ``tf.image.ssim`` and piq's ``ssim`` (VP²'s metric) compute it;
- ``torchmetrics``: torchmetrics' ``structural_similarity_index_measure`` default — the frames
  reflect-padded by half a window, the full-size map averaged, variances clamped at 0.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.metrics.base import Metric
from lawm_eval.metrics.stats import Mean

Tensor = torch.Tensor
SSIM_CONVENTIONS = ("valid", "torchmetrics")


def as_frames(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """(N,C,H,W) or (N,T,C,H,W) pairs of equal shape → (M,C,H,W) floating-point frames
    (float32 stays float32; reductions are done in float64)."""
    if pred.shape != target.shape:
        raise ModelError(f"prediction shape {tuple(pred.shape)} differs from target shape {tuple(target.shape)}")
    if pred.dim() == 5:
        pred, target = pred.flatten(0, 1), target.flatten(0, 1)
    if pred.dim() != 4:
        raise ModelError(f"images must be (N,C,H,W) or (N,T,C,H,W), got {tuple(pred.shape)}")
    if not pred.is_floating_point():
        pred, target = pred.float(), target.float()
    return pred, target.to(pred.dtype)


def finite(values: Tensor, what: str) -> Tensor:
    """Raise ModelError when a per-frame score is NaN (NaN/inf pixels in the prediction)."""
    if bool(torch.isnan(values).any()):
        raise ModelError(f"{what}: {int(torch.isnan(values).sum())} frames contain NaN/inf pixels")
    return values


def mse(pred: Tensor, target: Tensor) -> Tensor:
    """Per-frame mean squared error over channels and pixels. → (M,)."""
    pred, target = as_frames(pred, target)
    diff = pred - target
    return finite((diff * diff).flatten(1).double().mean(1), "MSE")


def psnr(pred: Tensor, target: Tensor, data_range: float = 1.0) -> Tensor:
    """Per-frame PSNR in dB: 10·log10(range² / MSE); identical frames give +inf. → (M,)."""
    pred, target = as_frames(pred, target)
    diff = pred - target
    mse = (diff * diff).flatten(1).mean(1).double()
    return finite(10 * torch.log10(data_range**2 / mse), "PSNR")


def gaussian_window(size: int = 11, sigma: float = 1.5) -> Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(pred: Tensor, target: Tensor, data_range: float = 1.0, window: int = 11, sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03, convention: str = "valid") -> Tensor:
    """Per-frame SSIM (Wang et al. 2004) with a Gaussian window, averaged over the map and the
    channels: the valid region (``convention="valid"``) or the reflect-padded full frame
    (``"torchmetrics"``), see the module docstring. → (M,)."""
    if convention not in SSIM_CONVENTIONS:
        raise ConfigError(f"SSIM convention must be one of {', '.join(SSIM_CONVENTIONS)}, got '{convention}'")
    pred, target = as_frames(pred, target)
    if min(pred.shape[-2:]) < window:
        raise ModelError(f"SSIM needs frames of at least {window}×{window}, got {tuple(pred.shape[-2:])}")
    if convention == "torchmetrics":
        pad = (window - 1) // 2
        pred = F.pad(pred, (pad, pad, pad, pad), mode="reflect")
        target = F.pad(target, (pad, pad, pad, pad), mode="reflect")
    channels = pred.shape[1]
    g = gaussian_window(window, sigma).to(pred.dtype)
    kernel_h = g.view(1, 1, window, 1).repeat(channels, 1, 1, 1)
    kernel_w = g.view(1, 1, 1, window).repeat(channels, 1, 1, 1)

    def blur(x: Tensor) -> Tensor:  # separable valid Gaussian filter per channel
        return F.conv2d(F.conv2d(x, kernel_h, groups=channels), kernel_w, groups=channels)

    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_x, mu_y = blur(pred), blur(target)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y  # (tensor ** 2 is slow on CPU)
    sigma_x = blur(pred * pred) - mu_xx
    sigma_y = blur(target * target) - mu_yy
    sigma_xy = blur(pred * target) - mu_xy
    if convention == "torchmetrics":
        sigma_x, sigma_y = sigma_x.clamp(min=0), sigma_y.clamp(min=0)
    ssim_map = ((2 * mu_xy + c1) * (2 * sigma_xy + c2)) / ((mu_xx + mu_yy + c1) * (sigma_x + sigma_y + c2))
    return finite(ssim_map.flatten(1).double().mean(1), "SSIM")


def lpips(pred: Tensor, target: Tensor, net: str = "alex", batch_size: int = 64) -> Tensor:
    """Per-frame LPIPS v0.1 (lpips package, converted reference weights); inputs in [0,1] are
    scaled to [−1,1]. → (M,)."""
    from lawm_eval.metrics.weights import lpips_network

    pred, target = as_frames(pred, target)
    network = lpips_network(net)
    pred, target = pred.float(), target.float()
    out = []
    with torch.no_grad():
        for i in range(0, len(pred), batch_size):
            a = pred[i : i + batch_size] * 2 - 1
            b = target[i : i + batch_size] * 2 - 1
            out.append(network(a, b).flatten())
    return finite(torch.cat(out).double(), "LPIPS")


class _PerFrameMean(Metric):
    """Mean of a per-frame value; non-finite values (PSNR of identical frames) are counted apart."""

    def reset(self) -> None:
        self.mean = Mean()
        self.n_inf = 0

    def values(self, pred: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def update(self, pred: Tensor, target: Tensor) -> None:
        values = self.values(pred, target)
        self.n_inf += int(torch.isinf(values).sum())
        self.mean.update(values[torch.isfinite(values)].numpy())

    def compute(self) -> dict[str, Any]:
        out = self.mean.compute()
        out["n"] += self.n_inf
        if self.n_inf:
            out.update(value=math.inf, ci_low=math.nan, ci_high=math.nan)
        return out

    def state_dict(self) -> dict[str, Any]:
        return {**self.mean.state_dict(), "n_inf": self.n_inf}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean.load_state_dict(state)
        self.n_inf = int(state["n_inf"])

    def merge(self, other: _PerFrameMean) -> _PerFrameMean:
        self.mean.merge(other.mean)
        self.n_inf += other.n_inf
        return self


class PSNR(_PerFrameMean):
    name = "psnr"

    def values(self, pred: Tensor, target: Tensor) -> Tensor:
        return psnr(pred, target)


class MSE(_PerFrameMean):
    name = "mse"

    def values(self, pred: Tensor, target: Tensor) -> Tensor:
        return mse(pred, target)


class SSIM(_PerFrameMean):
    name = "ssim"

    def __init__(self, convention: str = "valid"):
        self.convention = convention
        super().__init__()

    def init_kwargs(self) -> dict[str, Any]:
        return {"convention": self.convention}

    def values(self, pred: Tensor, target: Tensor) -> Tensor:
        return ssim(pred, target, convention=self.convention)


class LPIPS(_PerFrameMean):
    name = "lpips"

    def __init__(self, net: str = "alex"):
        self.net = net
        super().__init__()

    def init_kwargs(self) -> dict[str, Any]:
        return {"net": self.net}

    def values(self, pred: Tensor, target: Tensor) -> Tensor:
        return lpips(pred, target, self.net)
