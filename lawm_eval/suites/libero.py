"""LIBERO closed-loop success rate (suites/libero_*/v2.yaml; v1 still loads), as the reference
evaluation scripts run it (openvla-oft ``experiments/robot/libero/run_libero_eval.py``, openpi
``examples/libero/main.py``); docs/protocols/libero.md compares every constant with its source.

- one environment per task, seeded with ``env_seed`` (7, openpi; openvla-oft uses 0); trial k starts
  from the benchmark's stored initial state ``get_task_init_states(task)[k]`` (after
  ``set_init_state`` neither seed changes the physics: tests/test_libero.py);
- ``wait_steps`` (10) steps of the dummy action [0,0,0,0,0,0,−1] while objects settle, then at most
  ``max_steps`` policy actions; success: the environment's ``done`` (the task's BDDL goal holds);
  ``count_success_step`` (v2): the episode length counts the action that succeeded (as LeRobot);
- observations: agentview and wrist images rendered at ``image_size`` (256) and rotated 180° as the
  scripts do, then resized to the policy's declared ``inputs.image_size`` by its ``inputs.resize``
  (never re-rendered); the end-effector state (position, axis-angle, gripper) and the language;
- the policy returns an action chunk; ``execute_steps`` of it run open loop before it is asked again:
  the first ones (``chunk_keep: first``, openpi) or the last ones (``last``, openvla-oft's deque);
  a shorter chunk is refused (``short_chunks: refuse``, openpi's assert) or run whole (``run``).
  A policy with ``closed_loop = True`` returns one action and is asked before every step;
- the gripper value is converted to the environment's −1 open / +1 close by the policy's declared
  convention (``inputs.gripper``) or ``suite.gripper`` (GRIPPER_CONVENTIONS).

Policies that read no images (``needs_images = False``, e.g. the scripted oracle) run without
rendering: the physics is the same (tests/test_libero.py), and no frame is produced unless a video
is requested. Only privileged policies (``privileged = True``) get the simulator (``obs['sim']``)
and, in v2, the objects' poses in ``obs['raw']``.

Before the first episode (``run`` and ``validate``) the policy is probed without a simulator: it is
reset and asked for one chunk on a stand-in observation with the keys, shapes and dtypes of a real
one. Policies that read the simulator (``needs_simulator = True`` or ``privileged = True``) are not
probed.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from lawm_eval.bundle import ModelBundle
from lawm_eval.envs.libero_env import (
    CAMERAS,
    benchmark_tasks,
    make_env,
    policy_state,
    rotate_180,
    settle,
)
from lawm_eval.errors import ConfigError, MissingDependencyError, ModelError
from lawm_eval.inputs import ModelInputs, adapt_images
from lawm_eval.interfaces import Planner
from lawm_eval.suites.base import EpisodeOutcome, Suite
from lawm_eval.types import EpisodeSpec

# name -> what the policy's last action dimension means, and how it becomes the env's −1 open / +1 close
GRIPPER_CONVENTIONS = {
    "env": "−1 open … +1 close, stepped as returned (LIBERO's gripper; openpi examples/libero/main.py:150-153)",
    "openvla_oft": "[0, 1] with 1 open, 0 close (RLDS): 2x−1, sign, inverted (openvla-oft run_libero_eval.py:265-275)",
    "zero_one": "[0, 1] with 0 open, 1 close: 2x−1, sign, not inverted (openvla-oft robot_utils.py:149-177)",
}
CHUNK_KEEP = ("first", "last")  # openpi chunk[:replan_steps] | openvla-oft deque(maxlen=n).extend(chunk)
SHORT_CHUNKS = ("refuse", "run")  # openpi asserts len(chunk) >= replan_steps | run the whole chunk, then ask
OBJECT_POSES = ("privileged", "all")  # who gets the objects' poses in obs['raw'] (v1: all)
STATE_DIM = 8  # eef position (3) + axis-angle (3) + gripper qpos (2), openpi main.py:133-139


def to_env_gripper(actions: np.ndarray, convention: str) -> np.ndarray:
    """(N, 7) policy actions → (N, 7) with the last dimension in the env's −1 open / +1 close."""
    if convention == "env":
        return actions
    out = actions.copy()
    out[:, -1] = np.sign(2.0 * out[:, -1] - 1.0)  # [0, 1] → [−1, 1], binarised
    if convention == "openvla_oft":
        out[:, -1] *= -1.0  # RLDS 1 = open → env −1 = open
    return out


def closed_loop(policy: Any) -> bool:
    """A policy asked before every action (it returns one action): scripted controllers, baselines."""
    return bool(getattr(policy, "closed_loop", False))


SIMULATOR_MODES = ("auto", "inprocess", "process")


class LiberoSuite(Suite):
    action_dim = 7
    execution_params = frozenset({"simulator"})  # in process or in its own environment: the same episodes

    def __init__(self, manifest, params=None):
        super().__init__(manifest, params)
        p = self.params
        if p.get("simulator", "auto") not in SIMULATOR_MODES:
            raise ConfigError(f"suite.simulator must be one of {', '.join(SIMULATOR_MODES)}, got {p['simulator']!r}")
        if p["trials_per_task"] < 1 or p["max_steps"] < 1 or p["execute_steps"] < 1 or p["wait_steps"] < 0:
            raise ConfigError("suite.trials_per_task, max_steps and execute_steps must be ≥ 1, wait_steps ≥ 0")
        for key, allowed in (("gripper", tuple(GRIPPER_CONVENTIONS)), ("chunk_keep", CHUNK_KEEP),
                             ("short_chunks", SHORT_CHUNKS), ("object_poses", OBJECT_POSES)):
            if key in p and p[key] not in allowed:
                raise ConfigError(f"suite.{key} must be one of {', '.join(allowed)}, got {p[key]!r}")

    # -- conventions (v1 manifests lack the keys: their defaults are v1's behaviour) -----------------
    @property
    def chunk_keep(self) -> str:
        return self.params.get("chunk_keep", "first")

    @property
    def short_chunks(self) -> str:
        return self.params.get("short_chunks", "run")

    @property
    def counts_success_step(self) -> bool:
        return bool(self.params.get("count_success_step", False))

    def rendered_cameras(self, model: ModelBundle, frames: bool = False) -> tuple[str, ...]:
        """The robosuite cameras an episode renders: none for a policy that reads no images (unless a
        video is asked for: the agentview), only the agentview for one that declares
        ``inputs.camera: agentview`` (rendering dominates a CPU step), else both as the references."""
        if not getattr(model.policy, "needs_images", True):
            return (CAMERAS["image"],) if frames else ()
        if model.inputs.camera == CAMERAS["image"]:
            return (CAMERAS["image"],)
        return tuple(CAMERAS.values())

    def gripper_convention(self, model: ModelBundle) -> str:
        """The policy's declared ``inputs.gripper``, else ``suite.gripper`` (default ``env``)."""
        return model.inputs.gripper or self.params.get("gripper", "env")

    def executed_steps(self, policy: Any) -> int:
        """Actions run from each chunk before the policy is asked again."""
        return 1 if closed_loop(policy) else self.params["execute_steps"]

    # -- where the simulator runs ------------------------------------------------------------------
    def in_process(self) -> bool:
        """True: LIBERO runs in this process; False: in the ``libero`` simulator environment's child
        process (``suite.simulator=process``, or ``auto`` where this environment lacks LIBERO)."""
        from lawm_eval.extras import missing_module

        mode = self.params.get("simulator", "auto")
        return mode == "inprocess" or (mode == "auto" and missing_module("libero") is None)

    def simulator_in_child_process(self) -> bool:
        return not self.in_process()

    def check_ready(self) -> None:
        """In process: the libero extra and the assets; in its own environment: that environment and the
        assets (which the child reads from the same cache)."""
        if self.in_process():
            super().check_ready()
            return
        from lawm_eval import assets
        from lawm_eval.envs.environments import get_environment

        environment = get_environment("libero")
        if self.params.get("simulator", "auto") == "auto" and not environment.ready():
            from lawm_eval.extras import missing_module

            raise MissingDependencyError(f"suite '{self.name}'", "libero", missing_module("libero"),
                                         or_else="or run LIBERO in its own environment: lawm-eval env setup libero")
        environment.require()
        for name in self.required_assets():
            assets.require(name)

    def simulator_versions(self) -> dict[str, str]:
        if self.in_process():
            return super().simulator_versions()
        from lawm_eval.envs.environments import get_environment

        return get_environment("libero").versions_of(self.manifest.simulators)

    def process(self) -> Any:
        """The live child process running LIBERO (started on first use, restarted if it died)."""
        from lawm_eval.envs import libero_process

        process = getattr(self, "_live_process", None)
        if process is None or not process.alive:
            self._live_env, self._live_env_key, self._live_benchmark = None, None, None
            self._live_process = libero_process.start()
        return self._live_process

    # -- set-up ------------------------------------------------------------------------------------

    def benchmark(self) -> tuple[Any, list]:
        if getattr(self, "_live_benchmark", None) is None:
            if self.in_process():
                self._live_benchmark = benchmark_tasks(self.params["benchmark"])
            else:
                from lawm_eval.envs.libero_process import RemoteBenchmark

                remote = RemoteBenchmark(self.process(), self.params["benchmark"])
                self._live_benchmark = (remote, remote.tasks())
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

    def env_for(self, task_index: int, cameras: tuple[str, ...]) -> Any:
        """One environment per task (and camera setting), kept while episodes of that task run."""
        key = (task_index, cameras)
        if getattr(self, "_live_env_key", None) != key:
            self.close_env()
            _, tasks = self.benchmark()
            p = self.params
            if self.in_process():
                self._live_env = make_env(tasks[task_index], p["image_size"], cameras, p["env_seed"])
            else:
                from lawm_eval.envs.libero_process import RemoteEnv

                self._live_env = RemoteEnv(self.process(), p["benchmark"], task_index, p["image_size"], cameras,
                                           p["env_seed"])
            self._live_env_key = key
        return self._live_env

    def close_env(self) -> None:
        env = getattr(self, "_live_env", None)
        if env is not None:
            env.close()
        self._live_env, self._live_env_key = None, None

    def close(self) -> None:
        self.close_env()
        process = getattr(self, "_live_process", None)
        if process is not None:
            process.close()
        self._live_process, self._live_benchmark = None, None

    # -- the input contract ------------------------------------------------------------------------
    def offered_inputs(self) -> dict[str, Any]:
        return {"context_frames": 1, "action_dim": self.action_dim, "state_dim": STATE_DIM}

    def check_inputs(self, model: ModelBundle) -> None:
        """The generic checks, then the LIBERO ones: a known gripper convention that does not contradict
        ``suite.gripper``, the 8-D state, a camera LIBERO has; a policy that reads the simulator needs it
        in this process."""
        super().check_inputs(model)
        declared, who = model.inputs, f"model '{model.model_id}'"
        policy = model.policy
        reads_sim = getattr(policy, "privileged", False) or getattr(policy, "needs_simulator", False)
        if reads_sim and not self.in_process():
            raise ModelError(f"{who} reads the simulator itself (obs['sim']), which cannot leave the libero "
                             "environment's process: install the libero extra here (suite.simulator=inprocess)")
        if declared.gripper and declared.gripper not in GRIPPER_CONVENTIONS:
            raise ModelError(f"{who} declares inputs.gripper={declared.gripper!r}; LIBERO knows "
                             f"{', '.join(GRIPPER_CONVENTIONS)}")
        chosen, default = self.params.get("gripper"), self.manifest.params.get("gripper")
        if declared.gripper and chosen != default and chosen != declared.gripper:
            raise ModelError(f"{who} declares inputs.gripper={declared.gripper!r} but suite.gripper={chosen!r}")
        if declared.state_dim and declared.state_dim != STATE_DIM:
            raise ModelError(f"{who} takes {declared.state_dim}-D states but suite '{self.name}' gives {STATE_DIM}-D "
                             "states (eef position, axis-angle, gripper qpos)")
        if declared.camera and declared.camera not in CAMERAS.values():
            raise ModelError(f"{who} reads camera '{declared.camera}'; LIBERO renders "
                             f"{', '.join(CAMERAS.values())}")

    def evaluation_contract(self, model: ModelBundle) -> dict[str, Any]:
        policy, size = model.policy, self.params["image_size"]
        images = getattr(policy, "needs_images", True)
        rendered_cameras = self.rendered_cameras(model)
        given = {key: name for key, name in CAMERAS.items() if name in rendered_cameras}
        privileged = bool(getattr(policy, "privileged", False))
        contract = super().evaluation_contract(model)
        rendered = (size, size)
        delivered = model.inputs.delivered_size(rendered)
        contract.update({
            "observations": (list(given) if images else []) + ["state", "task", "raw"]
                            + (["sim"] if privileged else []),
            "cameras": given if images else {},
            "rendered_resolution": list(rendered) if images else None,
            "resolution": list(delivered) if images else None,
            "resize": (model.inputs.resize if tuple(delivered) != rendered else "none") if images else None,
            "flip": "180° (img[::-1, ::-1]) on every camera" if images else None,
            "state": "eef position (3) + axis-angle (3) + gripper qpos (2)",
            "goal": "language instruction (obs['task'])" + ("; the task's BDDL goal via obs['sim']" if privileged else ""),
            "ground_truth_actions": False,
            "privileged_state": "simulator and object poses" if privileged else
                                ("object poses in obs['raw']" if self.params.get("object_poses", "all") == "all"
                                 else False),
            "gripper": self.gripper_convention(model),
            "chunk": {"execute_steps": self.executed_steps(policy), "keep": self.chunk_keep,
                      "short_chunks": self.short_chunks, "closed_loop": closed_loop(policy)},
            "episode_length": "policy actions, the successful one included" if self.counts_success_step
                              else "policy actions, the successful one excluded",
        })
        return contract

    # -- the probe: one policy call on a stand-in observation, before any simulator starts -----------
    def probe_raw(self, cameras: tuple[str, ...]) -> dict[str, np.ndarray]:
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
        for camera in cameras:
            raw[f"{camera}_image"] = np.full((size, size, 3), 128, dtype=np.uint8)
        return raw

    def probe_model(self, model: ModelBundle, spec: EpisodeSpec) -> None:
        """``policy.reset(seed)`` and one ``policy.act(obs)`` on a stand-in observation of episode
        ``spec`` (the keys, shapes and dtypes ``observation`` gives), checking the (Hc, 7) chunk and
        its length against ``execute_steps``."""
        from lawm_eval.util.seeding import stable_seed

        policy = model.policy
        if getattr(policy, "needs_simulator", False) or getattr(policy, "privileged", False):
            return  # it reads obs['sim']: only a real episode can call it
        raw = self.probe_raw(self.rendered_cameras(model))
        policy.reset(stable_seed(*spec.key))
        self.executed(self.check_chunk(policy.act(self.observation(raw, None, spec, policy, model.inputs))), policy)

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

    def executed(self, chunk: np.ndarray, policy: Any) -> np.ndarray:
        """The (n, 7) part of a (Hc, 7) chunk that runs before the next query: the first or the last
        ``execute_steps`` (``chunk_keep``); a shorter chunk is refused or run whole (``short_chunks``)."""
        n = self.executed_steps(policy)
        if len(chunk) < n and self.short_chunks == "refuse":
            raise ModelError(f"policy.act returned {len(chunk)} action(s) but suite.execute_steps={n}; return at "
                             "least that many, or set suite.short_chunks=run (or closed_loop = True on the policy)")
        return chunk[-n:] if self.chunk_keep == "last" else chunk[:n]

    # -- one episode -------------------------------------------------------------------------------
    def observation(self, raw: dict, env: Any, spec: EpisodeSpec, policy: Any,
                    inputs: ModelInputs | None = None) -> dict[str, Any]:
        """The policy's view of robosuite's observation ``raw``: images rotated 180° and adapted to the
        declared ``inputs`` (size, resize method), the 8-D state, the language, the raw dict (only
        the robot's and cameras' keys unless the policy is privileged or ``object_poses: all``)."""
        privileged = getattr(policy, "privileged", False)
        if not privileged and self.params.get("object_poses", "all") == "privileged":
            raw = {k: v for k, v in raw.items() if k.startswith("robot0_") or k.endswith("_image")}
        obs: dict[str, Any] = {
            "state": policy_state(raw),
            "task": spec.params["language"],
            "raw": raw,
        }
        if "agentview_image" in raw:
            inputs = inputs or ModelInputs()
            for key, camera in CAMERAS.items():
                if f"{camera}_image" not in raw:
                    continue  # not rendered: the policy declared the other camera
                obs[key] = adapt_images(rotate_180(raw[f"{camera}_image"]), inputs.image_size, inputs.resize)  # (h,w,3)
        if privileged:
            obs["sim"] = env.env
        return obs

    def start(self, spec: EpisodeSpec, cameras: tuple[str, ...]) -> tuple[Any, dict[str, Any]]:
        """(env, the observation after the settle steps) of trial ``spec``: its task's environment with
        ``cameras``, reset to the stored initial state, settled."""
        if not self.in_process():  # the runner seeded this process; LIBERO draws from the child's generators
            self.process().call("seed", seed=spec.seed)
        env = self.env_for(spec.task_index, cameras)
        suite_obj, _ = self.benchmark()
        initial_state = suite_obj.get_task_init_states(spec.task_index)[spec.params["init_state"]]
        wait = self.params["wait_steps"]
        return env, (settle(env, initial_state, wait) if self.in_process() else env.settle(initial_state, wait))

    def run_episode(self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *,
                    frames: bool = False) -> EpisodeOutcome:
        from lawm_eval.util.seeding import stable_seed

        p = self.params
        policy = model.policy
        gripper = self.gripper_convention(model)
        env, raw = self.start(spec, self.rendered_cameras(model, frames))
        policy_seed = stable_seed(*spec.key)  # the record's seed is the env seed; the policy gets its own
        policy.reset(policy_seed)
        queue: deque = deque()
        video, success, actions, queries = [], False, 0, 0
        while actions < p["max_steps"]:
            if frames:
                video.append(rotate_180(raw["agentview_image"]))
            if not queue:
                chunk = self.check_chunk(policy.act(self.observation(raw, env, spec, policy, model.inputs)))
                queue.extend(to_env_gripper(self.executed(chunk, policy), gripper))
                queries += 1
            raw, _, done, _ = env.step(queue.popleft().tolist())
            actions += 1
            if done:
                success = True
                break
        if frames:  # the observation after the last action too: the video shows how the episode ended
            video.append(rotate_180(raw["agentview_image"]))
        # v1 (and the references' loop counter t) leave the successful action out; LeRobot counts it
        steps = actions if self.counts_success_step or not success else actions - 1
        info = {"language": spec.params["language"], "init_state": spec.params["init_state"], "policy_queries": queries,
                "policy_seed": policy_seed}
        return EpisodeOutcome(success=success, metrics={"episode_length": float(steps)},
                              steps=steps, info=info, frames=np.stack(video) if video else None)
