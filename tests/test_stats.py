"""Intervals against closed forms and scipy; mergeable states equal one pass over all data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lawm_eval.metrics.stats import Mean, bootstrap_interval, t_interval
from lawm_eval.metrics.success import SuccessRate, wilson_interval


def test_wilson_closed_forms():
    z2 = 1.959963984540054**2
    low, high = wilson_interval(8, 8)  # all successes: [n/(n+z²), 1]
    assert low == pytest.approx(8 / (8 + z2), rel=1e-12) and high == 1.0
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(z2 / (10 + z2), rel=1e-12)
    # symmetric around 1/2 for k = n/2
    low, high = wilson_interval(25, 50)
    assert low + high == pytest.approx(1.0, abs=1e-12)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_wilson_matches_scipy_binomtest():
    for k, n in [(3, 10), (47, 50), (120, 400)]:
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_t_interval_matches_scipy():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=37)
    mean, low, high = t_interval(x)
    ref = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (mean, low, high) == pytest.approx((x.mean(), *ref), rel=1e-12)


def test_t_interval_level_matches_scipy():
    x = np.random.default_rng(4).normal(size=12)
    _, low, high = t_interval(x, level=0.8)
    assert (low, high) == pytest.approx(stats.t.interval(0.8, 11, loc=x.mean(), scale=stats.sem(x)), rel=1e-12)


@pytest.mark.parametrize("n", [0, 1, 2, 5, 40])
def test_mean_metric_and_t_interval_agree(n):
    # one interval formula: the mergeable Mean gives t_interval's numbers (nan where n < 2)
    x = np.random.default_rng(n).normal(-2.0, 3.0, size=n)
    metric = Mean()
    metric.update(x)
    out = metric.compute()
    assert out["n"] == n
    for got, want in zip((out["value"], out["ci_low"], out["ci_high"]), t_interval(x)):
        assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, rel=1e-12)
    assert math.isnan(out["ci_low"]) == (n < 2)


def test_bootstrap_interval_brackets_the_mean_and_is_seeded():
    x = np.random.default_rng(1).exponential(size=200)
    mean, low, high = bootstrap_interval(x, seed=3)
    assert low < mean < high
    assert bootstrap_interval(x, seed=3) == (mean, low, high)


def test_mean_merge_equals_all_data():
    rng = np.random.default_rng(2)
    x = rng.normal(1e6, 1.0, size=1000)  # large offset: a sum-of-squares state would cancel
    whole = Mean()
    whole.update(x)
    parts = [Mean() for _ in range(4)]
    for part, chunk in zip(parts, np.array_split(x, 4)):
        part.update(chunk)
    merged = parts[0].merge(parts[1]).merge(parts[2]).merge(parts[3])
    for key in ("value", "ci_low", "ci_high"):
        assert merged.compute()[key] == pytest.approx(whole.compute()[key], rel=1e-12)
    ref = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (whole.compute()["ci_low"], whole.compute()["ci_high"]) == pytest.approx(ref, rel=1e-9)


def test_success_rate_merge_and_state_round_trip():
    a, b = SuccessRate(), SuccessRate()
    a.update([True, False, True])
    b.update([True, True])
    restored = SuccessRate()
    restored.load_state_dict(a.state_dict())
    merged = restored.merge(b).compute()
    assert merged["successes"] == 4 and merged["n"] == 5
    assert (merged["ci_low"], merged["ci_high"]) == pytest.approx(wilson_interval(4, 5))
