"""DROID conventions the planning suite follows, as jepa-wms reads DROID
(``app/plan_common/datasets/droid_dset.py``).

- State: ``[x, y, z, roll, pitch, yaw, gripper]`` — DROID's ``cartesian_position`` (xyz and Euler
  angles, scipy's extrinsic ``"xyz"`` convention, radians) with ``gripper_position`` appended.
- Actions are derived from consecutive states (jepa-wms ``poses_to_diffs``): the xyz difference,
  the relative rotation R_{t+1}·R_tᵀ written as ``"xyz"`` Euler angles, and the gripper difference.
- Gripper: DROID's ``gripper_position`` is the closure 1 − width / max_width, 0 open … 1 closed
  (droid-dataset/droid ``droid/franka/robot.py:150-151``); the protocol's gripper bounds (max norm
  0.75) and CEM std (0.1) are in these units. ``GRIPPER_UNITS`` names the other units a dataset or a
  model may use; planning converts them to and from closure.
- Frame rate: jepa-wms reads every ``ceil(video_fps / fps)``-th frame (``fstp``; 4 fps → every 4th
  frame of DROID's 15 Hz recordings) and derives the actions from the subsampled states.
"""

from __future__ import annotations

import math

import numpy as np

STATE_DIM = 7  # xyz, Euler xyz, gripper
EULER = "xyz"  # scipy's lower case: extrinsic rotations about x, then y, then z (R = Rz·Ry·Rx)
GRIPPER = 6  # the gripper's index in the state and the action
PANDA_MAX_WIDTH_M = 0.08  # robosuite 1.4 panda_gripper.xml:30,40: each finger slides 0 … 0.04 m
# closure = scale · value + offset for a gripper value in each unit; a change of value scales by ``scale``
GRIPPER_UNITS = {
    "closure": (1.0, 0.0),  # DROID: 0 open … 1 closed
    "width_m": (-1.0 / PANDA_MAX_WIDTH_M, 1.0),  # the Panda fingers' opening in metres (generated Franka clips)
}


def check_gripper_units(units: str, where: str) -> str:
    """``units`` if it names an entry of GRIPPER_UNITS, else a ValueError naming them."""
    if units not in GRIPPER_UNITS:
        raise ValueError(f"{where}: unknown gripper units {units!r} (known: {', '.join(GRIPPER_UNITS)})")
    return units


def states_in_closure(states: np.ndarray, units: str) -> np.ndarray:
    """(T,≥7) states with the gripper in ``units`` → the same states with DROID's closure gripper."""
    scale, offset = GRIPPER_UNITS[check_gripper_units(units, "states")]
    out = np.array(states, dtype=np.float64, copy=True)
    out[..., GRIPPER] = scale * out[..., GRIPPER] + offset
    return out


def gripper_delta_scale(source: str, target: str) -> float:
    """The factor that turns a gripper change in ``source`` units into one in ``target`` units."""
    return GRIPPER_UNITS[check_gripper_units(source, "source")][0] / GRIPPER_UNITS[check_gripper_units(target, "target")][0]


def frame_step(dataset_fps: float, fps: float) -> int:
    """Frames of the recording between two protocol frames: ceil(dataset_fps / fps) (jepa-wms
    ``fstp``), at least 1. A recording without a known rate (0) is taken as already at ``fps``."""
    if not dataset_fps or dataset_fps <= 0:
        return 1
    return max(1, math.ceil(dataset_fps / fps - 1e-9))


def poses_to_deltas(states: np.ndarray) -> np.ndarray:
    """(T,7) states [xyz, Euler xyz, gripper] → (T−1,7) delta actions: xyz difference, relative
    rotation R_{t+1}·R_tᵀ as extrinsic "xyz" Euler angles, gripper difference."""
    from scipy.spatial.transform import Rotation

    states = np.asarray(states, dtype=np.float64)
    if states.ndim != 2 or states.shape[1] < STATE_DIM:
        raise ValueError(f"DROID states must be (T, ≥{STATE_DIM}) [xyz, euler xyz, gripper], got {states.shape}")
    rotations = Rotation.from_euler(EULER, states[:, 3:6])  # (T,)
    relative = rotations[1:] * rotations[:-1].inv()  # R_{t+1} · R_tᵀ, (T-1,)
    xyz = np.diff(states[:, :3], axis=0)  # (T-1, 3)
    angles = relative.as_euler(EULER)  # (T-1, 3)
    gripper = np.diff(states[:, 6:7], axis=0)  # (T-1, 1)
    return np.concatenate([xyz, angles, gripper], axis=1)
