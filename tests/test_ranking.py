"""Evaluator-fidelity metrics against scipy (Pearson, Spearman) and closed forms (MMRV, pairwise
accuracy), and their paired bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lawm_eval.metrics.ranking import (
    episode_agreement,
    fidelity,
    mmrv,
    pairwise_accuracy,
    pearson,
    ranks,
    spearman,
)


@pytest.mark.parametrize("seed", range(5))
def test_pearson_and_spearman_match_scipy(seed):
    rng = np.random.default_rng(seed)
    real = rng.uniform(size=9)
    evaluated = np.round(real + rng.normal(0, 0.3, 9), 1)  # rounded: ties on the evaluated side
    assert pearson(evaluated, real) == pytest.approx(stats.pearsonr(evaluated, real)[0], abs=1e-7)
    assert spearman(evaluated, real) == pytest.approx(stats.spearmanr(evaluated, real)[0], abs=1e-12)
    assert np.array_equal(ranks(evaluated), stats.rankdata(evaluated))


def test_pearson_follows_simplerenv_on_the_edge_cases():
    assert pearson([0.25, 0.5, 0.75], [0.5, 0.75, 1.0]) == 1.0  # equal up to an offset (exactly)
    assert pearson([0.1, 0.5, 0.9], [0.3, 0.7, 1.1]) == pytest.approx(1.0 - 1e-8 / 0.32, abs=1e-12)  # its 1e-8
    assert pearson([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]) == 0.0  # a constant side: 0 (its 1e-8), not nan
    assert math.isnan(spearman([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]))


def test_mmrv_is_zero_for_a_perfect_order_and_the_largest_real_gap_it_swaps_otherwise():
    real = np.array([0.1, 0.4, 0.9])
    assert mmrv(real * 0.5, real) == 0.0
    # policies 0 and 2 swapped by the evaluator: each has violation 0.8 with the other; policy 1 is
    # violated by both (|0.4-0.1| = 0.3, |0.4-0.9| = 0.5), so its maximum is 0.5
    assert mmrv(np.array([0.9, 0.4, 0.1]), real) == pytest.approx((0.8 + 0.5 + 0.8) / 3)
    # an evaluator tie violates only from the side of the policy that is really better (strict
    # comparisons, as SimplerEnv): policy 1 (0.4 > 0.1) gets 0.3, policy 0 nothing
    assert mmrv(np.array([0.5, 0.5, 0.9]), real) == pytest.approx((0.0 + 0.3 + 0.0) / 3)


def test_pairwise_accuracy_counts_evaluator_ties_as_half_and_skips_real_ties():
    real = np.array([0.1, 0.4, 0.9, 0.9])
    assert pairwise_accuracy(real, real) == 1.0
    assert pairwise_accuracy(-real, real) == 0.0
    # pairs with distinct real rates: (0,1) (0,2) (0,3) (1,2) (1,3); the evaluator ties 0 and 1
    assert pairwise_accuracy(np.array([0.2, 0.2, 0.5, 0.6]), real) == pytest.approx(4.5 / 5)
    assert math.isnan(pairwise_accuracy(np.ones(3), np.ones(3)))


def test_fidelity_of_a_perfect_evaluator_has_degenerate_intervals_and_noise_widens_them():
    rng = np.random.default_rng(0)
    rates = np.linspace(0.05, 0.95, 8)
    real = rng.uniform(size=(8, 40)) < rates[:, None]  # (P, K)
    perfect = fidelity(real, real, resamples=300)
    assert perfect["episode_agreement"] == {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0}
    assert perfect["mmrv"]["value"] == 0.0 and perfect["pairwise_accuracy"]["ci_low"] == 1.0
    noisy = np.where(rng.uniform(size=real.shape) < 0.3, ~real, real)  # 30 % of outcomes flipped
    result = fidelity(noisy, real, resamples=300)
    assert result["episode_agreement"]["value"] == pytest.approx(episode_agreement(noisy, real))
    assert 0.6 < result["episode_agreement"]["value"] < 0.8
    for name in ("pearson", "spearman", "pairwise_accuracy", "mmrv", "episode_agreement"):
        low, value, high = (result[name][k] for k in ("ci_low", "value", "ci_high"))
        assert low <= high and low < high, name
    assert result["pearson"]["value"] < 1.0 and result["pearson"]["value"] > 0.5
    assert fidelity(noisy, real, resamples=300) == result  # deterministic for a seed
    with pytest.raises(ValueError, match="one shape"):
        fidelity(noisy[:, :5], real)
