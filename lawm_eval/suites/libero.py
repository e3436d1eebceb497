"""LIBERO closed-loop success rate (suites/libero_*/v1.yaml), as the reference evaluation scripts
run it (openvla-oft ``run_libero_eval.py``, openpi ``examples/libero/main.py``):

- one environment per task, seeded with ``env_seed`` (7); trial k starts from the benchmark's
  stored initial state ``get_task_init_states(task)[k]``;
- ``wait_steps`` (10) steps of the dummy action [0,0,0,0,0,0,−1] while objects settle, then the
  policy acts while ``t < max_steps + wait_steps``;
- observations: agentview and wrist images at ``image_size`` (256), rotated 180° as the scripts do,
  the end-effector state (position, axis-angle, gripper) and the task's language;
- the policy returns an action chunk; ``execute_steps`` of it run open loop before it is asked again;
- success: the environment's ``done`` (the task's BDDL goal holds).

Policies that read no images (``needs_images = False``, e.g. the scripted oracle) run without
rendering: the physics is the same, and no frame is produced unless a video is requested.

Before the first episode (``run`` and ``validate``) the policy is probed without a simulator: it is
reset and asked for one chunk on a stand-in observation with the keys, shapes and dtypes of a real
one. Policies that read the simulator (``needs_simulator = True`` or ``privileged = True``: they get
``obs['sim']``) are not probed.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from lawm_eval.bundle import ModelBundle
from lawm_eval.envs.libero_env import DUMMY_ACTION, benchmark_tasks, make_env, quat_to_axis_angle, rotate_180
from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.interfaces import Planner
from lawm_eval.suites.base import EpisodeOutcome, Suite
from lawm_eval.types import EpisodeSpec


class LiberoSuite(Suite):
    action_dim = 7

    def __init__(self, manifest, params=None):
        super().__init__(manifest, params)
        p = self.params
        if p["trials_per_task"] < 1 or p["max_steps"] < 1 or p["execute_steps"] < 1 or p["wait_steps"] < 0:
            raise ConfigError("suite.trials_per_task, max_steps and execute_steps must be ≥ 1, wait_steps ≥ 0")

    # -- set-up ------------------------------------------------------------------------------------

    def benchmark(self) -> tuple[Any, list]:
        if getattr(self, "_live_benchmark", None) is None:

            self._live_benchmark = benchmark_tasks(self.params["benchmark"])
        return self._live_benchmark

    def selected_tasks(self) -> list:
        _, tasks = self.benchmark()
        chosen = self.params["tasks"]
        if chosen is None:
            return tasks
        bad = [i for i in chosen if not isinstance(i, int) or not 0 <= i < len(tasks)]
        if bad:
            raise ConfigError(f"suite.tasks: {bad} not in 0..{len(tasks) - 1} for {self.params['benchmark']}")
        return [tasks[i] for i in chosen]

    def episodes(self) -> list[EpisodeSpec]:
        p = self.params
        if p["trials_per_task"] > 50:
            raise ConfigError("suite.trials_per_task: LIBERO stores 50 initial states per task")
        specs = []
        for task in self.selected_tasks():
            for trial in range(p["trials_per_task"]):
                specs.append(self.spec(task.name, trial, p["env_seed"], group=self.name, task_index=task.index,
                                       params={"init_state": trial, "language": task.language}))
        return specs

    def env_for(self, task_index: int, cameras: bool) -> Any:
        """One environment per task (and camera setting), kept while episodes of that task run."""
        key = (task_index, cameras)
        if getattr(self, "_live_env_key", None) != key:
            self.close()

            _, tasks = self.benchmark()
            self._live_env = make_env(tasks[task_index], self.params["image_size"], cameras, self.params["env_seed"])
            self._live_env_key = key
        return self._live_env

    def close(self) -> None:
        env = getattr(self, "_live_env", None)
        if env is not None:
            env.close()
        self._live_env, self._live_env_key = None, None

    # -- the probe: one policy call on a stand-in observation, before any simulator starts -----------
    def probe_raw(self, cameras: bool) -> dict[str, np.ndarray]:
        """A stand-in for the robosuite observation ``env.step`` returns: the robot's keys with their
        shapes and dtypes (plausible values, the gripper pointing down) and, with ``cameras``, both
        images. The per-object keys (``<object>_pos``, ``object-state``) depend on the task and
        are left out: they need the simulator."""
        size = self.params["image_size"]
        raw: dict[str, np.ndarray] = {
            "robot0_joint_pos": np.zeros(7), "robot0_joint_pos_cos": np.ones(7), "robot0_joint_pos_sin": np.zeros(7),
            "robot0_joint_vel": np.zeros(7), "robot0_eef_pos": np.array([-0.2, 0.0, 1.17]),
            "robot0_eef_quat": np.array([1.0, 0.0, 0.0, 0.0]), "robot0_gripper_qpos": np.array([0.04, -0.04]),
            "robot0_gripper_qvel": np.zeros(2),
        }
        raw["robot0_proprio-state"] = np.concatenate(list(raw.values()))  # (39,) as robosuite builds it
        if cameras:
            raw["agentview_image"] = np.full((size, size, 3), 128, dtype=np.uint8)
            raw["robot0_eye_in_hand_image"] = np.full((size, size, 3), 128, dtype=np.uint8)
        return raw

    def probe_model(self, model: ModelBundle, spec: EpisodeSpec) -> None:
        """``policy.reset(seed)`` and one ``policy.act(obs)`` on a stand-in observation of episode
        ``spec`` (the keys, shapes and dtypes ``observation`` gives), checking the (Hc, 7) chunk."""
        from lawm_eval.util.seeding import stable_seed

        policy = model.policy
        if getattr(policy, "needs_simulator", False) or getattr(policy, "privileged", False):
            return  # it reads obs['sim']: only a real episode can call it
        raw = self.probe_raw(cameras=getattr(policy, "needs_images", True))
        policy.reset(stable_seed(*spec.key))
        self.check_chunk(policy.act(self.observation(raw, None, spec, policy)))

    def check_chunk(self, chunk: Any) -> np.ndarray:
        """A policy's answer as a (Hc, 7) float64 array (one action may come as (7,)); else ModelError."""
        chunk = np.asarray(chunk, dtype=np.float64)
        if chunk.ndim == 1:
            chunk = chunk[None]
        if chunk.ndim != 2 or chunk.shape[1] != self.action_dim or len(chunk) == 0:
            raise ModelError(f"policy.act returned shape {chunk.shape}, expected (Hc, {self.action_dim})")
        if not np.isfinite(chunk).all():
            raise ModelError("policy.act returned NaN/inf actions")
        return chunk

    # -- one episode -------------------------------------------------------------------------------
    def observation(self, raw: dict, env: Any, spec: EpisodeSpec, policy: Any) -> dict[str, Any]:

        obs: dict[str, Any] = {
            "state": np.concatenate([raw["robot0_eef_pos"], quat_to_axis_angle(raw["robot0_eef_quat"]),
                                     raw["robot0_gripper_qpos"]]).astype(np.float32),
            "task": spec.params["language"],
            "raw": raw,
        }
        if "agentview_image" in raw:
            obs["image"] = rotate_180(raw["agentview_image"])
            obs["wrist_image"] = rotate_180(raw["robot0_eye_in_hand_image"])
        if getattr(policy, "privileged", False):
            obs["sim"] = env.env
        return obs

    def run_episode(self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *,
                    frames: bool = False) -> EpisodeOutcome:
        from lawm_eval.util.seeding import stable_seed

        p = self.params
        policy = model.policy
        cameras = frames or getattr(policy, "needs_images", True)
        env = self.env_for(spec.task_index, cameras)
        suite_obj, _ = self.benchmark()
        initial_states = suite_obj.get_task_init_states(spec.task_index)
        env.reset()
        raw = env.set_init_state(initial_states[spec.params["init_state"]])
        policy_seed = stable_seed(*spec.key)  # the record's seed is the env seed; the policy gets its own
        policy.reset(policy_seed)
        queue: deque = deque()
        video, success, t, queries = [], False, 0, 0
        while t < p["max_steps"] + p["wait_steps"]:
            if t < p["wait_steps"]:
                raw, _, done, _ = env.step(DUMMY_ACTION)
                t += 1
                continue
            if frames:
                video.append(rotate_180(raw["agentview_image"]))
            if not queue:
                chunk = self.check_chunk(policy.act(self.observation(raw, env, spec, policy)))
                queue.extend(chunk[: p["execute_steps"]])
                queries += 1
            raw, _, done, _ = env.step(queue.popleft().tolist())
            if done:
                success = True
                break
            t += 1
        info = {"language": spec.params["language"], "init_state": spec.params["init_state"], "policy_queries": queries,
                "policy_seed": policy_seed}
        return EpisodeOutcome(success=success, metrics={"episode_length": float(t - p["wait_steps"])},
                              steps=t - p["wait_steps"], info=info, frames=np.stack(video) if video else None)
