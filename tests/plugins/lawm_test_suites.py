"""A plugin suite for the tests: each episode draws code indices and returns a Codebook state and
a Mean state, which the driver must merge (registered through tests/plugins' entry points)."""

from __future__ import annotations

import numpy as np

from lawm_eval.bundle import ModelBundle
from lawm_eval.metrics.latent import Codebook
from lawm_eval.metrics.stats import Mean
from lawm_eval.suites.base import EpisodeOutcome, Suite

MANIFEST = {
    "name": "states_demo",
    "version": "v1",
    "description": "test suite whose episodes return metric states",
    "protocol": "lawm_test_suites:StatesDemoSuite",
    "params": {"episodes": 6, "codes": 16},
}


def episode_indices(seed: int, codes: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, codes // 2 + seed % 5, size=50)


class StatesDemoSuite(Suite):
    def episodes(self):
        return [self.spec("draw", i, 100 + i) for i in range(self.params["episodes"])]

    def run_episode(self, spec, model, planner, *, frames=False):
        idx = episode_indices(spec.seed, self.params["codes"])
        codebook = Codebook(self.params["codes"])
        codebook.update(idx)
        mean = Mean()
        mean.update(idx.astype(float))
        return EpisodeOutcome(success=True, metrics={"mean_index": float(idx.mean())}, steps=1,
                              states={"codebook": codebook, "mean": mean})


def null_model(suite=None):
    return ModelBundle("null", info={"note": "no parts"})
