"""Random action sequences: ``random`` draws one and never queries the model (the no-planning
baseline); ``random_shooting`` draws N in one objective call and keeps the best.

Both sample uniformly inside the action bounds, or from a Gaussian with ``init_std`` clipped to
them; the Gaussian of ``random`` is centred on the warm start (``init_mean``), that of
``random_shooting`` on zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lawm_eval.errors import ConfigError
from lawm_eval.interfaces import Objective, PlanResult
from lawm_eval.planners.common import SamplingConfig, SamplingPlanner, evaluate, initial_mean

DISTRIBUTIONS = ("uniform", "gaussian")


@dataclass
class RandomConfig(SamplingConfig):
    distribution: str = "uniform"  # uniform inside the action bounds | gaussian(mean, init_std), clipped


@dataclass
class RandomShootingConfig(RandomConfig):
    num_samples: int = 64


class RandomPlanner(SamplingPlanner):
    """The no-planning baseline: one random action sequence, the world model is never queried."""

    Config = RandomConfig

    def __init__(self, action_dim: int, **params):
        super().__init__(action_dim, **params)
        if self.cfg.distribution == "uniform" and not self.box.finite:
            raise ConfigError("uniform random shooting needs finite planner.action_low/action_high")

    def check(self, cfg: RandomConfig) -> None:
        if cfg.distribution not in DISTRIBUTIONS:
            raise ConfigError("planner.distribution must be 'uniform' or 'gaussian'")

    def sample(self, count: int, generator: torch.Generator, mean: torch.Tensor | None = None) -> torch.Tensor:
        """(count, H, A) sequences; ``mean`` (H, A) centres the Gaussian (zero when None)."""
        shape = (count, self.cfg.horizon, self.action_dim)
        if self.cfg.distribution == "uniform":
            u = torch.rand(shape, generator=generator)
            return self.box.low + u * (self.box.high - self.box.low)
        noise = torch.randn(shape, generator=generator) * self.init_std
        return self.box.clip(noise if mean is None else mean + noise)

    @torch.no_grad()
    def plan(
        self, objective: Objective, generator: torch.Generator, init_mean: torch.Tensor | None = None
    ) -> PlanResult:
        mean = None
        if self.cfg.distribution == "gaussian":
            mean = initial_mean(init_mean, self.cfg.horizon, self.action_dim)  # (H, A)
        actions = self.sample(1, generator, mean)[0]
        return PlanResult(actions, float("nan"), {"note": "random baseline, no model query"})


class RandomShootingPlanner(RandomPlanner):
    """Best of ``num_samples`` random sequences (Gaussian centred on zero), scored in one objective call."""

    Config = RandomShootingConfig

    @torch.no_grad()
    def plan(
        self, objective: Objective, generator: torch.Generator, init_mean: torch.Tensor | None = None
    ) -> PlanResult:
        samples = self.sample(self.cfg.num_samples, generator)  # (N, H, A)
        costs = evaluate(objective, samples)  # (N,)
        best = int(torch.argmin(costs))
        return PlanResult(samples[best], float(costs[best]), {})
