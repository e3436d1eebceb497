"""The BFA stand-in scene as MJCF, written from public kinematic facts (no meshes, no copied files).

LAC-WM's BFA robot (App. A.3) is two Franka arms with Allegro hands on a mobile platform in a
RoboCasa kitchen, seen from an egocentric head camera. RoboCasa kitchens and the Allegro model do
not install here, so this module writes our own scene from the numbers the public models state:

- Franka Panda arm: link offsets, joint axes, limits and position-servo gains as listed in
  mujoco_menagerie ``franka_emika_panda/panda_nohand.xml`` (bodies link1-link7, the 0.107 m flange,
  the ``general`` actuators' gains). Geometry is capsules along each link, not Franka's meshes.
- Allegro hand (right, and its mirror image for the left): finger base offsets and tilts, phalanx
  lengths (0.0164, 0.054, 0.0384 m; thumb 0.0399/0.0177/0.0514), joint axes and ranges, and the
  primitive collision boxes and fingertip capsules of mujoco_menagerie ``wonik_allegro/right_hand.xml``.
  Position actuators at kp 10 as there; the fingertips' friction is raised (see ``FRICTION``).
- A counter (a box) in front of the robot, one object from ``bfa_objects`` on it, and a head camera.

Everything else (platform, counter size, camera pose, colours) is ours, listed as deviations in
``docs/protocols/bfa.md``. Only ``bfa_env`` builds this XML into MuJoCo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# -- Franka Panda (menagerie panda_nohand.xml: body pos/quat, joint ranges, actuator gains) ---------
# (pos, quat, joint range, kp, kv, force limit) per link; quat "1 -1 0 0" is -90 deg about x.
_HALF = "0.7071068 -0.7071068 0 0"
_HALF_POS = "0.7071068 0.7071068 0 0"
PANDA_LINKS: tuple[tuple[str, str, tuple[float, float], float, float, float], ...] = (
    ("0 0 0.333", "1 0 0 0", (-2.8973, 2.8973), 4500, 450, 87),
    ("0 0 0", _HALF, (-1.7628, 1.7628), 4500, 450, 87),
    ("0 -0.316 0", _HALF_POS, (-2.8973, 2.8973), 3500, 350, 87),
    ("0.0825 0 0", _HALF_POS, (-3.0718, -0.0698), 3500, 350, 87),
    ("-0.0825 0.384 0", _HALF, (-2.8973, 2.8973), 2000, 200, 12),
    ("0 0 0", _HALF_POS, (-0.0175, 3.7525), 2000, 200, 12),
    ("0.088 0 0", _HALF_POS, (-2.8973, 2.8973), 2000, 200, 12),
)
FLANGE = 0.107  # link7 -> flange along z
# Capsules approximating each link's volume: (from, to, radius) in the link's frame.
PANDA_CAPSULES: tuple[tuple[str, float], ...] = (
    ("0 0 -0.19 0 0 0", 0.06),
    ("0 0 0 0 -0.16 0", 0.06),
    ("0 0 -0.1 0 0 0", 0.055),
    ("0 0 0 -0.0825 0.1 0", 0.055),
    ("0 0 -0.22 0 0.08 -0.02", 0.055),
    ("0 0 0 0.088 0 0", 0.05),
    ("0 0 0 0 0 0.08", 0.045),
)
HOME = (0.0, -0.3, 0.0, -2.2, 0.0, 1.9, 0.0)  # a ready pose above the counter (ours)

# -- Allegro hand (menagerie wonik_allegro/right_hand.xml) ---------------------------------------
# joint ranges per finger: base (about z), proximal, medial, distal (about y)
FINGER_RANGES = ((-0.47, 0.47), (-0.196, 1.61), (-0.174, 1.709), (-0.227, 1.618))
THUMB_RANGES = ((0.263, 1.396), (-0.105, 1.163), (-0.189, 1.644), (-0.162, 1.719))
FINGER_KP = 10.0
FINGER_TORQUE = 0.7  # N·m, the Allegro servos' order of magnitude (ours; menagerie leaves it unlimited)
# (name, base pos, base quat) of the three fingers
FINGERS = (
    ("ff", (0.0, 0.0435, -0.001542), (0.999048, -0.0436194, 0.0, 0.0)),
    ("mf", (0.0, 0.0, 0.0007), (1.0, 0.0, 0.0, 0.0)),
    ("rf", (0.0, -0.0435, -0.001542), (0.999048, 0.0436194, 0.0, 0.0)),
)
THUMB_BASE = ((-0.0182, 0.019333, -0.045987), (0.477714, -0.521334, -0.521334, -0.477714))
PALM_BOX = ((-0.0093, 0.0, -0.0475), (0.0204, 0.0565, 0.0475))  # (pos, half sizes)
PALM_LENGTH = 0.095  # wrist to finger bases along the palm's z
WRIST_BRACKET = 0.035  # flange to the palm's frame along the flange's z (ours)
HAND_JOINTS = 16
FRICTION = "1.5 0.02 0.002"
OBJECT_ARMATURE = 1e-4  # kg·m², on the object's free joint  # hand and object geoms (MuJoCo's default is 1 0.005 0.0001)

# -- the room (ours) -----------------------------------------------------------------------------
ARM_BASES = {"right": (0.0, -0.28, 0.75), "left": (0.0, 0.28, 0.75)}  # on a 0.75 m platform
COUNTER_TOP = 0.80
COUNTER_CENTER = (0.62, 0.0)
COUNTER_HALF = (0.28, 0.6)
HEAD_CAMERA = {"pos": (-0.05, -0.05, 1.75), "lookat": (0.58, -0.22, 0.82), "fovy": 45.0}  # above and behind the arms


@dataclass(frozen=True)
class ObjectGeom:
    """One primitive of an object: MuJoCo geom type, size, pos and quat in the object's frame."""

    type: str
    size: tuple[float, ...]
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)


def _fmt(values) -> str:
    return " ".join(f"{v:.6g}" for v in values)


def _mirror_quat(q: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The rotation seen in a mirror through the xz plane (y -> -y)."""
    w, x, y, z = q
    return (w, -x, y, -z)


def _finger_xml(prefix: str, name: str, pos, quat, side: str) -> str:
    mirror = side == "left"
    sy = -1.0 if mirror else 1.0
    pos = (pos[0], sy * pos[1], pos[2])
    quat = _mirror_quat(quat) if mirror else quat
    # in the mirror image a joint about z turns the other way; about y it does not
    base_axis = "0 0 -1" if mirror else "0 0 1"
    offsets = (0.0164, 0.054, 0.0384)  # base -> proximal -> medial -> distal joint
    halves = (0.0082, 0.027, 0.0192, 0.008)  # collision box half-lengths (base, proximal, medial, distal)
    xml = [f'<body name="{prefix}{name}_base" pos="{_fmt(pos)}" quat="{_fmt(quat)}">',
           f'<joint name="{prefix}{name}0" class="hand" axis="{base_axis}" range="{_fmt(FINGER_RANGES[0])}"/>',
           f'<geom class="hand" type="box" size="0.0098 0.01375 {halves[0]}" pos="0 0 {halves[0]}"/>']
    close = ["</body>"]
    for j, (offset, half) in enumerate(zip(offsets, halves[1:]), start=1):
        xml += [f'<body name="{prefix}{name}_link{j}" pos="0 0 {offset}">',
                f'<joint name="{prefix}{name}{j}" class="hand" axis="0 1 0" range="{_fmt(FINGER_RANGES[j])}"/>',
                f'<geom class="hand" type="box" size="0.0098 0.01375 {half}" pos="0 0 {half}"/>']
        close.append("</body>")
    xml.append(f'<geom name="{prefix}{name}_tip" class="hand" type="capsule" size="0.012 0.01" '
               f'pos="0 0 0.019" rgba="0.9 0.9 0.9 1"/>')
    return "\n".join(xml + close)


def _thumb_xml(prefix: str, side: str) -> str:
    mirror = side == "left"
    pos, quat = THUMB_BASE
    if mirror:
        pos, quat = (pos[0], -pos[1], pos[2]), _mirror_quat(quat)
    x_axis = "1 0 0" if mirror else "-1 0 0"  # the thumb's base joint turns about -x (right hand)
    z_axis = "0 0 -1" if mirror else "0 0 1"
    ty = -0.009 if mirror else 0.009
    return "\n".join([
        f'<body name="{prefix}th_base" pos="{_fmt(pos)}" quat="{_fmt(quat)}">',
        f'<joint name="{prefix}th0" class="hand" axis="{x_axis}" range="{_fmt(THUMB_RANGES[0])}"/>',
        f'<geom class="hand" type="box" size="0.0179 0.017 0.02275" pos="-0.0179 {ty} 0.0145"/>',
        f'<body name="{prefix}th_link1" pos="-0.027 {0.005 * (-1 if mirror else 1)} 0.0399">',
        f'<joint name="{prefix}th1" class="hand" axis="{z_axis}" range="{_fmt(THUMB_RANGES[1])}"/>',
        '<geom class="hand" type="box" size="0.0098 0.01375 0.00885" pos="0 0 0.00885"/>',
        f'<body name="{prefix}th_link2" pos="0 0 0.0177">',
        f'<joint name="{prefix}th2" class="hand" axis="0 1 0" range="{_fmt(THUMB_RANGES[2])}"/>',
        '<geom class="hand" type="box" size="0.0098 0.01375 0.0257" pos="0 0 0.0257"/>',
        f'<body name="{prefix}th_link3" pos="0 0 0.0514">',
        f'<joint name="{prefix}th3" class="hand" axis="0 1 0" range="{_fmt(THUMB_RANGES[3])}"/>',
        '<geom class="hand" type="box" size="0.0098 0.01375 0.0157" pos="0 0 0.0157"/>',
        f'<geom name="{prefix}th_tip" class="hand" type="capsule" size="0.012 0.008" pos="0 0 0.035" '
        'rgba="0.9 0.9 0.9 1"/>',
        "</body></body></body></body>",
    ])


def hand_joint_names(side: str) -> list[str]:
    """The 16 hand joints in the actuator (and action) order: ff, mf, rf 0-3, then the thumb 0-3."""
    prefix = f"{side}_"
    return [f"{prefix}{f}{j}" for f in ("ff", "mf", "rf", "th") for j in range(4)]


def _hand_xml(side: str) -> str:
    prefix = f"{side}_"
    # an L-shaped wrist bracket (ours): the palm faces along the flange's z axis and the fingers point
    # along its x axis, so with the flange pointing down the palm faces down, fingers forward
    body = [f'<body name="{prefix}palm" pos="{PALM_LENGTH / 2} 0 {WRIST_BRACKET}" quat="0 0.7071068 0 0.7071068">',
            f'<geom name="{prefix}palm" class="hand" type="box" size="{_fmt(PALM_BOX[1])}" '
            f'pos="{_fmt(PALM_BOX[0])}"/>',
            f'<site name="{prefix}grip" pos="0.045 0 -0.03" size="0.005" rgba="1 0 0 0"/>']
    for name, pos, quat in FINGERS:
        body.append(_finger_xml(prefix, name, pos, quat, side))
    body.append(_thumb_xml(prefix, side))
    body.append("</body>")
    return "\n".join(body)


def _arm_xml(side: str) -> str:
    prefix = f"{side}_"
    base = ARM_BASES[side]
    xml = [f'<body name="{prefix}link0" pos="{_fmt(base)}">',
           '<geom class="arm" type="cylinder" size="0.07 0.05" pos="0 0 0.05"/>']
    for i, ((pos, quat, rng, _kp, _kv, _f), (capsule, radius)) in enumerate(zip(PANDA_LINKS, PANDA_CAPSULES), 1):
        xml += [f'<body name="{prefix}link{i}" pos="{pos}" quat="{quat}" gravcomp="1">',
                f'<joint name="{prefix}joint{i}" range="{_fmt(rng)}" class="arm"/>',
                f'<geom class="arm" type="capsule" fromto="{capsule}" size="{radius}"/>']
    xml += [f'<body name="{prefix}flange" pos="0 0 {FLANGE}" gravcomp="1">',
            '<geom class="arm" type="cylinder" size="0.04 0.01" pos="0 0 0.005"/>',
            _hand_xml(side), "</body>"]
    xml += ["</body>"] * (len(PANDA_LINKS) + 1)
    return "\n".join(xml)


def _actuators(side: str) -> str:
    prefix = f"{side}_"
    lines = []
    for i, (_pos, _quat, rng, kp, kv, force) in enumerate(PANDA_LINKS, 1):
        lines.append(f'<general name="{prefix}arm{i}" joint="{prefix}joint{i}" biastype="affine" gainprm="{kp}" '
                     f'biasprm="0 -{kp} -{kv}" ctrlrange="{_fmt(rng)}" forcerange="-{force} {force}"/>')
    for joint in hand_joint_names(side):
        lines.append(f'<position name="{joint}_act" joint="{joint}" kp="{FINGER_KP}" inheritrange="1" forcerange="-{FINGER_TORQUE} {FINGER_TORQUE}"/>')
    return "\n".join(lines)


def _object_xml(geoms: tuple[ObjectGeom, ...], rgba: tuple[float, float, float, float], mass: float) -> str:
    # a little rotor inertia on the free joint (ours): thin light objects otherwise go unstable when released
    parts = ['<body name="object" pos="0.6 -0.2 1.0">', f'<joint type="free" name="object" armature="{OBJECT_ARMATURE}"/>']
    per_geom = mass / len(geoms)
    for i, g in enumerate(geoms):
        parts.append(f'<geom name="object_{i}" class="object" type="{g.type}" size="{_fmt(g.size)}" '
                     f'pos="{_fmt(g.pos)}" quat="{_fmt(g.quat)}" rgba="{_fmt(rgba)}" mass="{per_geom:.6g}"/>')
    parts.append("</body>")
    return "\n".join(parts)


def scene_xml(geoms: tuple[ObjectGeom, ...], rgba: tuple[float, float, float, float], mass: float,
              counter_rgba: tuple[float, float, float, float] = (0.55, 0.42, 0.3, 1.0)) -> str:
    """The whole scene with one object (its primitives, colour and mass) on the counter."""
    cx, cy = COUNTER_CENTER
    hx, hy = COUNTER_HALF
    cam = HEAD_CAMERA
    forward = [a - b for a, b in zip(cam["lookat"], cam["pos"])]
    norm = math.sqrt(sum(v * v for v in forward))
    forward = [v / norm for v in forward]
    # MuJoCo cameras look along -z; xyaxes gives the camera's x (right) and y (up) axes
    right = (forward[1], -forward[0], 0.0)
    rn = math.hypot(right[0], right[1])
    right = (right[0] / rn, right[1] / rn, 0.0)
    up = (right[1] * forward[2] - right[2] * forward[1], right[2] * forward[0] - right[0] * forward[2],
          right[0] * forward[1] - right[1] * forward[0])
    return f"""<mujoco model="lawm_eval_bfa">
<compiler angle="radian" autolimits="true"/>
<option timestep="0.002" integrator="implicitfast" cone="elliptic" impratio="10"/>
<visual><global offwidth="640" offheight="480"/><quality shadowsize="0"/>
<headlight ambient="0.45 0.45 0.45" diffuse="0.5 0.5 0.5" specular="0.1 0.1 0.1"/></visual>
<default>
  <default class="arm"><joint armature="0.1" damping="1" axis="0 0 1"/>
    <geom contype="1" conaffinity="1" rgba="0.92 0.92 0.94 1" group="1"/></default>
  <default class="hand"><joint damping="0.1" armature="0.005" axis="0 1 0"/>
    <geom contype="1" conaffinity="1" rgba="0.2 0.2 0.2 1" friction="{FRICTION}" condim="4" density="800" group="1"/></default>
  <default class="object"><geom contype="1" conaffinity="1" friction="{FRICTION}" condim="6" group="1"/></default>
</default>
<asset>
  <texture name="floor" type="2d" builtin="checker" rgb1="0.42 0.42 0.45" rgb2="0.36 0.36 0.4" width="256" height="256"/>
  <material name="floor" texture="floor" texrepeat="6 6"/>
</asset>
<worldbody>
  <light pos="0.4 0 2.6" dir="0 0 -1" diffuse="0.6 0.6 0.6" castshadow="false"/>
  <geom name="floor" type="plane" size="3 3 0.1" material="floor" contype="1" conaffinity="1"/>
  <geom name="platform" type="box" size="0.16 0.5 {ARM_BASES['right'][2] / 2}" pos="0 0 {ARM_BASES['right'][2] / 2}"
        rgba="0.3 0.3 0.32 1" contype="0" conaffinity="0"/>
  <geom name="counter" type="box" size="{hx} {hy} {COUNTER_TOP / 2}" pos="{cx} {cy} {COUNTER_TOP / 2}"
        rgba="{_fmt(counter_rgba)}" friction="1 0.005 0.0001"/>
  <geom name="backsplash" type="box" size="0.02 {hy} 0.3" pos="{cx + hx + 0.02} {cy} {COUNTER_TOP + 0.3}"
        rgba="0.85 0.85 0.8 1" contype="0" conaffinity="0"/>
  <camera name="head" pos="{_fmt(cam['pos'])}" xyaxes="{_fmt(right)} {_fmt(up)}" fovy="{cam['fovy']}"/>
  {_arm_xml('right')}
  {_arm_xml('left')}
  {_object_xml(geoms, rgba, mass)}
</worldbody>
<contact>
  <exclude body1="right_palm" body2="right_th_base"/><exclude body1="left_palm" body2="left_th_base"/>
  <exclude body1="right_palm" body2="right_th_link1"/><exclude body1="left_palm" body2="left_th_link1"/>
  <exclude body1="right_flange" body2="right_palm"/><exclude body1="left_flange" body2="left_palm"/>
  <exclude body1="right_link7" body2="right_palm"/><exclude body1="left_link7" body2="left_palm"/>
</contact>
<actuator>
{_actuators('right')}
{_actuators('left')}
</actuator>
</mujoco>
"""


# Hand poses (ours), in ``hand_joint_names`` order: fingers straight with the thumb turned in front of
# the palm, and a power grasp that wraps the fingers and presses the thumb against them.
HAND_OPEN = (0.0, 0.0, 0.0, 0.0) * 3 + (1.2, 0.2, 0.0, 0.0)
HAND_CLOSED = (0.0, 1.3, 1.1, 0.9) * 3 + (1.3, 0.6, 0.9, 0.9)
