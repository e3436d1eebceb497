"""Trajectory and planning metrics.

- ATE / RPE exactly as NWM's planning evaluation computes them with evo: poses are the planar
  positions (x, y, 0) with a constant orientation, APE translation RMSE without alignment or scale
  correction, RPE translation RMSE between consecutive frames (delta 1). With a constant
  orientation the relative translation error is ‖(p̂_{i+1} − p̂_i) − (p_{i+1} − p_i)‖.
- Δxyz (jepa-wms, DROID): ‖Σ_t a_plan − Σ_t a_expert‖₁ over the xyz dims of delta actions (the
  expert sequence cut to the plan's length); also orientation (dims 3–5) and gripper (6).
- Embedding distances δf: L2 between embeddings (subgoal ↔ achieved).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lawm_eval.errors import ConfigError
from lawm_eval.metrics.base import Metric
from lawm_eval.metrics.stats import Mean

DROID_GROUPS = {"xyz": (0, 1, 2), "orientation": (3, 4, 5), "gripper": (6,)}


def _positions(trajectory: np.ndarray) -> np.ndarray:
    p = np.asarray(trajectory, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] not in (2, 3):
        raise ValueError(f"a trajectory must be (T, 2) or (T, 3) positions, got {p.shape}")
    return p


def ate(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Absolute trajectory error: RMSE of ‖p̂_i − p_i‖ (no alignment, no scale correction)."""
    est, ref = _positions(estimate), _positions(reference)
    if est.shape != ref.shape:
        raise ValueError(f"trajectories differ in shape: {est.shape} vs {ref.shape}")
    return float(np.sqrt(np.mean(np.sum((est - ref) ** 2, axis=1))))


def rpe(estimate: np.ndarray, reference: np.ndarray, delta: int = 1) -> float:
    """Relative pose error (translation), RMSE over frame pairs (i, i+delta)."""
    est, ref = _positions(estimate), _positions(reference)
    if est.shape != ref.shape:
        raise ValueError(f"trajectories differ in shape: {est.shape} vs {ref.shape}")
    if len(est) <= delta:
        raise ValueError(f"RPE with delta {delta} needs more than {delta} poses, got {len(est)}")
    d_est, d_ref = est[delta:] - est[:-delta], ref[delta:] - ref[:-delta]
    return float(np.sqrt(np.mean(np.sum((d_est - d_ref) ** 2, axis=1))))


def delta_action(planned: np.ndarray, expert: np.ndarray,
                 groups: dict[str, Sequence[int]] | None = None) -> dict[str, float]:
    """|Σ planned − Σ expert[:len(planned)]| summed within each group of action dims, and 'total'.

    The default groups are DROID's 7-D layout (xyz 0–2, orientation 3–5, gripper 6); a group is
    kept only when all its dims exist, so 3-D actions give xyz alone. Actions with fewer than 3
    dims have no xyz group: that is a ConfigError (rather than a silent 0), as is an explicit
    group naming a dim the actions lack; pass ``groups`` for other layouts (e.g. {"xy": (0, 1)}).
    """
    plan = np.asarray(planned, dtype=np.float64)
    gt = np.asarray(expert, dtype=np.float64)[: len(plan)]
    if plan.ndim != 2 or gt.shape[1:] != plan.shape[1:]:
        raise ValueError(f"planned {plan.shape} and expert {gt.shape} actions must be (T, A) alike")
    n_dims = plan.shape[1]
    if groups is None:
        if n_dims < len(DROID_GROUPS["xyz"]):
            raise ConfigError(f"Δxyz needs actions with x, y, z in dims 0–2, got {n_dims}-D actions "
                              "(pass groups= for another layout)")
        groups = {name: dims for name, dims in DROID_GROUPS.items() if max(dims) < n_dims}
    for name, dims in groups.items():
        if any(not 0 <= d < n_dims for d in dims):
            raise ConfigError(f"action group '{name}' names dims {list(dims)} but the actions have {n_dims}")
    diff = np.abs(plan.sum(0) - gt.sum(0))  # (A,)
    out = {name: float(diff[list(dims)].sum()) for name, dims in groups.items()}
    out["total"] = float(sum(out.values()))
    return out


def embedding_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L2 distance per row: (N, ...) × (N, ...) → (N,)."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.linalg.norm((x - y).reshape(len(x), -1), axis=1)


class _PerTrajectoryMean(Metric):
    """Mean (t interval) of a per-trajectory value; mergeable."""


    def reset(self) -> None:
        self.mean = Mean()

    def value(self, estimate: np.ndarray, reference: np.ndarray) -> float:
        raise NotImplementedError

    def update(self, estimate: np.ndarray, reference: np.ndarray) -> None:
        self.mean.update(self.value(estimate, reference))

    def compute(self) -> dict[str, Any]:
        return self.mean.compute()

    def state_dict(self) -> dict[str, Any]:
        return self.mean.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean.load_state_dict(state)

    def merge(self, other: _PerTrajectoryMean) -> _PerTrajectoryMean:
        self.mean.merge(other.mean)
        return self


class ATE(_PerTrajectoryMean):
    name = "ate"

    def value(self, estimate: np.ndarray, reference: np.ndarray) -> float:
        return ate(estimate, reference)


class RPE(_PerTrajectoryMean):
    name = "rpe"

    def value(self, estimate: np.ndarray, reference: np.ndarray) -> float:
        return rpe(estimate, reference)


class DeltaXYZ(_PerTrajectoryMean):
    name = "delta_xyz"

    def value(self, estimate: np.ndarray, reference: np.ndarray) -> float:
        return delta_action(estimate, reference)["xyz"]


class EmbeddingDistance(_PerTrajectoryMean):
    """Mean L2 distance between paired embeddings (δf, δf_g)."""

    name = "embedding_distance"

    def update(self, estimate: np.ndarray, reference: np.ndarray) -> None:
        self.mean.update(embedding_distance(estimate, reference))
