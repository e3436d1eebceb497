"""The BFA stand-in environment: two Panda arms with Allegro hands at a counter, right arm used.

One control step (20 Hz, 25 physics steps of 2 ms) takes LAC-WM's 25-D BFA action (§4.3): the right
hand's target end-effector position (3, metres, in the right arm's base frame), its orientation as the
first two columns of the rotation matrix (6), and the 16 Allegro joint targets. A damped
least-squares IK turns the pose into arm joint targets for the Panda's position servos. The left arm
holds its ready pose. The observation is the head camera's image and the 25-D proprio state (the
achieved pose and hand joints, in the action's layout).

Detection follows LAC-WM §4.4's metrics from contacts and poses (thresholds from the issue, ours):
contact: a right-hand geom touches the object; lift: the object ≥ 5 cm above its start with no counter
contact for ≥ 1 s; placed back: after a lift, the object rests on the counter (speed < 5 cm/s) with the
hand released. S.R. = placed back at the episode's end.
MuJoCo is imported here only (``lawm-eval[bfa]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lawm_eval.envs import bfa_scene
from lawm_eval.envs.bfa_objects import BFAObject
from lawm_eval.extras import require_extra
from lawm_eval.util.rendering import prepare_offscreen_rendering

CONTROL_HZ = 20
PHYSICS_DT = 0.002
SUBSTEPS = int(round(1.0 / CONTROL_HZ / PHYSICS_DT))  # 25
ACTION_DIM = 25  # 3 position + 6 rotation + 16 hand joints (LAC-WM §4.3)
STATE_DIM = 25
LIFT_HEIGHT = 0.05  # m above the start
LIFT_SECONDS = 1.0
REST_SPEED = 0.05  # m/s
OBJECT_REGION = ((0.50, 0.62), (-0.32, -0.16))  # (x range, y range) of start positions, world frame
IK_ITERATIONS = 8
IK_DAMPING = 0.05


def rot6d(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) -> (..., 6): the first two columns, column after column."""
    return np.concatenate([matrix[..., :, 0], matrix[..., :, 1]], axis=-1)


def rot_from_6d(six: np.ndarray) -> np.ndarray:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt (Zhou et al. 2019), so averaged rotations stay valid."""
    a, b = six[..., :3], six[..., 3:]
    x = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-9)
    b = b - (x * b).sum(-1, keepdims=True) * x
    y = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-9)
    return np.stack([x, y, np.cross(x, y)], axis=-1)


@dataclass
class Outcome:
    """The episode's detection so far."""

    contact: bool = False
    lifted: bool = False
    placed: bool = False  # at the latest step
    lift_steps: int = 0  # consecutive steps up and off the counter
    start_height: float = 0.0
    history: list[tuple[bool, bool, bool]] = field(default_factory=list)

    def as_dict(self) -> dict[str, bool]:
        return {"contact": self.contact, "lifted": self.lifted, "success": self.lifted and self.placed}


class BFAEnv:
    """One scene with one object; ``reset(seed)`` places the object, ``step(action)`` acts."""

    def __init__(self, obj: BFAObject, image_size: tuple[int, int] = (64, 64)) -> None:
        require_extra("bfa", "the BFA stand-in scene")
        prepare_offscreen_rendering()
        import mujoco

        self.mujoco = mujoco
        self.obj = obj
        self.model = mujoco.MjModel.from_xml_string(bfa_scene.scene_xml(obj.geoms, obj.rgba, obj.mass))
        self.data = mujoco.MjData(self.model)
        self.scratch = mujoco.MjData(self.model)  # for IK
        self.height, self.width = image_size
        self.renderer: Any = None
        m = self.model
        self.arm_qpos = np.array([m.joint(f"right_joint{i}").qposadr[0] for i in range(1, 8)])
        self.arm_dof = np.array([m.joint(f"right_joint{i}").dofadr[0] for i in range(1, 8)])
        self.arm_range = np.array([m.joint(f"right_joint{i}").range for i in range(1, 8)])
        self.hand_qpos = np.array([m.joint(j).qposadr[0] for j in bfa_scene.hand_joint_names("right")])
        self.hand_range = np.array([m.joint(j).range for j in bfa_scene.hand_joint_names("right")])
        self.arm_act = np.array([m.actuator(f"right_arm{i}").id for i in range(1, 8)])
        self.hand_act = np.array([m.actuator(f"{j}_act").id for j in bfa_scene.hand_joint_names("right")])
        self.grip_site = m.site("right_grip").id
        self.base = np.array(bfa_scene.ARM_BASES["right"])
        self.object_body = m.body("object").id
        self.object_qpos = m.joint("object").qposadr[0]
        self.object_dof = m.joint("object").dofadr[0]
        object_geoms = {g for g in range(m.ngeom) if m.geom_bodyid[g] == self.object_body}
        hand_root = m.body("right_palm").id
        hand_bodies = {b for b in range(m.nbody) if self._descends(b, hand_root)}
        self.object_geoms = object_geoms
        self.hand_geoms = {g for g in range(m.ngeom) if m.geom_bodyid[g] in hand_bodies}
        self.counter_geom = m.geom("counter").id
        self.outcome = Outcome()
        self.steps = 0

    def _descends(self, body: int, root: int) -> bool:
        while body > 0:
            if body == root:
                return True
            body = self.model.body_parentid[body]
        return False

    # -- reset ----------------------------------------------------------------------------------
    def reset(self, seed: int) -> dict[str, np.ndarray]:
        """Ready pose, open hand, the object at a position (and yaw) drawn from ``seed``."""
        mujoco, m, d = self.mujoco, self.model, self.data
        rng = np.random.default_rng(seed)
        mujoco.mj_resetData(m, d)
        for side in ("right", "left"):
            for i, q in enumerate(bfa_scene.HOME, 1):
                d.joint(f"{side}_joint{i}").qpos = q
                d.actuator(f"{side}_arm{i}").ctrl = q
            for joint, q in zip(bfa_scene.hand_joint_names(side), bfa_scene.HAND_OPEN):
                d.joint(joint).qpos = q
                d.actuator(f"{joint}_act").ctrl = q
        x = rng.uniform(*OBJECT_REGION[0])
        y = rng.uniform(*OBJECT_REGION[1])
        yaw = rng.uniform(-np.pi, np.pi)
        z = bfa_scene.COUNTER_TOP + self.obj.half_height + 0.002
        d.qpos[self.object_qpos:self.object_qpos + 7] = [x, y, z, np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)]
        mujoco.mj_forward(m, d)
        for _ in range(10):  # let the object settle with the robot holding still
            mujoco.mj_step(m, d, nstep=SUBSTEPS)
        self.outcome = Outcome(start_height=float(d.xpos[self.object_body][2]))
        self.steps = 0
        return self.observation()

    # -- state ----------------------------------------------------------------------------------
    def grip_pose(self, data: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(3,) position in the right arm's base frame and (3, 3) rotation of the grip site."""
        d = self.data if data is None else data
        return d.site_xpos[self.grip_site] - self.base, d.site_xmat[self.grip_site].reshape(3, 3).copy()

    def proprio(self) -> np.ndarray:
        """(25,) achieved grip position, 6-D rotation and hand joints: the action's layout."""
        pos, rot = self.grip_pose()
        return np.concatenate([pos, rot6d(rot), self.data.qpos[self.hand_qpos]]).astype(np.float32)

    def object_pose(self) -> np.ndarray:
        """(7,) world position and quaternion of the object (privileged: for scripts and detection)."""
        return self.data.qpos[self.object_qpos:self.object_qpos + 7].copy()

    def render(self) -> np.ndarray:
        """(H, W, 3) uint8 from the head camera."""
        if self.renderer is None:
            self.renderer = self.mujoco.Renderer(self.model, self.height, self.width)
        self.renderer.update_scene(self.data, camera="head")
        return self.renderer.render().copy()

    def observation(self, render: bool = True) -> dict[str, np.ndarray]:
        obs = {"state": self.proprio()}
        if render:
            obs["image"] = self.render()
        return obs

    # -- control --------------------------------------------------------------------------------
    def solve_ik(self, target_pos: np.ndarray, target_rot: np.ndarray) -> np.ndarray:
        """Arm joint targets (7,) that bring the grip site to the pose, from the current joints."""
        mujoco, m, s = self.mujoco, self.model, self.scratch
        s.qpos[:] = self.data.qpos
        q = s.qpos[self.arm_qpos].copy()
        home = np.asarray(bfa_scene.HOME)
        jac_pos, jac_rot = np.zeros((3, m.nv)), np.zeros((3, m.nv))
        for _ in range(IK_ITERATIONS):
            s.qpos[self.arm_qpos] = q
            mujoco.mj_kinematics(m, s)
            mujoco.mj_comPos(m, s)
            pos, rot = self.grip_pose(s)
            err_pos = target_pos - pos
            err_rot = 0.5 * (np.cross(rot[:, 0], target_rot[:, 0]) + np.cross(rot[:, 1], target_rot[:, 1])
                             + np.cross(rot[:, 2], target_rot[:, 2]))
            mujoco.mj_jacSite(m, s, jac_pos, jac_rot, self.grip_site)
            jac = np.vstack([jac_pos[:, self.arm_dof], jac_rot[:, self.arm_dof]])  # (6, 7)
            err = np.concatenate([err_pos, err_rot])
            lhs = jac @ jac.T + IK_DAMPING ** 2 * np.eye(6)
            dq = jac.T @ np.linalg.solve(lhs, err)
            null = np.eye(7) - np.linalg.pinv(jac) @ jac
            dq += null @ (0.05 * (home - q))
            q = np.clip(q + np.clip(dq, -0.3, 0.3), self.arm_range[:, 0], self.arm_range[:, 1])
        return q

    def step(self, action: np.ndarray, render: bool = True) -> dict[str, np.ndarray]:
        """One 20 Hz control step of the (25,) action; updates the detection."""
        a = np.asarray(action, dtype=np.float64)
        if a.shape != (ACTION_DIM,) or not np.isfinite(a).all():
            raise ValueError(f"a BFA action is {ACTION_DIM} finite numbers, got shape {a.shape}")
        target_pos = a[:3] + self.base
        target_rot = rot_from_6d(a[3:9])
        q = self.solve_ik(target_pos - self.base, target_rot)
        d = self.data
        d.ctrl[self.arm_act] = q
        d.ctrl[self.hand_act] = np.clip(a[9:], self.hand_range[:, 0], self.hand_range[:, 1])
        self.mujoco.mj_step(self.model, d, nstep=SUBSTEPS)
        self.steps += 1
        self._detect()
        return self.observation(render)

    # -- detection ------------------------------------------------------------------------------
    def contacts(self) -> tuple[bool, bool]:
        """(hand touches object, object touches counter) now."""
        d = self.data
        hand = counter = False
        for c in d.contact[:d.ncon]:
            pair = (c.geom1, c.geom2)
            if pair[0] in self.object_geoms or pair[1] in self.object_geoms:
                other = pair[1] if pair[0] in self.object_geoms else pair[0]
                hand |= other in self.hand_geoms
                counter |= other == self.counter_geom
        return hand, counter

    def _detect(self) -> None:
        o, d = self.outcome, self.data
        hand, counter = self.contacts()
        height = float(d.xpos[self.object_body][2])
        speed = float(np.linalg.norm(d.qvel[self.object_dof:self.object_dof + 3]))
        o.contact |= hand
        up = height >= o.start_height + LIFT_HEIGHT and not counter
        o.lift_steps = o.lift_steps + 1 if up else 0
        o.lifted |= o.lift_steps >= LIFT_SECONDS * CONTROL_HZ
        o.placed = o.lifted and counter and not hand and speed < REST_SPEED
        o.history.append((hand, up, o.placed))

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None
