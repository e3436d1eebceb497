"""Helpers shared by the planners: action bounds, cost checks, warm starts."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lawm_eval.errors import ConfigError, ModelError

Bound = float | Sequence[float] | None


def bound_tensor(value: Bound, action_dim: int, name: str, sign: float) -> torch.Tensor:
    """A (A,) tensor from a scalar, a per-dimension list, or None (unbounded)."""
    if value is None:
        return torch.full((action_dim,), sign * float("inf"))
    if isinstance(value, (int, float)):
        return torch.full((action_dim,), float(value))
    values = [float(v) for v in value]
    if len(values) != action_dim:
        raise ConfigError(f"planner.{name} has {len(values)} values but the action has {action_dim} dims")
    return torch.tensor(values)


class ActionBox:
    """Per-dimension lower/upper bounds; ``clip`` works on (..., A) tensors."""

    def __init__(self, low: Bound, high: Bound, action_dim: int):
        self.low = bound_tensor(low, action_dim, "action_low", -1.0)  # (A,)
        self.high = bound_tensor(high, action_dim, "action_high", +1.0)  # (A,)
        if bool((self.low > self.high).any()):
            raise ConfigError("planner.action_low must not exceed planner.action_high")

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


def initial_mean(init_mean: torch.Tensor | None, horizon: int, action_dim: int) -> torch.Tensor:
    """(H,A) start mean: zeros, or a previous plan's rest padded by repeating its last action."""
    mean = torch.zeros(horizon, action_dim)
    if init_mean is not None and len(init_mean) > 0:
        init_mean = torch.as_tensor(init_mean, dtype=torch.float32)[:horizon]
        mean[: len(init_mean)] = init_mean
        mean[len(init_mean) :] = init_mean[-1]
    return mean


def per_dim(value: float | Sequence[float], action_dim: int, name: str) -> torch.Tensor:
    """(A,) tensor from a scalar or a per-dimension list."""
    if isinstance(value, (int, float)):
        return torch.full((action_dim,), float(value))
    values = [float(v) for v in value]
    if len(values) != action_dim:
        raise ConfigError(f"planner.{name} has {len(values)} values but the action has {action_dim} dims")
    return torch.tensor(values)
