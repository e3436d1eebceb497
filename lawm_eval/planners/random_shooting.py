"""Random shooting: N uniform (or Gaussian) sequences in one objective call; keep the best."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lawm_eval.errors import ConfigError
from lawm_eval.interfaces import Objective, PlanResult
from lawm_eval.planners.common import ActionBox, evaluate, initial_mean, per_dim


@dataclass
class RandomShootingConfig:
    horizon: int = 10
    num_samples: int = 64
    distribution: str = "uniform"  # uniform inside the action bounds | gaussian(0, init_std)
    init_std: float | Sequence[float] = 1.0
    action_low: float | Sequence[float] | None = -1.0
    action_high: float | Sequence[float] | None = 1.0


class RandomShootingPlanner:
    Config = RandomShootingConfig

    def __init__(self, action_dim: int, **params):
        self.cfg = RandomShootingConfig(**params)
        if self.cfg.distribution not in ("uniform", "gaussian"):
            raise ConfigError("planner.distribution must be 'uniform' or 'gaussian'")
        self.action_dim = action_dim
        self.box = ActionBox(self.cfg.action_low, self.cfg.action_high, action_dim)
        if self.cfg.distribution == "uniform" and not bool(
            torch.isfinite(self.box.low).all() and torch.isfinite(self.box.high).all()
        ):
            raise ConfigError("uniform random shooting needs finite planner.action_low/action_high")
        self.std = per_dim(self.cfg.init_std, action_dim, "init_std")

    @torch.no_grad()
    def plan(
        self, objective: Objective, generator: torch.Generator, init_mean: torch.Tensor | None = None
    ) -> PlanResult:
        cfg = self.cfg
        shape = (cfg.num_samples, cfg.horizon, self.action_dim)
        if cfg.distribution == "uniform":
            u = torch.rand(shape, generator=generator)
            samples = self.box.low + u * (self.box.high - self.box.low)
        else:
            samples = self.box.clip(torch.randn(shape, generator=generator) * self.std)
        costs = evaluate(objective, samples)
        best = int(torch.argmin(costs))
        return PlanResult(samples[best], float(costs[best]), {})


@dataclass
class RandomConfig:
    horizon: int = 10
    distribution: str = "uniform"  # uniform inside the action bounds | gaussian(init_mean, init_std)
    init_std: float | Sequence[float] = 1.0
    action_low: float | Sequence[float] | None = -1.0
    action_high: float | Sequence[float] | None = 1.0


class RandomPlanner:
    """The no-planning baseline: one random action sequence, the world model is never queried."""

    Config = RandomConfig

    def __init__(self, action_dim: int, **params):
        self.inner = RandomShootingPlanner(action_dim, num_samples=1, **params)
        self.cfg = self.inner.cfg

    @torch.no_grad()
    def plan(
        self, objective: Objective, generator: torch.Generator, init_mean: torch.Tensor | None = None
    ) -> PlanResult:
        cfg, a = self.inner.cfg, self.inner.action_dim
        if cfg.distribution == "uniform":
            u = torch.rand(cfg.horizon, a, generator=generator)
            actions = self.inner.box.low + u * (self.inner.box.high - self.inner.box.low)
        else:
            mean = initial_mean(init_mean, cfg.horizon, a)
            actions = self.inner.box.clip(mean + torch.randn(cfg.horizon, a, generator=generator) * self.inner.std)
        return PlanResult(actions, float("nan"), {"note": "random baseline, no model query"})
