"""FID/FVD states: compact while there are fewer samples than dimensions, exact when merged."""

from __future__ import annotations

import io

import numpy as np
import pytest

from lawm_eval.metrics.base import load_states, save_states
from lawm_eval.metrics.distribution import FID
from lawm_eval.metrics.frechet import FeatureStats


def dense(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    centred = x - x.mean(0)
    return x.mean(0), centred.T @ centred


def test_merged_few_sample_states_equal_the_statistics_of_all_samples():
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(8, 64)) for _ in range(5)]
    merged = FeatureStats(64)
    for part in parts:
        piece = FeatureStats(64)
        piece.update(part)
        assert "rows" in piece.state_dict() and piece.state_dict()["rows"].shape == (8, 64)
        merged.merge(piece)
    mean, m2 = dense(np.vstack(parts))
    assert merged.n == 40 and merged.rows is not None and merged.rows.shape[0] < 64
    np.testing.assert_allclose(merged.mean, mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(merged.m2, m2, rtol=1e-10, atol=1e-10)


def test_states_turn_dense_past_as_many_rows_as_dimensions():
    rng = np.random.default_rng(1)
    merged = FeatureStats(16)
    data = [rng.normal(size=(6, 16)) for _ in range(4)]
    for part in data:
        piece = FeatureStats(16)
        piece.update(part)
        merged.merge(piece)
    assert merged.rows is None and "m2" in merged.state_dict()
    np.testing.assert_allclose(merged.m2, dense(np.vstack(data))[1], rtol=1e-10, atol=1e-10)


@pytest.mark.slow  # 2048-d Fréchet distances: tens of seconds on 2 CPU cores, kept out of `make test-fast`
def test_a_fid_window_state_file_is_small_and_round_trips(tmp_path):
    rng = np.random.default_rng(2)
    fid = FID()
    fid.real.update(rng.normal(size=(8, 2048)))
    fid.fake.update(rng.normal(size=(8, 2048)))
    save_states(str(tmp_path / "s.npz"), {"fid": fid})
    assert (tmp_path / "s.npz").stat().st_size < 400_000  # was 64 MB with dense 2048x2048 M2s
    (loaded,) = load_states(str(tmp_path / "s.npz")).values()
    other = FID()
    other.real.update(rng.normal(size=(8, 2048)))
    other.fake.update(rng.normal(size=(8, 2048)))
    expected = fid.clone().merge(other).compute()["value"]
    assert loaded.merge(other).compute()["value"] == pytest.approx(expected, rel=1e-9)


def test_states_saved_before_rows_still_load():
    old = {"n": 1, "mean": np.ones(4), "m2": None}
    stats = FeatureStats()
    stats.load_state_dict(old)
    assert stats.n == 1 and np.array_equal(stats.m2, np.zeros((4, 4)))
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(1))  # the loader does not need pickle
