"""Means of per-episode values with a Student-t 95% interval (and a bootstrap alternative)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lawm_eval.metrics.base import Metric


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of the Student-t interval of the finite values; a single value gives
    (v, nan, nan), none gives (nan, nan, nan)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    mean = float(x.mean()) if x.size else math.nan
    variance = float(x.var(ddof=1)) if x.size > 1 else math.nan
    return t_interval_from_moments(mean, variance, int(x.size), level)


def t_interval_from_moments(mean: float, variance: float, n: int,
                            level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): mean ± t_{(1+level)/2, n−1} · sqrt(variance / n), with ``variance`` the
    unbiased sample variance of n values; (mean, nan, nan) for n < 2 (nan mean for n = 0)."""
    if n == 0:
        return math.nan, math.nan, math.nan
    if n == 1:
        return mean, math.nan, math.nan
    from scipy import stats

    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * math.sqrt(variance / n))
    return mean, mean - half, mean + half


def bootstrap_interval(
    values: Sequence[float], level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, low, high) of the percentile bootstrap of the mean (deterministic for a seed)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, (resamples, x.size))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(x.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


class Mean(Metric):
    """Mean of a per-episode value with a t interval; state (n, mean, M2) merged with Chan's
    parallel-variance formula, which stays accurate where sum-of-squares would cancel."""

    name = "mean"

    def reset(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def update(self, value: float | Sequence[float]) -> None:
        x = np.atleast_1d(np.asarray(value, dtype=np.float64))
        x = x[np.isfinite(x)]
        if x.size:
            batch = Mean()
            batch.n, batch.mean, batch.m2 = int(x.size), float(x.mean()), float(((x - x.mean()) ** 2).sum())
            self.merge(batch)

    def compute(self) -> dict[str, Any]:
        variance = self.m2 / (self.n - 1) if self.n > 1 else math.nan
        value, low, high = t_interval_from_moments(self.mean, variance, self.n)
        return {"value": value, "ci_low": low, "ci_high": high, "n": self.n}

    def state_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "m2": self.m2}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.n, self.mean, self.m2 = int(state["n"]), float(state["mean"]), float(state["m2"])

    def merge(self, other: Mean) -> Mean:
        n = self.n + other.n
        if n == 0:
            return self
        delta = other.mean - self.mean
        self.m2 += other.m2 + delta * delta * self.n * other.n / n
        self.mean += delta * other.n / n
        self.n = n
        return self
