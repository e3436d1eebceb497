"""Success rate with the Wilson score interval (the interval reported for every success rate)."""

from __future__ import annotations

import math
from typing import Any

from lawm_eval.metrics.base import Metric

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (nan, nan) when n == 0."""
    if n == 0:
        return math.nan, math.nan
    if not 0 <= successes <= n:
        raise ValueError(f"successes ({successes}) must be within 0..n ({n})")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at p = 0 (p = 1) the bound is exactly 0 (1); computed, it can miss by an ulp and fall on the wrong side of p
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


class SuccessRate(Metric):
    name = "success_rate"

    def reset(self) -> None:
        self.successes, self.n = 0, 0

    def update(self, success: bool | int | list | tuple) -> None:
        values = success if isinstance(success, (list, tuple)) else [success]
        for value in values:
            self.successes += int(bool(value))
            self.n += 1

    def compute(self) -> dict[str, Any]:
        low, high = wilson_interval(self.successes, self.n)
        rate = self.successes / self.n if self.n else math.nan
        return {"value": rate, "ci_low": low, "ci_high": high, "n": self.n, "successes": self.successes}

    def state_dict(self) -> dict[str, Any]:
        return {"successes": self.successes, "n": self.n}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.successes, self.n = int(state["successes"]), int(state["n"])

    def merge(self, other: SuccessRate) -> SuccessRate:
        self.successes += other.successes
        self.n += other.n
        return self
