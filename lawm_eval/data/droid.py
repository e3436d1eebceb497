"""DROID conventions the planning suite follows, as jepa-wms reads DROID
(``app/plan_common/datasets/droid_dset.py``).

- State: ``[x, y, z, roll, pitch, yaw, gripper]`` — DROID's ``cartesian_position`` (xyz and Euler
  angles, scipy's extrinsic ``"xyz"`` convention, radians) with ``gripper_position`` appended.
- Actions are derived from consecutive states (jepa-wms ``poses_to_diffs``): the xyz difference,
  the relative rotation R_{t+1}·R_tᵀ written as ``"xyz"`` Euler angles, and the gripper difference.
- Frame rate: jepa-wms reads every ``ceil(video_fps / fps)``-th frame (``fstp``; 4 fps → every 4th
  frame of DROID's 15 Hz recordings) and derives the actions from the subsampled states.
"""

from __future__ import annotations

import math

import numpy as np

STATE_DIM = 7  # xyz, Euler xyz, gripper
EULER = "xyz"  # scipy's lower case: extrinsic rotations about x, then y, then z (R = Rz·Ry·Rx)


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
