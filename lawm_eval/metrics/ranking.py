"""How well one evaluator's success rates (a world model's imagined rollouts) rank policies the way
another's do (the simulator, the ground truth): Pearson and Spearman correlation, MMRV and pairwise
ranking accuracy over policies, per-episode agreement, and paired bootstrap intervals over trials.

Pearson and MMRV follow SimplerEnv (``simpler_env/utils/metrics.py``: ``pearson_correlation``,
``mean_maximum_rank_violation``): MMRV = mean over policies i of max_j |R_i − R_j| over the j whose
order under the evaluator disagrees with the real order, with strict comparisons on both sides.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

RankingMetric = Callable[[np.ndarray, np.ndarray], float]


def pearson(evaluated: np.ndarray, real: np.ndarray) -> float:
    """Pearson correlation of two (P,) rate vectors as SimplerEnv computes it: 1 when they are equal
    up to a common offset, and 1e-8 added to the denominator (so 0, not nan, when one is constant)."""
    e = np.asarray(evaluated, np.float64) - np.mean(evaluated)
    r = np.asarray(real, np.float64) - np.mean(real)
    if np.all(e == r):
        return 1.0
    return float((e * r).sum() / (math.sqrt(float((e * e).sum() * (r * r).sum())) + 1e-8))


def ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1-based; ties share the mean of their positions): scipy.stats.rankdata."""
    from scipy.stats import rankdata

    return rankdata(np.asarray(values, np.float64))


def spearman(evaluated: np.ndarray, real: np.ndarray) -> float:
    """Spearman's rank correlation: Pearson's on average ranks (nan when one side is constant)."""
    e, r = ranks(evaluated), ranks(real)
    e, r = e - e.mean(), r - r.mean()
    denominator = math.sqrt(float((e * e).sum() * (r * r).sum()))
    return float((e * r).sum() / denominator) if denominator > 0 else math.nan


def mmrv(evaluated: np.ndarray, real: np.ndarray) -> float:
    """Mean maximum rank violation (SimplerEnv): 0 when every pair is ordered as in reality."""
    e, r = np.asarray(evaluated, np.float64), np.asarray(real, np.float64)
    disagree = (e[:, None] > e[None, :]) != (r[:, None] > r[None, :])  # (P, P)
    violations = np.where(disagree, np.abs(r[:, None] - r[None, :]), 0.0)
    return float(violations.max(axis=1).mean())


def pairwise_accuracy(evaluated: np.ndarray, real: np.ndarray) -> float:
    """Over the policy pairs whose real rates differ: the fraction the evaluator orders the same way
    (a tie under the evaluator counts one half); nan when every real rate is equal."""
    e, r = np.asarray(evaluated, np.float64), np.asarray(real, np.float64)
    i, j = np.triu_indices(len(r), k=1)
    keep = r[i] != r[j]
    if not keep.any():
        return math.nan
    real_sign = np.sign(r[i] - r[j])[keep]
    evaluated_sign = np.sign(e[i] - e[j])[keep]
    return float(np.where(evaluated_sign == 0, 0.5, evaluated_sign == real_sign).mean())


RANKING_METRICS: dict[str, RankingMetric] = {
    "pearson": pearson, "spearman": spearman, "mmrv": mmrv, "pairwise_accuracy": pairwise_accuracy,
}


def episode_agreement(evaluated: np.ndarray, real: np.ndarray) -> float:
    """The fraction of (policy, trial) episodes whose evaluated outcome equals the real one."""
    return float((np.asarray(evaluated, bool) == np.asarray(real, bool)).mean())


def fidelity(evaluated: np.ndarray, real: np.ndarray, resamples: int = 2000, level: float = 0.95,
             seed: int = 0) -> dict[str, dict[str, float]]:
    """Every ranking metric and the episode agreement of (P policies, K trials) outcome matrices, the
    same trial k starting from the same initial state on both sides. Each value comes with a paired
    percentile bootstrap interval: K trials drawn with replacement, the same draw for every policy
    and both evaluators (replicates where a metric is undefined are left out)."""
    evaluated, real = np.asarray(evaluated, np.float64), np.asarray(real, np.float64)
    if evaluated.shape != real.shape or evaluated.ndim != 2:
        raise ValueError(f"outcomes must be two (policies, trials) matrices of one shape, got "
                         f"{evaluated.shape} and {real.shape}")
    metrics: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        name: (lambda e, r, f=f: f(e.mean(1), r.mean(1))) for name, f in RANKING_METRICS.items()}
    metrics["episode_agreement"] = episode_agreement
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, real.shape[1], (resamples, real.shape[1]))
    alpha = (1 - level) / 2
    result = {}
    for name, metric in metrics.items():
        replicates = np.array([metric(evaluated[:, d], real[:, d]) for d in draws])
        replicates = replicates[np.isfinite(replicates)]
        low, high = (np.quantile(replicates, [alpha, 1 - alpha]) if replicates.size else (math.nan, math.nan))
        result[name] = {"value": metric(evaluated, real), "ci_low": float(low), "ci_high": float(high)}
    return result
