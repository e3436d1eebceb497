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
    """Running mean and covariance of feature vectors: state (n, mean (D,), M2 (D,D)), float64.

    While fewer samples than dimensions have been seen (8 frames of one FID window against 2048
    Inception dims, say), M2 is kept as rows R with M2 = RᵀR: exact, and what ``state_dict`` saves —
    a 2048-d FID state is then 8×2048 numbers instead of a 32 MB matrix. Past D rows it turns dense.
    """

    def __init__(self, dim: int | None = None):
        self.n = 0
        self.mean = np.zeros(dim) if dim else None
        self.rows = np.zeros((0, dim)) if dim else None  # R, while it has fewer rows than dims
        self._m2: np.ndarray | None = None  # dense M2 once R is dropped

    @property
    def m2(self) -> np.ndarray | None:
        if self.rows is None:
            return self._m2
        with one_blas_thread():
            return self.rows.T @ self.rows

    def _set(self, n: int, mean: np.ndarray, rows: np.ndarray | None, m2: np.ndarray | None) -> None:
        """Keep R while it is smaller than a dense M2, else the dense M2."""
        self.n, self.mean = n, mean
        if rows is not None and len(rows) < len(mean):
            self.rows, self._m2 = rows, None
        else:
            if m2 is None:
                with one_blas_thread():
                    m2 = rows.T @ rows
            self.rows, self._m2 = None, m2

    def update(self, features: np.ndarray) -> None:
        """Add (N, D) features."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"features must be (N, D), got {x.shape}")
        if len(x) == 0:
            return
        batch = FeatureStats()
        batch._set(len(x), x.mean(0), x - x.mean(0), None)
        self.merge(batch)

    def merge(self, other: FeatureStats) -> FeatureStats:
        if other.n == 0:
            return self
        if self.n == 0:
            rows = None if other.rows is None else other.rows.copy()
            self._set(other.n, other.mean.copy(), rows, None if other._m2 is None else other._m2.copy())
            return self
        if self.mean.shape != other.mean.shape:
            raise ValueError(f"cannot merge features of dim {self.mean.shape[0]} and {other.mean.shape[0]}")
        n = self.n + other.n
        delta = other.mean - self.mean
        weight = self.n * other.n / n
        mean = self.mean + delta * (other.n / n)
        if self.rows is not None and other.rows is not None:  # RᵀR + R'ᵀR' + w·δδᵀ = [R; R'; √w·δ]ᵀ[…]
            self._set(n, mean, np.vstack([self.rows, other.rows, np.sqrt(weight) * delta[None]]), None)
        else:
            self._set(n, mean, None, self.m2 + other.m2 + np.outer(delta, delta) * weight)
        return self

    def covariance(self) -> np.ndarray:
        if self.n < 2:
            raise ValueError(f"a covariance needs at least 2 samples, got {self.n}")
        return self.m2 / (self.n - 1)

    def state_dict(self) -> dict[str, Any]:
        if self.rows is not None:
            return {"n": self.n, "mean": self.mean, "rows": self.rows}
        return {"n": self.n, "mean": self.mean, "m2": self._m2}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n, mean = int(state["n"]), state.get("mean")
        if mean is None:  # an empty state
            self.n, self.mean, self.rows, self._m2 = 0, None, None, None
            return
        mean = np.asarray(mean, dtype=np.float64)
        rows, m2 = state.get("rows"), state.get("m2")
        if rows is None and m2 is None:  # states written before rows: one sample, M2 left out (all zeros)
            rows = np.zeros((0, len(mean)))
        rows = None if rows is None else np.asarray(rows, dtype=np.float64).reshape(-1, len(mean))
        self._set(n, mean, rows, None if m2 is None else np.asarray(m2, dtype=np.float64))


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
