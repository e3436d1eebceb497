"""Cross-entropy method, batched: each iteration scores all N candidates in one objective call.

Covers the two reference variants through its options:
- jepa-wms / V-JEPA 2 (DROID): mean 0, std ``init_std``, sample 0 of every iteration set to the
  current mean (``include_mean=True``, jepa-wms' "mean sample inclusion"), per-dimension clamps,
  top-K elites, unbiased std, momentum; executes the final mean (``select='mean'``).
- VP² (RoboDesk; vp2/mpc/cem.py): 10 elites of 200 (elites_frac 0.05), biased variance, variance
  shrunk near the bounds (``bound_variance=True``), VP²'s correlated sampler (``beta=0.5``), returns
  the best sample of the last iteration (``select='last_best'``).
"""

from __future__ import annotations

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

SELECT = ("best", "mean", "last_best")


@dataclass
class CEMConfig(SamplingConfig):
    num_samples: int = 300
    num_elites: int = 10
    iterations: int = 15
    momentum_mean: float = 0.0  # new = (1 - m) * elite statistic + m * old
    momentum_std: float = 0.0
    unbiased_std: bool = True
    bound_variance: bool = False  # shrink std so mean ± 2 std stays inside the bounds (pddm, VP²)
    select: str = "best"  # best (over all iterations) | mean | last_best (best of last iteration)
    include_mean: bool = False  # sample 0 of each iteration is the current mean (jepa-wms planner.py)
    beta: float = 0.0  # noise correlation between time steps (VP²'s correlated sampler: 0.5); 0 = independent


class CEMPlanner(SamplingPlanner):
    Config = CEMConfig

    def check(self, cfg: CEMConfig) -> None:
        if cfg.select not in SELECT:
            raise ConfigError(f"planner.select must be one of {', '.join(SELECT)}, got '{cfg.select}'")
        if not 0 < cfg.num_elites <= cfg.num_samples:
            raise ConfigError(f"planner.num_elites must be in 1..num_samples ({cfg.num_samples})")
        if cfg.unbiased_std and cfg.num_elites < 2:
            raise ConfigError("planner.num_elites must be ≥ 2 with unbiased_std")
        if cfg.iterations < 1 or cfg.horizon < 1:
            raise ConfigError("planner.iterations and planner.horizon must be ≥ 1")
        if not 0.0 <= cfg.beta < 1.0:
            raise ConfigError("planner.beta must be in [0, 1)")

    @torch.no_grad()
    def plan(
        self, objective: Objective, generator: torch.Generator, init_mean: torch.Tensor | None = None
    ) -> PlanResult:
        cfg, A = self.cfg, self.action_dim
        mean = initial_mean(init_mean, cfg.horizon, A)  # (H, A)
        std = self.init_std.expand(cfg.horizon, A).clone()  # (H, A)
        best_actions, best_cost = mean, float("inf")
        elite_costs, min_costs = [], []
        for _ in range(cfg.iterations):
            if cfg.bound_variance:
                room = torch.minimum(mean - self.box.low, self.box.high - mean) / 2
                std = torch.minimum(std, room.clamp(min=0))
            samples = mean + correlated_noise(generator, cfg.num_samples, std, cfg.beta)  # (N, H, A)
            if cfg.include_mean:  # the previous mean stays a candidate, so it is never lost
                samples[0] = mean
            samples = self.box.clip(samples)
            costs = evaluate(objective, samples)  # (N,)
            min_costs.append(float(costs.min()))
            order = torch.argsort(costs, stable=True)
            elites = samples[order[: cfg.num_elites]]  # (K, H, A)
            elite_costs.append(float(costs[order[: cfg.num_elites]].mean()))
            if cfg.select == "last_best" or float(costs[order[0]]) < best_cost:
                best_actions, best_cost = samples[order[0]], float(costs[order[0]])
            mean = (1 - cfg.momentum_mean) * elites.mean(0) + cfg.momentum_mean * mean
            elite_std = elites.std(0, unbiased=cfg.unbiased_std)
            std = (1 - cfg.momentum_std) * elite_std + cfg.momentum_std * std
        info = {"elite_cost_per_iteration": elite_costs, "min_cost_per_iteration": min_costs,
                "final_std": float(std.mean())}
        if cfg.select == "mean":
            actions = self.box.clip(mean)
            cost = float(evaluate(objective, actions[None])[0])
            return PlanResult(actions, cost, info)
        return PlanResult(best_actions, best_cost, info)
