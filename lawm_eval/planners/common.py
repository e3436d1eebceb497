"""Helpers shared by the planners: action bounds, cost checks, warm starts, and the
``SamplingPlanner`` base (config fields, action box, per-dimension initial std)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.interfaces import Objective, PlanResult

Bound = float | Sequence[float] | None


def per_dim(value: Bound, action_dim: int, name: str, if_none: float | None = None) -> torch.Tensor:
    """(A,) tensor from a scalar or a per-dimension list of planner option ``name``.

    None gives ``if_none`` in every dimension (±inf: an unbounded side of the action box); it is a
    ConfigError for an option without such a default."""
    if value is None:
        if if_none is None:
            raise ConfigError(f"planner.{name} must be set (a number or one per action dim)")
        return torch.full((action_dim,), float(if_none))
    if isinstance(value, (int, float)):
        return torch.full((action_dim,), float(value))
    values = [float(v) for v in value]
    if len(values) != action_dim:
        raise ConfigError(f"planner.{name} has {len(values)} values but the action has {action_dim} dims")
    return torch.tensor(values)


class ActionBox:
    """Per-dimension lower/upper bounds (None: unbounded); ``clip`` works on (..., A) tensors."""

    def __init__(self, low: Bound, high: Bound, action_dim: int):
        self.low = per_dim(low, action_dim, "action_low", if_none=-float("inf"))  # (A,)
        self.high = per_dim(high, action_dim, "action_high", if_none=float("inf"))  # (A,)
        if bool((self.low > self.high).any()):
            raise ConfigError("planner.action_low must not exceed planner.action_high")

    @property
    def finite(self) -> bool:
        return bool(torch.isfinite(self.low).all() and torch.isfinite(self.high).all())

    def clip(self, actions: torch.Tensor) -> torch.Tensor:
        return torch.maximum(torch.minimum(actions, self.high), self.low)


def evaluate(objective, samples: torch.Tensor) -> torch.Tensor:
    """Call the objective once on all (N,H,A) samples and check it returned N finite costs."""
    costs = objective(samples)
    n = samples.shape[0]
    if not isinstance(costs, torch.Tensor) or costs.shape != (n,):
        shape = tuple(costs.shape) if isinstance(costs, torch.Tensor) else type(costs).__name__
        raise ModelError(f"planning objective returned {shape}, expected costs of shape ({n},)")
    bad = ~torch.isfinite(costs)
    if bool(bad.any()):
        raise ModelError(f"planning costs are NaN/inf for {int(bad.sum())} of {n} candidates (model output)")
    return costs.to(torch.float64)


def correlated_noise(generator: torch.Generator, count: int, std: torch.Tensor, beta: float) -> torch.Tensor:
    """VP²'s correlated sampler (vp2/mpc/sampler.py:21-38): (count, H, A) noise with n_0 = σ_0 ε_0 and
    n_t = β n_{t−1} + (1 − β) σ_t ε_t; ``std`` is (H, A). β = 0 gives independent Gaussian noise."""
    horizon, action_dim = std.shape
    eps = torch.randn(count, horizon, action_dim, generator=generator)
    if beta == 0.0:
        return eps * std
    noise = torch.empty_like(eps)  # (N, H, A)
    noise[:, 0] = eps[:, 0] * std[0]
    for t in range(1, horizon):
        noise[:, t] = beta * noise[:, t - 1] + (1 - beta) * eps[:, t] * std[t]
    return noise


def initial_mean(init_mean: torch.Tensor | None, horizon: int, action_dim: int) -> torch.Tensor:
    """(H,A) start mean: zeros, or a previous plan's rest padded by repeating its last action."""
    mean = torch.zeros(horizon, action_dim)
    if init_mean is not None and len(init_mean) > 0:
        init_mean = torch.as_tensor(init_mean, dtype=torch.float32)[:horizon]
        mean[: len(init_mean)] = init_mean
        mean[len(init_mean) :] = init_mean[-1]
    return mean


@dataclass
class SamplingConfig:
    """The options every sampling planner has; a planner's Config adds its own (and may change a default)."""

    horizon: int = 10
    init_std: float | Sequence[float] = 1.0  # scalar or one per action dim
    action_low: Bound = -1.0  # scalar, one per action dim, or None (unbounded)
    action_high: Bound = 1.0


class SamplingPlanner:
    """Base of the sampling planners: builds ``self.cfg`` from ``Config(**params)``, runs the
    planner's ``check``, then the action box ``self.box`` and the (A,) ``self.init_std``."""

    Config: type[SamplingConfig] = SamplingConfig

    def __init__(self, action_dim: int, **params: Any):
        self.cfg = self.Config(**params)
        self.check(self.cfg)
        self.action_dim = action_dim
        self.box = ActionBox(self.cfg.action_low, self.cfg.action_high, action_dim)
        self.init_std = per_dim(self.cfg.init_std, action_dim, "init_std")  # (A,)

    def check(self, cfg: Any) -> None:
        """Raise ConfigError on option values this planner cannot use (runs before the box is built)."""

    def plan(
        self, objective: Objective, generator: torch.Generator, init_mean: torch.Tensor | None = None
    ) -> PlanResult:
        raise NotImplementedError
