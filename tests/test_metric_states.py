"""Metric states returned by episodes are saved beside the records and merged by the driver."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lawm_eval.metrics.base import load_states, save_states
from lawm_eval.metrics.frechet import FeatureStats
from lawm_eval.metrics.image import PSNR
from lawm_eval.metrics.latent import CCA, Codebook
from lawm_eval.metrics.stats import Mean
from lawm_eval.metrics.success import SuccessRate
from lawm_eval.runner.run import run_evaluation

PLUGINS = str(Path(__file__).parent / "plugins")


def test_states_round_trip_through_npz(tmp_path):
    import torch

    rng = np.random.default_rng(0)
    psnr = PSNR()
    psnr.update(torch.rand(3, 3, 8, 8), torch.rand(3, 3, 8, 8))
    codebook, cca, success, mean = Codebook(8), CCA(), SuccessRate(), Mean()
    codebook.update(rng.integers(0, 8, 20))
    cca.update(rng.normal(size=(30, 3)), rng.normal(size=(30, 2)))
    success.update([True, False, True])
    mean.update(rng.normal(size=5))
    states = {"psnr": psnr, "codebook": codebook, "cca": cca, "success": success, "mean": mean}
    save_states(str(tmp_path / "s.npz"), states)
    loaded = load_states(str(tmp_path / "s.npz"))
    for name, metric in states.items():
        assert type(loaded[name]) is type(metric)
        assert loaded[name].compute() == metric.compute()


def test_single_sample_feature_stats_are_stored_compactly():
    stats = FeatureStats()
    stats.update(np.ones((1, 2048)))
    assert stats.state_dict()["rows"].shape == (1, 2048) and "m2" not in stats.state_dict()
    restored = FeatureStats()
    restored.load_state_dict(stats.state_dict())
    restored.merge(stats)
    assert restored.n == 2 and restored.m2.shape == (2048, 2048)


def expected_codebook(episodes: int = 6, codes: int = 16):
    import lawm_test_suites

    whole = Codebook(codes)
    for i in range(episodes):
        whole.update(lawm_test_suites.episode_indices(100 + i, codes))
    return whole.compute()


def test_driver_merges_episode_states_serially(plugin_suites, compose):
    outcome = run_evaluation(compose("suite=states_demo", "model=no_parts", "run_id=states"))
    merged = outcome.summary["merged_metrics"]
    assert merged["codebook"] == expected_codebook()
    assert merged["mean"]["n"] == 300
    files = sorted((outcome.run_dir / "states").glob("*.npz"))
    assert len(files) == 6


@pytest.mark.slow
@pytest.mark.extra("ray")
def test_ray_workers_states_merge_to_the_same_result(plugin_suites, compose, monkeypatch, tmp_path):
    import os
    import tempfile

    import ray

    monkeypatch.setenv("PYTHONPATH", PLUGINS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False,
             _temp_dir=tempfile.mkdtemp(prefix="lr-", dir="/tmp"))
    try:
        outcome = run_evaluation(compose("suite=states_demo", "model=no_parts", "run_id=states_ray", "executor=ray"))
    finally:
        ray.shutdown()
    assert outcome.summary["merged_metrics"]["codebook"] == expected_codebook()
    workers = {r["worker"] for r in map(__import__("json").loads,
                                        (outcome.run_dir / "episodes.jsonl").read_text().splitlines())}
    assert len(workers) == 2
