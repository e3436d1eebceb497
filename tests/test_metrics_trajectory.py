"""ATE/RPE against evo exactly as NWM's planning evaluation calls it; Δxyz; merges."""

from __future__ import annotations

import numpy as np
import pytest

from lawm_eval.errors import ConfigError
from lawm_eval.metrics.trajectory import ATE, RPE, DeltaXYZ, ate, delta_action, embedding_distance, rpe


def nwm_evo_metrics(reference_xy: np.ndarray, estimate_xy: np.ndarray) -> tuple[float, float]:
    """NWM planning_eval.py: planar positions, constant quaternion, no alignment, delta 1 frame."""
    import evo.main_ape as main_ape
    import evo.main_rpe as main_rpe
    from evo.core import metrics, sync
    from evo.core.metrics import PoseRelation
    from evo.core.trajectory import PoseTrajectory3D

    def to_traj(xy):
        positions = np.zeros((len(xy), 3))
        positions[:, :2] = xy
        quaternions = np.zeros((len(xy), 4))
        quaternions[:, -1] = 1
        return PoseTrajectory3D(positions_xyz=positions, orientations_quat_wxyz=quaternions,
                                timestamps=np.arange(len(xy), dtype=np.float64))

    ref, est = sync.associate_trajectories(to_traj(reference_xy), to_traj(estimate_xy))
    # NWM passes est_name="traj" as well; evo ≥ 1.3x dropped that (label-only) argument
    ate_value = main_ape.ape(ref, est, pose_relation=PoseRelation.translation_part,
                             align=False, correct_scale=False).stats["rmse"]
    rpe_value = main_rpe.rpe(ref, est, pose_relation=PoseRelation.translation_part,
                             align=False, correct_scale=False, delta=1.0, delta_unit=metrics.Unit.frames,
                             rel_delta_tol=0.1).stats["rmse"]
    return ate_value, rpe_value


@pytest.mark.parametrize("seed", range(5))
def test_ate_rpe_equal_evo_on_random_trajectories(seed):
    rng = np.random.default_rng(seed)
    reference = np.cumsum(rng.normal(size=(9, 2)), axis=0)
    estimate = reference + np.cumsum(rng.normal(scale=0.3, size=(9, 2)), axis=0)
    ref_ate, ref_rpe = nwm_evo_metrics(reference, estimate)
    assert ate(estimate, reference) == pytest.approx(ref_ate, abs=1e-6)
    assert rpe(estimate, reference) == pytest.approx(ref_rpe, abs=1e-6)


def test_closed_forms():
    ref = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    shifted = ref + [0.0, 3.0]
    assert ate(shifted, ref) == pytest.approx(3.0)
    assert rpe(shifted, ref) == pytest.approx(0.0)  # a rigid offset has no relative error
    assert ate(ref, ref) == 0.0
    with pytest.raises(ValueError, match="differ in shape"):
        ate(ref[:2], ref)


def test_delta_xyz_is_the_l1_of_summed_displacements():
    planned = np.array([[0.1, 0.0, 0.0, 0, 0, 0, 1.0], [0.1, 0.1, 0.0, 0, 0, 0.2, 1.0]])
    expert = np.array([[0.0, 0.1, 0.0, 0, 0, 0, 0.5], [0.0, 0.1, 0.1, 0, 0, 0, 0.5], [9, 9, 9, 9, 9, 9, 9]])
    out = delta_action(planned, expert)  # expert cut to the plan's 2 steps
    assert out["xyz"] == pytest.approx(0.2 + 0.1 + 0.1)
    assert out["orientation"] == pytest.approx(0.2)
    assert out["gripper"] == pytest.approx(1.0)
    assert out["total"] == pytest.approx(1.6)


def test_delta_action_keeps_whole_groups_and_refuses_actions_without_xyz():
    # 3-D actions: the xyz group alone (orientation and gripper dims do not exist)
    assert delta_action(np.ones((2, 3)), np.zeros((2, 3))) == {"xyz": 6.0, "total": 6.0}
    planar = np.ones((3, 2))
    with pytest.raises(ConfigError, match="Δxyz needs actions with x, y, z in dims 0–2, got 2-D actions"):
        delta_action(planar, np.zeros((3, 2)))
    with pytest.raises(ConfigError, match="got 2-D actions"):
        DeltaXYZ().update(planar, np.zeros((3, 2)))
    # other layouts name their groups; a group must name dims that exist
    assert delta_action(planar, np.zeros((3, 2)), groups={"xy": (0, 1)}) == {"xy": 6.0, "total": 6.0}
    with pytest.raises(ConfigError, match=r"action group 'xyz' names dims \[0, 1, 2\] but the actions have 2"):
        delta_action(planar, planar, groups={"xyz": (0, 1, 2)})


def test_embedding_distance():
    a = np.zeros((2, 3, 4))
    b = np.ones((2, 3, 4))
    assert np.allclose(embedding_distance(a, b), np.sqrt(12))


@pytest.mark.parametrize("metric_cls", [ATE, RPE, DeltaXYZ])
def test_trajectory_metrics_merge(metric_cls):
    rng = np.random.default_rng(1)
    pairs = [(rng.normal(size=(8, 3)), rng.normal(size=(8, 3))) for _ in range(6)]
    whole, a, b = metric_cls(), metric_cls(), metric_cls()
    for i, (est, ref) in enumerate(pairs):
        whole.update(est, ref)
        (a if i < 2 else b).update(est, ref)
    assert a.merge(b).compute()["value"] == pytest.approx(whole.compute()["value"], rel=1e-12)
