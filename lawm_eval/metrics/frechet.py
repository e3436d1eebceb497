"""Fréchet distance between Gaussians fitted to features (FID, FVD), with mergeable statistics.

FeatureStats keeps (n, mean, M2) in float64 and merges with Chan's formula, so the statistics of
shards combine exactly. The distance uses eigendecompositions instead of a generic ``sqrtm``:
Tr√(Σ₁Σ₂) = Σ √λ of √Σ₁ Σ₂ √Σ₁ (symmetric PSD, same eigenvalues as Σ₁Σ₂).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np


def one_blas_thread() -> contextlib.AbstractContextManager:
    """Limit BLAS to one thread (much faster than oversubscribed threads on small machines)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class FeatureStats:
    """Running mean and covariance of feature vectors: state (n, mean (D,), M2 (D,D)), float64."""

    def __init__(self, dim: int | None = None):
        self.n = 0
        self.mean = np.zeros(dim) if dim else None
        self.m2 = np.zeros((dim, dim)) if dim else None

    def update(self, features: np.ndarray) -> None:
        """Add (N, D) features."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"features must be (N, D), got {x.shape}")
        if len(x) == 0:
            return
        batch = FeatureStats()
        batch.n, batch.mean = len(x), x.mean(0)
        centred = x - batch.mean
        with one_blas_thread():
            batch.m2 = centred.T @ centred
        self.merge(batch)

    def merge(self, other: FeatureStats) -> FeatureStats:
        if other.n == 0:
            return self
        if self.n == 0:
            self.n, self.mean, self.m2 = other.n, other.mean.copy(), other.m2.copy()
            return self
        if self.mean.shape != other.mean.shape:
            raise ValueError(f"cannot merge features of dim {self.mean.shape[0]} and {other.mean.shape[0]}")
        n = self.n + other.n
        delta = other.mean - self.mean
        self.m2 = self.m2 + other.m2 + np.outer(delta, delta) * (self.n * other.n / n)
        self.mean = self.mean + delta * (other.n / n)
        self.n = n
        return self

    def covariance(self) -> np.ndarray:
        if self.n < 2:
            raise ValueError(f"a covariance needs at least 2 samples, got {self.n}")
        return self.m2 / (self.n - 1)

    def state_dict(self) -> dict[str, Any]:
        # with one sample M2 is all zeros: leave it out (a 2048-d FID state would be 32 MB)
        return {"n": self.n, "mean": self.mean, "m2": self.m2 if self.n > 1 else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.n = int(state["n"])
        mean, m2 = state.get("mean"), state.get("m2")
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        if m2 is None and self.mean is not None:
            m2 = np.zeros((len(self.mean), len(self.mean)))
        self.m2 = None if m2 is None else np.asarray(m2, dtype=np.float64)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """‖μ₁−μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr√(Σ₁Σ₂)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    with one_blas_thread():
        w1, v1 = np.linalg.eigh((sigma1 + sigma1.T) / 2)
        sqrt1 = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T
        inner = sqrt1 @ sigma2 @ sqrt1
        eigenvalues = np.linalg.eigvalsh((inner + inner.T) / 2)
    tr_covmean = float(np.sqrt(np.clip(eigenvalues, 0, None)).sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def stats_distance(a: FeatureStats, b: FeatureStats) -> float:
    return frechet_distance(a.mean, a.covariance(), b.mean, b.covariance())
