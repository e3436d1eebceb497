"""MPPI as in VP²: correlated Gaussian noise, reward-weighted mean, one iteration per step.

Noise: n_0 = ε_0 σ_0, n_t = β n_{t−1} + (1 − β) ε_t σ_t; samples = clip(μ + n); weights
w = exp(γ (R − max R)) with R = −cost; μ' = Σ w a / (Σ w + 1e−10). The std is reset to
``init_std`` at every call; the mean is warm-started from the previous plan's rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lawm_eval.errors import ConfigError
from lawm_eval.interfaces import Objective, PlanResult
from lawm_eval.planners.common import (
    SamplingConfig,
    SamplingPlanner,
    correlated_noise,
    evaluate,
    initial_mean,
)


@dataclass
class MPPIConfig(SamplingConfig):
    init_std: float | Sequence[float] = 0.5
    num_samples: int = 200
    iterations: int = 1
    gamma: float = 0.05  # reward temperature
    beta: float = 0.5  # noise correlation between time steps


class MPPIPlanner(SamplingPlanner):
    Config = MPPIConfig

    def check(self, cfg: MPPIConfig) -> None:
        if cfg.iterations < 1 or cfg.horizon < 1 or cfg.num_samples < 1:
            raise ConfigError("planner.iterations, horizon and num_samples must be ≥ 1")
        if not 0.0 <= cfg.beta < 1.0:
            raise ConfigError("planner.beta must be in [0, 1)")

    def correlated_noise(self, generator: torch.Generator) -> torch.Tensor:
        std = self.init_std.expand(self.cfg.horizon, self.action_dim)  # (H, A)
        return correlated_noise(generator, self.cfg.num_samples, std, self.cfg.beta)

    @torch.no_grad()
    def plan(
        self, objective: Objective, generator: torch.Generator, init_mean: torch.Tensor | None = None
    ) -> PlanResult:
        cfg = self.cfg
        mean = initial_mean(init_mean, cfg.horizon, self.action_dim)  # (H, A)
        best_cost = float("inf")
        for _ in range(cfg.iterations):
            samples = self.box.clip(mean + self.correlated_noise(generator))  # (N, H, A)
            costs = evaluate(objective, samples)  # (N,)
            rewards = -costs
            weights = torch.exp(cfg.gamma * (rewards - rewards.max()))  # (N,)
            mean = (weights[:, None, None] * samples.double()).sum(0) / (weights.sum() + 1e-10)
            mean = mean.float()
            best_cost = min(best_cost, float(costs.min()))
        return PlanResult(mean, best_cost, {"best_sample_cost": best_cost})
