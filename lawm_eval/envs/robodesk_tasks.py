"""RoboDesk tasks as VP² evaluates them: the 76-number state vector and the success predicates.

Pure numpy, so that both the harness and the ``robodesk`` simulator environment import it (one home
for each fact). References (docs/protocols/vp2_robodesk.md has the full table):
- state layout: VP² ``vp2/envs/robodesk_env.py:11-17, 88-123`` (s-tian/vp2 b0eb69d): qpos_robot (9),
  qvel_robot (9), qpos_objects (29), qvel_objects (26), end-effector xyz (3);
- predicates: RoboDesk ``robodesk/robodesk.py:260-326`` (google-research/robodesk a8edde3), which VP²
  calls through ``compute_score`` after ``reset_to`` of each scored state (robodesk_env.py:208-212).
  That ``reset_to`` re-saves the block positions, so the off-table tasks' "other blocks did not move"
  condition always holds and success is block z < 0.6 alone.
"""

from __future__ import annotations

import numpy as np

STATE_DIM = 76
ACTION_DIM = 5
QPOS_ROBOT = slice(0, 9)
QVEL_ROBOT = slice(9, 18)
QPOS_OBJECTS = slice(18, 47)  # qpos[9:38]
QVEL_OBJECTS = slice(47, 73)  # qvel[9:35]
END_EFFECTOR = slice(73, 76)  # not restored by reset_to

# indices into the state vector (qpos index + 9)
DRAWER = 18  # drawer_joint, range [-0.48, 0]
SLIDE = 19  # slide_joint, range [0, 0.6]
LIGHTS = {"red": 23, "green": 24, "blue": 25}  # *_light joints, coupled to the buttons
BALL_XYZ = slice(26, 29)
UPRIGHT_XYZ = slice(33, 36)
FLAT_XYZ = slice(40, 43)

LIGHT_PRESSED = -0.00453  # robodesk.py:285-286
SLIDE_OPEN = 0.55  # robodesk.py:273
DRAWER_OPEN = -0.2  # robodesk.py:282
OFF_TABLE_Z = 0.6  # robodesk.py:323

TASKS = ("push_red", "push_green", "push_blue", "open_slide", "open_drawer", "upright_block_off_table",
         "flat_block_off_table")
COLA_TASKS = ("upright_block_off_table", "open_slide", "flat_block_off_table", "open_drawer")  # CoLA-World Table 4


def success(task: str, state: np.ndarray) -> bool:
    """RoboDesk's success predicate of ``task`` on one 76-number state, as VP² scores it."""
    s = np.asarray(state, dtype=np.float64)
    if task.startswith("push_"):
        return bool(s[LIGHTS[task[len("push_"):]]] < LIGHT_PRESSED)
    if task == "open_slide":
        return bool(s[SLIDE] > SLIDE_OPEN)
    if task == "open_drawer":
        return bool(s[DRAWER] < DRAWER_OPEN)
    if task == "upright_block_off_table":
        return bool(s[UPRIGHT_XYZ][2] < OFF_TABLE_Z)
    if task == "flat_block_off_table":
        return bool(s[FLAT_XYZ][2] < OFF_TABLE_Z)
    raise ValueError(f"unknown RoboDesk task {task!r}")


def object_position(state: np.ndarray) -> np.ndarray:
    """The positions that a task changes: drawer, slide, three lights, three object centres: (..., 14)."""
    s = np.asarray(state, dtype=np.float64)
    return np.concatenate([s[..., [DRAWER, SLIDE, *LIGHTS.values()]], s[..., BALL_XYZ], s[..., UPRIGHT_XYZ],
                           s[..., FLAT_XYZ]], axis=-1)


# per-coordinate scale of the privileged state cost: a light moves 5 mm when pressed, the rest tens of cm
OBJECT_SCALE = np.array([0.2, 0.4, 0.005, 0.005, 0.005] + [0.2] * 9)


def state_cost(states: np.ndarray, goal: np.ndarray, end_effector_weight: float = 0.1) -> float:
    """The privileged planner's cost of a predicted state sequence (T, 76) against a goal state: the
    sum over the steps of the scaled squared object-position error plus a small end-effector term (the
    state analogue of VP²'s Σ_t ‖x̂_t − g‖²)."""
    states = np.asarray(states, dtype=np.float64)
    goal = np.asarray(goal, dtype=np.float64)
    objects = ((object_position(states) - object_position(goal)) / OBJECT_SCALE) ** 2  # (T, 14)
    hand = ((states[..., END_EFFECTOR] - goal[END_EFFECTOR]) ** 2).sum(-1)  # (T,)
    return float(objects.sum() + end_effector_weight * hand.sum() / 0.01)
