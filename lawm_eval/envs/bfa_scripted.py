"""A scripted grasp-lift-place policy for the BFA stand-in: it writes the demonstrations and the
subgoal trajectories, and proves that detection works.

LAC-WM's BFA data come from MimicGen on 10 teleoperated demonstrations, "pick up the object and place
it either to the left or right of its initial position with a minimum of 0.1 m movement", 20 % of the
7,265 trajectories successful (App. A.3). Ours is a waypoint script on the object's start pose
(privileged, like MimicGen's object-centric replay): a side wrap grasp with the palm facing the object,
lift 15 cm, hold, carry 0.1 m to the left or right, lower, open, retreat. The grasp's numbers were found
by ``scripts/tune_bfa_grasp.py`` (a hill climb on the lift rate over the train split's scale-1.0
objects); the unseen splits were not used. ``noise`` perturbs the grasp point once per episode and
every action, so the data hold failures as well as successes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lawm_eval.envs import bfa_scene
from lawm_eval.envs.bfa_env import ACTION_DIM, BFAEnv, rot6d

LIFT = 0.15  # m
CARRY = 0.10  # m to the left or right (App. A.3: at least 0.1 m)
# (phase, steps at 20 Hz)
PHASES = (("approach", 35), ("descend", 15), ("reach", 20), ("close", 20), ("lift", 25), ("hold", 25),
          ("carry", 30), ("lower", 25), ("open", 15), ("retreat", 25))
SCRIPT_STEPS = sum(n for _, n in PHASES)  # 235


@dataclass(frozen=True)
class Grasp:
    """A grasp: finger and thumb targets, where the grip point goes relative to the object, how the
    hand is turned. ``side``: palm facing +y (tilted down by ``tilt``), fingers forward (+x), the object
    wrapped against the palm. ``top``: palm facing down, fingers along the object's narrow axis, the
    object pinched between fingers and thumb."""

    approach: str  # side | top
    spread: float  # finger base joints
    mcp_open: float
    pip_open: float
    mcp_closed: float
    pip_closed: float
    thumb_open: tuple[float, float, float, float]
    thumb_closed: tuple[float, float, float, float]
    dx: float  # grip point relative to the object, along the fingers
    dy: float  # side: beyond touching the object's near side
    dz: float  # side: above the object's centre; top: above its top
    min_height: float  # of the grip point above the counter
    tilt: float  # rad

    def rotation(self, fingers_yaw: float = 0.0) -> np.ndarray:
        """(3, 3) the grip frame: columns palm normal, palm y, finger direction."""
        if self.approach == "top":
            normal = np.array([0.0, 0.0, -1.0])
            fingers = np.array([np.cos(fingers_yaw), np.sin(fingers_yaw), 0.0])
        else:
            normal = np.array([0.0, np.cos(self.tilt), -np.sin(self.tilt)])
            fingers = np.array([1.0, 0.0, 0.0])
        return np.stack([normal, np.cross(fingers, normal), fingers], axis=1)

    def hand(self, closed: bool) -> np.ndarray:
        """(16,) joint targets in ``bfa_scene.hand_joint_names`` order."""
        if closed:
            return np.array((self.spread, self.mcp_closed, self.pip_closed, self.pip_closed) * 3 + self.thumb_closed)
        return np.array((self.spread, self.mcp_open, self.pip_open, self.pip_open) * 3 + self.thumb_open)


# Found by scripts/tune_bfa_grasp.py on the train split's scale-1.0 objects of each kind (side: 8 of 13
# placed back, 4 more lifted; top: 3 of 9 placed back); rounded to 4 decimals.
SIDE = Grasp(approach="side", spread=-0.1213, mcp_open=0.0040, pip_open=0.1847, mcp_closed=0.6, pip_closed=1.0417,
             thumb_open=(0.3, 0.0, 0.0, 0.0), thumb_closed=(1.2279, 1.0805, 1.644, 0.2285),
             dx=-0.0494, dy=-0.0146, dz=0.0305, min_height=0.0700, tilt=0.0645)
TOP = Grasp(approach="top", spread=-0.3, mcp_open=1.0227, pip_open=0.1716, mcp_closed=1.61, pip_closed=0.8000,
            thumb_open=(0.9367, 1.163, 0.1645, 0.4560), thumb_closed=(1.2201, -0.0978, 0.5815, 0.9156),
            dx=-0.0396, dy=0.0, dz=0.0098, min_height=0.0607, tilt=0.0)
FLAT = 0.06  # m: objects lower than this are grasped from the top
GRIP_TO_PALM = 0.034  # the grip site lies this far in front of the palm's face


@dataclass(frozen=True)
class ObjectShape:
    """What the script reads off the object at the start (privileged): extents and the narrow axis."""

    centre: np.ndarray  # (3,) world
    top: float  # world z of its highest point
    near_side: float  # how far it reaches from its centre towards -y
    narrow_yaw: float  # world yaw of its narrowest horizontal direction (the one nearest +x)


def object_shape(env: BFAEnv) -> ObjectShape:
    """Surface points of every object primitive, then their horizontal spread (principal axes)."""
    m, d = env.model, env.data
    points = []
    for g in sorted(env.object_geoms):
        size, pos, rot = m.geom_size[g], d.geom_xpos[g], d.geom_xmat[g].reshape(3, 3)
        kind = m.geom_type[g]
        if kind == env.mujoco.mjtGeom.mjGEOM_BOX:
            local = [np.array([sx, sy, sz]) * size for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]
        elif kind in (env.mujoco.mjtGeom.mjGEOM_CAPSULE, env.mujoco.mjtGeom.mjGEOM_CYLINDER):
            r, h = size[0], size[1]
            ends = (-h, h) if kind == env.mujoco.mjtGeom.mjGEOM_CYLINDER else (-h - r, -h, h, h + r)
            local = [np.array([r * np.cos(a), r * np.sin(a), z]) for z in ends for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)]
        else:  # sphere, ellipsoid
            radii = size if kind == env.mujoco.mjtGeom.mjGEOM_ELLIPSOID else np.repeat(size[0], 3)
            local = [sign * radii[i] * np.eye(3)[i] for i in range(3) for sign in (-1, 1)]
            local += [np.array([radii[0] * np.cos(a), radii[1] * np.sin(a), 0.0]) for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)]
        points += [pos + rot @ p for p in local]
    pts = np.array(points)
    centre = env.object_pose()[:3]
    flat = pts[:, :2] - pts[:, :2].mean(0)
    values, vectors = np.linalg.eigh(flat.T @ flat)  # ascending
    narrow = vectors[:, 0] if values[1] > 1.3 * values[0] else np.array([1.0, 0.0])
    if narrow[0] < 0:
        narrow = -narrow
    return ObjectShape(centre, float(pts[:, 2].max()), float(centre[1] - pts[:, 1].min()),
                       float(np.arctan2(narrow[1], narrow[0])))


def choose_grasp(shape: ObjectShape) -> Grasp:
    """Low objects from the top, everything else from the side."""
    return TOP if shape.top - bfa_scene.COUNTER_TOP < FLAT else SIDE


class ScriptedPickPlace:
    """Actions for one episode from the object's start pose: ``policy(t)`` is the (25,) action at step t."""

    def __init__(self, env: BFAEnv, rng: np.random.Generator, noise: float = 0.0, side: int | None = None,
                 grasp: Grasp | None = None) -> None:
        self.noise, self.rng = noise, rng
        self.side = side if side is not None else int(rng.choice((-1, 1)))
        shape = object_shape(env)
        self.grasp = grasp = grasp or choose_grasp(shape)
        obj = shape.centre - env.base
        counter = bfa_scene.COUNTER_TOP - env.base[2]
        jitter = noise * 0.02 * rng.standard_normal(3)  # one grasp-point error per episode
        if grasp.approach == "top":
            yaw = shape.narrow_yaw
            along = np.array([np.cos(yaw), np.sin(yaw), 0.0])
            grip = obj + grasp.dx * along
            grip[2] = max(counter + grasp.min_height, shape.top - env.base[2] + grasp.dz)
            pre = grip + np.array([0.0, 0.0, 0.1])
        else:
            yaw = 0.0
            reach = min(shape.near_side, 0.05)
            grip = np.array([obj[0] + grasp.dx, obj[1] + GRIP_TO_PALM - reach + grasp.dy,
                             max(counter + grasp.min_height, obj[2] + grasp.dz)])
            pre = grip + np.array([0.0, -0.1, 0.0])
        grip = grip + jitter
        start, _ = env.grip_pose()
        up = np.array([0.0, 0.0, LIFT])
        place = grip + np.array([0.0, self.side * CARRY, 0.01])
        away = place + np.array([0.0, -0.1 if grasp.approach == "side" else 0.0, 0.1])
        self.waypoints = {  # phase -> (from, to) positions
            "approach": (start, pre + np.array([0.0, 0.0, 0.1])), "descend": (pre + np.array([0.0, 0.0, 0.1]), pre),
            "reach": (pre, grip), "close": (grip, grip), "lift": (grip, grip + up), "hold": (grip + up, grip + up),
            "carry": (grip + up, place + up - np.array([0.0, 0.0, 0.01])), "lower": (place + up, place),
            "open": (place, place), "retreat": (place, away),
        }
        self.rotation6d = rot6d(grasp.rotation(yaw))
        self.final = away

    def phase(self, t: int) -> tuple[str, float]:
        """The phase at step t and how far through it (0..1]; after the script, ("done", 1)."""
        for name, steps in PHASES:
            if t < steps:
                return name, min(1.0, (t + 1) / (0.8 * steps))  # arrive early, then settle
            t -= steps
        return "done", 1.0

    def __call__(self, t: int) -> np.ndarray:
        name, s = self.phase(t)
        if name == "done":
            position, closed = self.final, 0.0
        else:
            a, b = self.waypoints[name]
            position = a + s * (b - a)
            closed = {"close": s, "open": 1.0 - s}.get(name, 1.0 if name in ("lift", "hold", "carry", "lower") else 0.0)
        hand = (1 - closed) * self.grasp.hand(False) + closed * self.grasp.hand(True)
        action = np.concatenate([position, self.rotation6d, hand])
        if self.noise:
            action[:3] += self.noise * 0.005 * self.rng.standard_normal(3)
            action[9:] += self.noise * 0.05 * self.rng.standard_normal(16)
        assert action.shape == (ACTION_DIM,)
        return action
