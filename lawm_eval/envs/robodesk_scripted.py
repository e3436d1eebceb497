"""Scripted state-feedback policies for the 7 VP² RoboDesk tasks: they write the start/goal pairs
(``lawm_eval.data.generate.robodesk``). They run inside the ``robodesk`` simulator environment and
read ``RoboDesk.physics`` directly. VP²'s own scripted policies
(vp2/envs/scripted_policies/robodesk_scripted_policies.py) reach only some of the tasks here.

Every policy is a pure function of the current MuJoCo state (``env.physics``):
the phase (approach / descend / push / pull) is inferred from the geometry of
the gripper relative to the target object, so no memory is needed between
calls.  The controlled point is the *fingertip* (between the two finger
pads), not the ``end_effector`` site: the IK in RoboDesk only controls the
position of the end effector, so the hand orientation is random per episode
and drifts, and the fingertips sit ~4 cm in front of the site along the hand
axis.  Moving the end-effector target by ``d`` moves the fingertip by almost
exactly ``d`` within one step, so a proportional controller on the fingertip
works well.

Action convention (RoboDesk, ``action_repeat=50``): ``a[0:3]`` in [-1, 1]
moves the end-effector target by ``0.01 * a`` per physics repeat; in practice
the arm lags behind and the end effector travels ~0.08 m per env step at
``|a| = 1``.  ``a[3]`` is the wrist rotation (0 = keep), ``a[4]`` the
absolute gripper command (1 = open, -1 = closed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# Metres travelled by the end effector in one env step at |a| = 1.
_SPEED_PER_STEP = 0.08
# Proportional gain mapping a position error (m) to an action in [-1, 1].
_GAIN = 1.0 / _SPEED_PER_STEP
# Desk geometry (see assets/desk.xml): the table top spans x in [-0.6, 0.6],
# y in [0.575, 1.125], and its surface is at z = 0.76.
DESK_X_MAX = 0.6
DESK_Y_MIN = 0.575
DESK_TOP_Z = 0.76

GRIPPER_CLOSED = -1.0
GRIPPER_OPEN = 1.0



# --------------------------------------------------------------------------
# State helpers
# --------------------------------------------------------------------------

def fingertip(physics: Any) -> np.ndarray:
    """Returns the world position of the point between the two fingertips."""
    data = physics.named.data
    mid = 0.5 * (data.xpos["panda0_leftfinger"] + data.xpos["panda0_rightfinger"])
    hand_axis = data.xmat["panda0_link7"].reshape(3, 3)[:, 2]
    return mid + 0.08 * hand_axis


def _action_towards(tip: np.ndarray, target: np.ndarray,
                                        gripper: float = GRIPPER_CLOSED,
                                        gain: float = _GAIN) -> np.ndarray:
    """Proportional controller moving the fingertip to ``target``."""
    action = np.zeros(5)
    action[:3] = np.clip(gain * (np.asarray(target) - tip), -1.0, 1.0)
    action[3] = 0.0
    action[4] = gripper
    return action


def _via(tip: np.ndarray, goal: np.ndarray, safe_z: float,
                  xy_tol: float) -> np.ndarray:
    """Target that reaches ``goal`` from above, staying at ``safe_z`` until the
    fingertip is within ``xy_tol`` of the goal in the horizontal plane."""
    goal = np.asarray(goal, dtype=float)
    if np.linalg.norm(tip[:2] - goal[:2]) > xy_tol:
        return np.array([goal[0], goal[1], max(goal[2], safe_z)])
    return goal


# --------------------------------------------------------------------------
# Task policies
# --------------------------------------------------------------------------

def _push_button(physics: Any, color: str) -> np.ndarray:
    """Hover above the button, then press straight down with closed fingers."""
    tip = fingertip(physics)
    button = physics.named.data.xpos[color + "_button"].copy()
    above = button + np.array([0.0, 0.0, 0.08])
    press = button + np.array([0.0, 0.0, -0.03])
    if np.linalg.norm(tip[:2] - button[:2]) > 0.015:
        # Descend while centring, but never below the hover height.
        target = np.array([button[0], button[1], max(above[2], min(tip[2], 0.9))])
        return _action_towards(tip, target)
    return _action_towards(tip, press)


def _open_slide(physics: Any) -> np.ndarray:
    """Put the fingertips left of the slide handle bar, then push it to +x."""
    tip = fingertip(physics)
    handle = physics.named.data.site_xpos["slide_handle"].copy()
    pre = handle + np.array([-0.05, 0.0, 0.0])
    in_contact_band = (abs(tip[1] - handle[1]) < 0.03 and
                                          abs(tip[2] - handle[2]) < 0.05 and
                                          tip[0] < handle[0] - 0.015)
    if in_contact_band:
        target = np.array([handle[0] + 0.5, handle[1], handle[2]])
        return _action_towards(tip, target)
    if tip[0] > handle[0] - 0.03 and tip[1] > handle[1] - 0.06:
        # On the wrong side of (or touching) the bar: back off towards the robot.
        return _action_towards(tip, np.array([pre[0], handle[1] - 0.1, pre[2]]))
    if abs(tip[0] - pre[0]) > 0.03:
        # Line up in front of the handle (smaller y) before moving in.
        return _action_towards(tip, np.array([pre[0], min(tip[1], handle[1] - 0.05),
                                                                                    pre[2]]))
    return _action_towards(tip, pre)


def _open_drawer(physics: Any) -> np.ndarray:
    """Hook the fingertips behind the drawer handle bar and pull towards -y.

    The handle bar is only ~0.4 m in front of the robot base, where the arm
    cannot reach high up (joint 4 hits its limit), so the arm first descends
    in front of the desk edge and only then moves close to the robot.
    """
    tip = fingertip(physics)
    q = physics.named.data.qpos["drawer_joint"][0]
    # Handle bar: capsule along x at drawer-local (0, -0.36, 0.01).
    bar = np.array([0.0, 0.85 - 0.36 + q, 0.655 + 0.01])
    hook = bar + np.array([0.0, 0.045, 0.0])
    if tip[1] > bar[1] + 0.015 and tip[2] < bar[2] + 0.03 and abs(tip[0]) < 0.06:
        # Hooked behind the bar: pull towards the robot.
        return _action_towards(tip, np.array([0.0, bar[1] - 0.4, bar[2]]))
    if np.linalg.norm(tip[:2] - hook[:2]) > 0.02:
        y = hook[1] if tip[2] < 0.85 else max(hook[1], 0.56)
        return _action_towards(tip, np.array([hook[0], y, bar[2] + 0.09]))
    return _action_towards(tip, hook)


def _box_half_extents(physics: Any, body: str) -> np.ndarray:
    """World-axis-aligned half extents of the (single) box geom of ``body``."""
    model = physics.model
    body_id = model.name2id(body, "body")
    geom_id = int(np.flatnonzero(model.geom_bodyid == body_id)[0])
    rot = physics.data.xmat[body_id].reshape(3, 3)
    return np.abs(rot) @ model.geom_size[geom_id]


def _push_block_plus_x(physics: Any, body: str,
                                              push_z: float = 0.775) -> np.ndarray:
    """Pushes a box towards +x until it falls over the right desk edge.

    The fingertip travels above the other objects (``transit_z``), drops to
    the block"s height just left of it, then pushes along +x at a low height
    (low enough, ~1.5 cm above the desk, that even the tall block slides
    instead of toppling: it only tips once its centre passes the edge).
    """
    tip = fingertip(physics)
    obj = physics.named.data.xpos[body].copy()
    half = _box_half_extents(physics, body)
    contact_x = obj[0] - half[0] - 0.01
    pre = np.array([contact_x - 0.03, obj[1], push_z])
    transit_z = max(0.87, obj[2] + half[2] + 0.03)
    behind = tip[0] < contact_x + 0.01
    aligned = abs(tip[1] - obj[1]) < 0.025 and abs(tip[2] - push_z) < 0.02
    if behind and aligned:
        return _action_towards(tip, np.array([DESK_X_MAX + 0.3, obj[1], push_z]))
    if behind:
        # Fly at transit height, descending over the last ~0.2 m before the
        # pre-push point so that descent and approach overlap.
        frac = np.clip((pre[0] - tip[0] - 0.04) / 0.16, 0.0, 1.0)
        z = push_z + frac * (transit_z - push_z)
        return _action_towards(tip, np.array([min(pre[0], tip[0] + 0.2), obj[1],
                                                                                    z]))
    if tip[2] < transit_z - 0.02:
        # On the wrong side or on top: lift first (and back off a little).
        return _action_towards(tip, np.array([pre[0], tip[1], transit_z]))
    return _action_towards(tip, np.array([pre[0], obj[1], transit_z]))


def _wrist_level_fingers(physics: Any) -> float:
    """Wrist action (a[3]) that rotates joint 7 so that the finger opening
    direction becomes horizontal (needed to straddle an upright block)."""
    data = physics.named.data
    axis = data.xmat["panda0_link7"].reshape(3, 3)[:, 2]
    sep = data.xpos["panda0_leftfinger"] - data.xpos["panda0_rightfinger"]
    sep = sep / (np.linalg.norm(sep) + 1e-9)
    dsep = np.cross(axis, sep)  # d(sep)/d(angle) for a rotation about the axis
    theta = -sep[2] / dsep[2] if abs(dsep[2]) > 0.2 else 0.0
    return float(np.clip(0.5 * theta, -1.0, 1.0))


def _upright_block_off_table(physics: Any) -> np.ndarray:
    """Grasp the upright block from the robot side and carry it off the front
    desk edge (towards -y), over the flat block.

    Phases (inferred from the state): approach a pre-grasp point 8 cm behind
    the block along the horizontal hand axis with open fingers, move in, close;
    once the fingers are stopped by the block (opening 1.2-3.3 cm) carry it to
    y = 0.40; release when the block is past y = 0.50.  If the fingers close
    on nothing, they re-open and the approach restarts.
    """
    data = physics.named.data
    tip = fingertip(physics)
    block = data.xpos["upright_block"].copy()
    axis = data.xmat["panda0_link7"].reshape(3, 3)[:, 2]
    sep = data.xpos["panda0_leftfinger"] - data.xpos["panda0_rightfinger"]
    sep_z = sep[2] / (np.linalg.norm(sep) + 1e-9)
    heading = np.array([axis[0], axis[1], 0.0])
    length = np.linalg.norm(heading)
    heading = heading / length if length > 1e-9 else np.array([0.0, 1.0, 0.0])  # a vertical hand: face the desk
    grasp = np.array([block[0], block[1], 0.87])
    opening = data.qpos["panda0_finger_joint1"][0]

    def act(target: np.ndarray, gripper: float) -> np.ndarray:
        action = _action_towards(tip, target, gripper)
        action[3] = _wrist_level_fingers(physics)
        return action

    if block[1] < DESK_Y_MIN - 0.075:
        return act(np.array([block[0], 0.45, 0.95]), GRIPPER_OPEN)
    if 0.012 < opening < 0.033 and np.linalg.norm((block - tip)[:2]) < 0.04:
        return act(np.array([block[0], 0.40, 0.93]), GRIPPER_CLOSED)
    at_grasp = (np.linalg.norm((grasp - tip)[:2]) < 0.02 and
                            abs(grasp[2] - tip[2]) < 0.03)
    if at_grasp and opening > 0.008 and abs(sep_z) < 0.3:
        return act(grasp, GRIPPER_CLOSED)
    to_grasp = (grasp - tip)[:2]
    lateral = to_grasp - np.dot(to_grasp, heading[:2]) * heading[:2]
    if (at_grasp or np.linalg.norm(lateral) > 0.015 or
            np.dot(to_grasp, heading[:2]) < 0.0):
        return act(grasp - 0.08 * heading, GRIPPER_OPEN)
    return act(grasp, GRIPPER_OPEN)


def _flat_block_off_table(physics: Any) -> np.ndarray:
    """Drop the fingertip just behind (+y of) the flat block and pull it
    towards the robot over the front desk edge (only 6-13 cm away).

    The block is long along x, so the fingertip goes down near whichever end
    is further from the upright block and the ball (which sit behind it).
    """
    data = physics.named.data
    tip = fingertip(physics)
    obj = data.xpos["flat_block"].copy()
    half = _box_half_extents(physics, "flat_block")
    others = [(data.xpos["upright_block"][0], 0.023 + 0.03),
                        (data.xpos["ball"][0], 0.04 + 0.03)]
    candidates = (obj[0] - 0.05, obj[0] + 0.05)
    scores = [min(abs(c - ox) - r for ox, r in others) for c in candidates]
    push_x = candidates[int(np.argmax(scores))]
    push_y = obj[1] + half[1] + 0.03
    push_z = 0.785
    hooked = (tip[1] > obj[1] + 0.01 and tip[2] < obj[2] + half[2] + 0.04
                        and abs(tip[0] - obj[0]) < half[0])
    if hooked:
        # Pull, pressing slightly down so the fingers stay behind the block.
        return _action_towards(tip, np.array([push_x, DESK_Y_MIN - 0.3,
                                                                                    push_z - 0.03]))
    return _action_towards(tip, _via(tip, np.array([push_x, push_y, push_z]),
                                                                      safe_z=0.85, xy_tol=0.02))


_POLICIES: dict[str, Callable[[Any], np.ndarray]] = {
        "push_red": lambda p: _push_button(p, "red"),
        "push_green": lambda p: _push_button(p, "green"),
        "push_blue": lambda p: _push_button(p, "blue"),
        "open_slide": _open_slide,
        "open_drawer": _open_drawer,
        "upright_block_off_table": _upright_block_off_table,
        "flat_block_off_table": _flat_block_off_table,
}


def scripted_action(task: str, physics: Any, step: int) -> np.ndarray:
    """The scripted action (5,) in [-1, 1] for ``task`` in the current state of ``physics``
    (``RoboDesk.physics``); ``step`` is unused (every phase is read from the state)."""
    if task not in _POLICIES:
        raise ValueError(f"no scripted policy for RoboDesk task {task!r}")
    return np.clip(_POLICIES[task](physics), -1.0, 1.0)
