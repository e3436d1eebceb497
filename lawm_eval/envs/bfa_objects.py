"""The BFA stand-in's objects and their splits (versioned; pure Python, no simulator import).

LAC-WM's BFA data (§4.3, App. A.3) covers 22 RoboCasa object categories; its evaluation holds out
unseen instances of the seen categories (22 objects) and three unseen categories: donut, lime and
banana (§4.4). RoboCasa's object meshes do not install here, so every object is a few MuJoCo
primitives with a category, a size, a shape variant, a colour and a mass:

- ``train``: three instances per seen category (scales 0.9 / 1.0 / 1.1, the category's own colours);
- ``unseen_instances``: one new instance per seen category: a scale outside the training range, the
  category's shape variant, and a colour no training instance has;
- ``unseen_categories``: a torus (donut), a small ellipsoid (lime) and a curved chain of capsules (banana).

Changing any number here changes the benchmark: bump ``OBJECT_SET_VERSION``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from lawm_eval.envs.bfa_scene import ObjectGeom

OBJECT_SET_VERSION = "bfa-objects-v1"
SPLITS = ("train", "unseen_instances", "unseen_categories")
RGBA = tuple[float, float, float, float]


@dataclass(frozen=True)
class BFAObject:
    name: str  # unique, e.g. "apple_1.0" or "donut"
    category: str
    geoms: tuple[ObjectGeom, ...]
    rgba: RGBA
    mass: float  # kg
    half_height: float  # of its resting pose: the body origin sits this far above the counter

    @property
    def instruction(self) -> str:
        return f"pick up the {self.category.replace('_', ' ')} and place it back on the counter"


def _quat_y(angle: float) -> tuple[float, float, float, float]:
    return (math.cos(angle / 2), 0.0, math.sin(angle / 2), 0.0)


def _quat_x(angle: float) -> tuple[float, float, float, float]:
    return (math.cos(angle / 2), math.sin(angle / 2), 0.0, 0.0)


# A shape is (scale, variant) -> (geoms, half height). variant 0 is the training shape, 1 the held-out one.
Shape = Callable[[float, int], tuple[tuple[ObjectGeom, ...], float]]


def _sphere(r: float) -> Shape:
    def make(s: float, v: int):
        rr = r * s
        if v:  # slightly squashed
            return (ObjectGeom("ellipsoid", (rr * 1.1, rr * 1.1, rr * 0.85)),), rr * 0.85
        return (ObjectGeom("sphere", (rr,)),), rr
    return make


def _cylinder(r: float, h: float) -> Shape:
    def make(s: float, v: int):
        rr, hh = r * s, h * s / 2
        if v:  # wider and shorter
            rr, hh = rr * 1.12, hh * 0.8
        return (ObjectGeom("cylinder", (rr, hh)),), hh
    return make


def _box(x: float, y: float, z: float) -> Shape:
    def make(s: float, v: int):
        hx, hy, hz = x * s / 2, y * s / 2, z * s / 2
        if v:  # longer and thinner
            hx, hy = hx * 1.2, hy * 0.85
        return (ObjectGeom("box", (hx, hy, hz)),), hz
    return make


def _lying_capsule(r: float, length: float) -> Shape:
    """A capsule lying on the counter, its axis across the robot (y)."""
    def make(s: float, v: int):
        rr, half = r * s, length * s / 2
        if v:
            rr, half = rr * 0.9, half * 1.15
        return (ObjectGeom("capsule", (rr, half), quat=_quat_x(math.pi / 2)),), rr
    return make


def _bottle(r: float, h: float) -> Shape:
    def make(s: float, v: int):
        rr, hh = r * s, h * s / 2
        if v:
            rr, hh = rr * 0.9, hh * 1.1
        neck = ObjectGeom("cylinder", (rr * 0.45, hh * 0.25), pos=(0.0, 0.0, hh * 1.2))
        return (ObjectGeom("cylinder", (rr, hh)), neck), hh
    return make


def _torus(major: float, minor: float, pieces: int = 8) -> tuple[tuple[ObjectGeom, ...], float]:
    geoms = []
    for i in range(pieces):
        a = 2 * math.pi * i / pieces
        half = major * math.tan(math.pi / pieces)
        yaw = (math.cos((a + math.pi / 2) / 2), 0.0, 0.0, math.sin((a + math.pi / 2) / 2))
        # a capsule tangent to the ring: rotate a z capsule to lie along the tangent direction
        tangent = _compose(yaw, _quat_y(math.pi / 2))
        geoms.append(ObjectGeom("capsule", (minor, half), pos=(major * math.cos(a), major * math.sin(a), 0.0),
                                quat=tangent))
    return tuple(geoms), minor


def _banana(r: float, radius_of_curve: float, pieces: int = 4, arc: float = 1.6) -> tuple[tuple[ObjectGeom, ...], float]:
    geoms = []
    half = radius_of_curve * math.sin(arc / pieces / 2)
    for i in range(pieces):
        a = -arc / 2 + arc * (i + 0.5) / pieces
        yaw = (math.cos((a + math.pi / 2) / 2), 0.0, 0.0, math.sin((a + math.pi / 2) / 2))
        geoms.append(ObjectGeom("capsule", (r * (0.8 if i in (0, pieces - 1) else 1.0), half),
                                pos=(radius_of_curve * math.cos(a) - radius_of_curve, radius_of_curve * math.sin(a), 0.0),
                                quat=_compose(yaw, _quat_y(math.pi / 2))))
    return tuple(geoms), r


def _compose(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float, float]:
    """Quaternion product a * b (w, x, y, z)."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw)


# category -> (shape, training colours (3), held-out colour, mass at scale 1 in kg)
CATEGORIES: dict[str, tuple[Shape, tuple[RGBA, RGBA, RGBA], RGBA, float]] = {
    "apple": (_sphere(0.036), ((0.8, 0.1, 0.1, 1), (0.75, 0.2, 0.1, 1), (0.6, 0.75, 0.2, 1)), (0.9, 0.6, 0.2, 1), 0.15),
    "orange": (_sphere(0.038), ((1.0, 0.55, 0.1, 1), (0.95, 0.5, 0.05, 1), (1.0, 0.6, 0.2, 1)), (0.9, 0.35, 0.05, 1), 0.15),
    "tomato": (_sphere(0.032), ((0.9, 0.15, 0.1, 1), (0.85, 0.25, 0.15, 1), (0.8, 0.1, 0.05, 1)), (0.95, 0.75, 0.2, 1), 0.12),
    "onion": (_sphere(0.035), ((0.85, 0.75, 0.55, 1), (0.6, 0.25, 0.35, 1), (0.9, 0.85, 0.7, 1)), (0.95, 0.95, 0.9, 1), 0.14),
    "potato": (_box(0.08, 0.055, 0.05), ((0.65, 0.5, 0.3, 1), (0.7, 0.55, 0.35, 1), (0.6, 0.45, 0.28, 1)), (0.55, 0.3, 0.35, 1), 0.15),
    "bell_pepper": (_cylinder(0.037, 0.08), ((0.1, 0.6, 0.1, 1), (0.85, 0.1, 0.1, 1), (0.95, 0.8, 0.1, 1)), (0.95, 0.5, 0.05, 1), 0.14),
    "can": (_cylinder(0.033, 0.11), ((0.8, 0.1, 0.1, 1), (0.2, 0.3, 0.8, 1), (0.7, 0.7, 0.75, 1)), (0.1, 0.6, 0.3, 1), 0.2),
    "cup": (_cylinder(0.038, 0.09), ((0.95, 0.95, 0.95, 1), (0.3, 0.5, 0.8, 1), (0.9, 0.8, 0.3, 1)), (0.6, 0.2, 0.6, 1), 0.12),
    "yogurt": (_cylinder(0.035, 0.07), ((0.95, 0.95, 0.9, 1), (0.9, 0.6, 0.7, 1), (0.7, 0.85, 0.95, 1)), (0.6, 0.9, 0.5, 1), 0.12),
    "ketchup": (_bottle(0.03, 0.12), ((0.85, 0.1, 0.05, 1), (0.75, 0.05, 0.05, 1), (0.9, 0.2, 0.1, 1)), (0.95, 0.85, 0.15, 1), 0.2),
    "soda_bottle": (_bottle(0.032, 0.13), ((0.2, 0.7, 0.3, 1), (0.6, 0.8, 0.9, 1), (0.5, 0.2, 0.1, 1)), (0.9, 0.5, 0.1, 1), 0.2),
    "milk": (_box(0.065, 0.065, 0.14), ((0.95, 0.95, 0.95, 1), (0.9, 0.9, 0.7, 1), (0.8, 0.9, 1.0, 1)), (0.95, 0.7, 0.75, 1), 0.2),
    "cereal": (_box(0.05, 0.09, 0.13), ((0.9, 0.7, 0.2, 1), (0.3, 0.5, 0.9, 1), (0.9, 0.3, 0.3, 1)), (0.5, 0.8, 0.3, 1), 0.15),
    "butter": (_box(0.07, 0.045, 0.04), ((0.95, 0.9, 0.5, 1), (0.95, 0.95, 0.8, 1), (0.9, 0.85, 0.4, 1)), (0.8, 0.2, 0.2, 1), 0.12),
    "soap": (_box(0.075, 0.05, 0.035), ((0.6, 0.8, 0.9, 1), (0.9, 0.7, 0.8, 1), (0.95, 0.95, 0.95, 1)), (0.5, 0.9, 0.6, 1), 0.1),
    "sponge": (_box(0.09, 0.06, 0.035), ((0.95, 0.9, 0.2, 1), (0.3, 0.8, 0.3, 1), (0.9, 0.5, 0.6, 1)), (0.3, 0.5, 0.9, 1), 0.05),
    "bread": (_lying_capsule(0.03, 0.09), ((0.8, 0.55, 0.25, 1), (0.75, 0.5, 0.2, 1), (0.85, 0.65, 0.35, 1)), (0.55, 0.35, 0.15, 1), 0.1),
    "carrot": (_lying_capsule(0.018, 0.1), ((0.95, 0.5, 0.1, 1), (0.9, 0.45, 0.05, 1), (1.0, 0.55, 0.15, 1)), (0.7, 0.3, 0.6, 1), 0.08),
    "cucumber": (_lying_capsule(0.022, 0.11), ((0.2, 0.5, 0.15, 1), (0.25, 0.55, 0.2, 1), (0.15, 0.45, 0.1, 1)), (0.55, 0.75, 0.3, 1), 0.1),
    "corn": (_lying_capsule(0.025, 0.1), ((0.95, 0.85, 0.3, 1), (0.9, 0.8, 0.25, 1), (1.0, 0.9, 0.4, 1)), (0.9, 0.95, 0.7, 1), 0.1),
    "egg": (_sphere(0.026), ((0.95, 0.93, 0.85, 1), (0.85, 0.7, 0.55, 1), (0.95, 0.95, 0.95, 1)), (0.6, 0.8, 0.85, 1), 0.06),
    "avocado": (_sphere(0.033), ((0.25, 0.35, 0.1, 1), (0.2, 0.3, 0.15, 1), (0.3, 0.4, 0.15, 1)), (0.15, 0.15, 0.1, 1), 0.15),
}
TRAIN_SCALES = (0.9, 1.0, 1.1)
HELD_OUT_SCALE = {0: 1.18, 1: 0.82}  # alternating by category index, outside the training range


def _instance(category: str, scale: float, variant: int, rgba: RGBA, name: str) -> BFAObject:
    shape, _, _, mass = CATEGORIES[category]
    geoms, half_height = shape(scale, variant)
    return BFAObject(name, category, geoms, rgba, round(mass * scale ** 3, 4), half_height)


def _unseen_categories() -> list[BFAObject]:
    donut, donut_h = _torus(0.03, 0.016)
    lime_geoms = (ObjectGeom("ellipsoid", (0.03, 0.026, 0.026)),)
    banana, banana_h = _banana(0.018, 0.1)
    return [BFAObject("donut", "donut", donut, (0.8, 0.55, 0.3, 1), 0.08, donut_h),
            BFAObject("lime", "lime", lime_geoms, (0.45, 0.8, 0.15, 1), 0.07, 0.026),
            BFAObject("banana", "banana", banana, (0.95, 0.85, 0.2, 1), 0.12, banana_h)]


def objects(split: str) -> list[BFAObject]:
    """The objects of one split, in a fixed order."""
    if split not in SPLITS:
        from lawm_eval.errors import ConfigError, did_you_mean

        raise ConfigError(f"unknown BFA split '{split}'{did_you_mean(split, SPLITS)}")
    if split == "unseen_categories":
        return _unseen_categories()
    out = []
    for i, (category, (_shape, colours, held_out_colour, _mass)) in enumerate(CATEGORIES.items()):
        if split == "train":
            out += [_instance(category, s, 0, c, f"{category}_{s:.1f}") for s, c in zip(TRAIN_SCALES, colours)]
        else:
            out.append(_instance(category, HELD_OUT_SCALE[i % 2], 1, held_out_colour, f"{category}_unseen"))
    return out


def find(name: str) -> BFAObject:
    """An object by name, from any split."""
    every = {o.name: o for split in SPLITS for o in objects(split)}
    if name not in every:
        from lawm_eval.errors import ConfigError, did_you_mean

        raise ConfigError(f"unknown BFA object '{name}'{did_you_mean(name, every)}")
    return every[name]
