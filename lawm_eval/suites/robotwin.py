"""RoboTwin 2.0 closed-loop success rate (suites/robotwin_clean, suites/robotwin_randomized), as
RoboTwin's ``script/eval_policy.py`` runs it; docs/protocols/robotwin.md cites every constant.

- The simulator runs in its own environment (``lawm-eval env setup robotwin``: the runtime pins
  torch 2.8.0 and sapien 3.0.0b1), in a child process (``envs/robotwin_runtime.py``).
- Seeds: for every task, the first ``trials_per_task`` (100) seeds at or after ``100000·(1+seed)``
  whose scripted expert succeeds (``plan_success and check_success()``); unstable scenes and failed
  plans are skipped, so the seeds are not contiguous. The expert pass runs once, in the process that
  enumerates the episodes, and is cached per runtime version, setting, planner, task and start seed
  (``$LAWM_EVAL_CACHE/robotwin_seeds``): each episode spec carries its seed, so no two workers ever
  run the same one, and every record carries the task's whole seed list.
- A trial: ``setup_demo(seed)``, an instruction of ``instruction_type``, then the policy's chunks of
  14-D joint targets (``qpos``), one ``take_action`` each, until the task's own success check fires
  (after every physics substep) or the task's step cap (``step_limits``, 400–1700) is reached.
- Before the first episode each missing piece is named with its fix, one line each: the runtime's
  environment, the assets, SAPIEN's render device, CuRobo without CUDA.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import BlockedError, ConfigError, DataError, ModelError, did_you_mean
from lawm_eval.inputs import ModelInputs, adapt_images
from lawm_eval.interfaces import Planner
from lawm_eval.paths import cache_dir
from lawm_eval.suites.base import EpisodeOutcome, Suite
from lawm_eval.suites.manifest import SuiteManifest
from lawm_eval.types import EpisodeSpec
from lawm_eval.util.files import replace_atomically

log = logging.getLogger("lawm_eval")

ENVIRONMENT = "robotwin"
BACKEND = "lawm_eval.envs.robotwin_runtime:RoboTwinBackend"
SETTINGS = ("demo_clean", "demo_randomized")
PLANNER_BACKENDS = ("curobo", "mplib")
INSTRUCTION_TYPES = ("seen", "unseen")
ACTION_DIM = 14  # aloha-agilex qpos: 6 joints + gripper per arm, left then right
# policy observation key -> RoboTwin camera (D435, 320×240)
CAMERAS = {"image": "head_camera", "left_wrist_image": "left_camera", "right_wrist_image": "right_camera"}
HEAD_SIZE = (240, 320)
SEED_CACHE_FORMAT = 1  # bump when what check_seed decides changes: older caches are then not reused
REPEATED_ERRORS = 5  # the same exception on this many seeds in a row stops the expert pass


def write_json_atomically(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` through a temporary file, so that a stop never leaves half a file."""
    replace_atomically(path, lambda temporary: temporary.write_text(json.dumps(data, indent=1) + "\n"))


def first_seed(seed: int) -> int:
    """The first seed the expert check tries: ``st_seed = 100000 * (1 + seed)`` (eval_policy.py:158-160)."""
    return 100000 * (1 + seed)


class RoboTwinSuite(Suite):
    action_dim = ACTION_DIM
    execution_params = frozenset({"assets"})  # where the assets live is not part of the protocol

    def __init__(self, manifest: SuiteManifest, params: Mapping[str, Any] | None = None):
        super().__init__(manifest, params)
        p = self.params
        if p["assets"]:  # absolute, so that workers in another directory find it too
            p["assets"] = str(Path(p["assets"]).expanduser().resolve())
        for key, allowed in (("setting", SETTINGS), ("planner_backend", PLANNER_BACKENDS),
                             ("instruction_type", INSTRUCTION_TYPES)):
            if p[key] not in allowed:
                raise ConfigError(f"suite.{key} must be one of {', '.join(allowed)}, got {p[key]!r}")
        if p["trials_per_task"] < 1 or (p["max_seed_attempts"] is not None and p["max_seed_attempts"] < 1):
            raise ConfigError("suite.trials_per_task and suite.max_seed_attempts must be ≥ 1")
        if p["execute_steps"] is not None and p["execute_steps"] < 1:
            raise ConfigError("suite.execute_steps must be ≥ 1 (or null: the whole chunk)")
        unknown = [t for t in self.task_names() if t not in p["step_limits"]]
        if unknown:
            raise ConfigError(f"suite.tasks: unknown RoboTwin task '{unknown[0]}'"
                              f"{did_you_mean(unknown[0], p['step_limits'])}")

    def task_names(self) -> list[str]:
        chosen = self.params["tasks"]
        return list(self.params["step_limits"]) if chosen is None else list(chosen)

    # -- the simulator process -----------------------------------------------------------------
    def assets_root(self) -> Path:
        from lawm_eval.assets import ROBOTWIN_ASSETS

        given = self.params["assets"]
        return Path(given).expanduser() if given else ROBOTWIN_ASSETS.path

    def sim(self) -> Any:
        """The live child process (started on first use, restarted if it died)."""
        from lawm_eval.envs.environments import get_environment
        from lawm_eval.envs.sim_client import SimProcess, SimulatorError

        process = getattr(self, "_live_sim", None)
        if process is None or not process.alive:
            python = get_environment(ENVIRONMENT).require()
            try:
                self._live_sim = SimProcess(ENVIRONMENT, python, BACKEND,
                                            env={"ROBOTWIN_ASSETS_ROOT": str(self.assets_root())})
            except SimulatorError as exc:
                raise SimulatorError(f"{exc} (the environment may be broken: 'lawm-eval env setup {ENVIRONMENT} "
                                     "--force' re-creates it)") from None
        return self._live_sim

    def simulator_in_child_process(self) -> bool:
        return True  # the runtime always runs in the robotwin environment's child process

    def close(self) -> None:
        process = getattr(self, "_live_sim", None)
        if process is not None:
            process.close()
        self._live_sim = None

    def blockers(self) -> list[str]:
        """Every missing piece, one line each with its fix (empty: a run can start)."""
        from lawm_eval.assets import ROBOTWIN_ASSETS
        from lawm_eval.envs.environments import EnvironmentMissing, get_environment

        lines, p = [], self.params
        env = get_environment(ENVIRONMENT)
        root = self.assets_root()
        assets_line = (f"RoboTwin assets not found at {root}: {ROBOTWIN_ASSETS.obtain}, then run 'lawm-eval assets "
                       "fetch robotwin --from DIR' (or set suite.assets=DIR)")
        try:
            env.require()
        except EnvironmentMissing:
            lines.append(f"the RoboTwin runtime (rlinf-robotwin-runtime) is not installed: run 'lawm-eval env setup "
                         f"{ENVIRONMENT}' (a venv in {env.path}, several GB)")
            if not root.is_dir() or ROBOTWIN_ASSETS.missing(root):
                lines.append(assets_line)
            return lines
        facts = self.sim().call("probe", assets_root=str(root) if root.is_dir() else None,
                                planner_backend=p["planner_backend"])
        if facts["assets_error"] or ROBOTWIN_ASSETS.missing(root):
            lines.append(assets_line)
        if facts["render_error"]:
            lines.append(f"SAPIEN {facts['versions'].get('sapien')} cannot render here ({facts['render_error']}): "
                         "RoboTwin renders its cameras with Vulkan; run on a machine whose GPU driver provides it "
                         "(NVIDIA); Mesa's lavapipe is not enough (22.3: no device; 25.0: a missing extension)")
        if p["planner_backend"] == "curobo" and (not facts["cuda"] or facts["curobo_error"]):
            why = "; ".join(filter(None, ["torch sees no CUDA device" if not facts["cuda"] else "",
                                          "curobo is not installed" if facts["curobo_error"] else ""]))
            lines.append(f"suite.planner_backend=curobo needs CUDA and CuRobo ({why}): on a CUDA machine install "
                         f"NVlabs/curobo v0.7.8 into {get_environment(ENVIRONMENT).path} as RoboTwin's "
                         "script/_install.sh:47-54 does, or set suite.planner_backend=mplib (the runtime's CPU planner)")
        return lines

    def check_ready(self) -> None:
        super().check_ready()
        lines = self.blockers()
        if lines:
            raise BlockedError(lines)

    def simulator_versions(self) -> dict[str, str]:
        from lawm_eval.assets import ROBOTWIN_ASSETS
        from lawm_eval.envs.environments import get_environment

        versions = get_environment(ENVIRONMENT).versions_of([d for d in self.manifest.simulators
                                                             if d != "robotwin_assets"])
        try:
            meta = json.loads(ROBOTWIN_ASSETS.meta_path.read_text()) if not self.params["assets"] else {}
        except (OSError, ValueError):
            meta = {}
        versions["robotwin_assets"] = meta.get("tree_sha256", "unverified (suite.assets)")
        return versions

    # -- seeds: the expert-check pass ------------------------------------------------------------
    def assets_digest(self) -> str:
        """The fetched asset folder's digest (``assets fetch robotwin``), or ``unverified``."""
        from lawm_eval.assets import ROBOTWIN_ASSETS

        if self.params["assets"] and Path(self.params["assets"]).resolve() != ROBOTWIN_ASSETS.path.resolve():
            return "unverified"
        try:
            return json.loads(ROBOTWIN_ASSETS.meta_path.read_text())["tree_sha256"]
        except (OSError, ValueError, KeyError):
            return "unverified"

    def seed_cache(self, task: str) -> Path:
        """Where the task's expert pass is cached: per runtime version, asset digest, setting, planner,
        task, first seed and cache format."""
        from lawm_eval.envs.environments import get_environment

        p = self.params
        runtime = get_environment(ENVIRONMENT).versions().get("rlinf-robotwin-runtime", "unknown")
        return (cache_dir() / "robotwin_seeds" / runtime / self.assets_digest()[:16] / p["setting"]
                / p["planner_backend"] / f"{task}_from{first_seed(p['seed'])}.v{SEED_CACHE_FORMAT}.json")

    @staticmethod
    def read_seed_cache(path: Path) -> dict[str, Any] | None:
        if not path.is_file():
            return None
        try:
            state = json.loads(path.read_text())
            if not isinstance(state, dict) or not {"accepted", "skipped", "info", "next"} <= set(state):
                raise ValueError("missing keys")
        except ValueError as exc:
            raise DataError(f"{path}: unreadable expert-pass cache ({exc}); delete it to run the pass again") from None
        return state

    def pending_generation(self) -> str | None:
        """The expert-check pass still to run (``validate`` writes nothing, so it does not run it)."""
        missing = []
        for task in self.task_names():
            state = self.read_seed_cache(self.seed_cache(task))
            if state is None or len(state["accepted"]) < self.params["trials_per_task"]:
                missing.append(task)
        if not missing:
            return None
        return (f"the expert-check pass (the first {self.params['trials_per_task']} seeds the scripted expert solves) "
                f"has not run for {len(missing)} task(s) ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}); "
                f"'run' runs it first and caches it in {self.seed_cache(missing[0]).parent}")

    def trial_seeds(self, task: str) -> dict[str, Any]:
        """The task's first ``trials_per_task`` expert-solvable seeds (``seeds``) and the ones skipped
        on the way (``skipped``: seed -> why), from the cache or by running the expert check (resumable,
        one pass at a time per cache file)."""
        import fcntl

        path = self.seed_cache(task)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a second run of the same pass waits, then reads the cache
            state = self.read_seed_cache(path) or {"accepted": [], "skipped": {}, "info": {},
                                                   "next": first_seed(self.params["seed"])}
            self.extend_seeds(task, state, path)
        accepted = state["accepted"][: self.params["trials_per_task"]]
        skipped = {s: why for s, why in state["skipped"].items() if int(s) < accepted[-1]}
        return {"seeds": accepted, "skipped": skipped, "info": {str(s): state["info"][str(s)] for s in accepted}}

    def extend_seeds(self, task: str, state: dict[str, Any], path: Path) -> None:
        """Run the expert check on the next seeds until ``trials_per_task`` pass, saving after each.
        The same error (not an unstable scene or a failed expert) on REPEATED_ERRORS seeds in a row is
        the environment's, not theirs: the pass stops with it, and those seeds are not cached."""
        p = self.params
        start, cap = first_seed(p["seed"]), p["max_seed_attempts"]
        errors: list[int] = []
        while len(state["accepted"]) < p["trials_per_task"]:
            if cap is not None and state["next"] - start >= cap:
                raise ConfigError(f"RoboTwin task {task}: only {len(state['accepted'])} of {p['trials_per_task']} "
                                  f"seeds passed the expert check in {cap} tries (suite.max_seed_attempts)")
            seed = state["next"]
            verdict = self.sim().call("check_seed", task=task, setting=p["setting"], seed=seed,
                                      planner_backend=p["planner_backend"], instruction_type=p["instruction_type"])
            if verdict["ok"]:
                state["accepted"].append(seed)
                state["info"][str(seed)] = verdict["info"]
            else:
                state["skipped"][str(seed)] = verdict["reason"]
            state["next"] = seed + 1
            same = verdict["kind"] == "error" and (not errors or state["skipped"][str(errors[-1])] == verdict["reason"])
            errors = [*errors, seed] if same else ([seed] if verdict["kind"] == "error" else [])
            if len(errors) == REPEATED_ERRORS:
                raise ConfigError(f"RoboTwin task {task}: the expert check raised the same error on {len(errors)} seeds "
                                  f"in a row ({verdict['reason']}); fix the environment and run again (those seeds "
                                  "are not cached)")
            if not errors:  # a run of errors is saved only once it is broken by a seed that is not one
                write_json_atomically(path, state)
            if (seed - start + 1) % 10 == 0:
                log.info("robotwin %s: %d/%d seeds found after %d tries", task, len(state["accepted"]),
                         p["trials_per_task"], seed - start + 1)
        write_json_atomically(path, state)

    def episodes(self) -> list[EpisodeSpec]:
        p = self.params
        specs = []
        for task in self.task_names():
            found = self.trial_seeds(task)
            index = list(p["step_limits"]).index(task)
            for trial, seed in enumerate(found["seeds"]):
                specs.append(self.spec(task, trial, seed, group=p["setting"], task_index=index,
                                       params={"step_limit": p["step_limits"][task], "task_seeds": found["seeds"],
                                               "episode_info": found["info"][str(seed)],
                                               "skipped_seeds": len(found["skipped"])}))
        return specs

    # -- the input contract ----------------------------------------------------------------------
    def offered_inputs(self) -> dict[str, Any]:
        return {"context_frames": 1, "action_dim": ACTION_DIM, "state_dim": ACTION_DIM}

    def evaluation_contract(self, model: ModelBundle) -> dict[str, Any]:
        contract = super().evaluation_contract(model)
        delivered = model.inputs.delivered_size(HEAD_SIZE)
        contract.update({
            "observations": [*CAMERAS, "state", "task", "raw"],
            "cameras": dict(CAMERAS),
            "rendered_resolution": list(HEAD_SIZE),
            "resolution": list(delivered),
            "resize": model.inputs.resize if tuple(delivered) != HEAD_SIZE else "none",
            "state": "14-D joint drive targets: left arm (6), left gripper, right arm (6), right gripper",
            "goal": f"language instruction ({self.params['instruction_type']} templates)",
            "ground_truth_actions": False,
            "privileged_state": False,
            "action": "14-D qpos targets, one take_action each",
            "chunk": {"execute_steps": self.params["execute_steps"] or "whole chunk"},
        })
        return contract

    # -- one episode -----------------------------------------------------------------------------
    def observation(self, raw: dict[str, Any], instruction: str, inputs: ModelInputs | None = None) -> dict[str, Any]:
        """The policy's view: the three cameras adapted to its declared inputs, the 14-D joint state,
        the instruction, and the raw observation (images as rendered, end poses)."""
        inputs = inputs or ModelInputs()
        obs: dict[str, Any] = {key: adapt_images(raw["images"][camera], inputs.image_size, inputs.resize)
                               for key, camera in CAMERAS.items() if camera in raw["images"]}
        obs.update(state=np.asarray(raw["state"], dtype=np.float32), task=instruction, raw=raw)
        return obs

    def check_chunk(self, chunk: Any) -> np.ndarray:
        chunk = np.asarray(chunk, dtype=np.float64)
        if chunk.ndim == 1:
            chunk = chunk[None]
        if chunk.ndim != 2 or chunk.shape[1] != ACTION_DIM or len(chunk) == 0:
            raise ModelError(f"policy.act returned shape {chunk.shape}, expected (Hc, {ACTION_DIM})")
        if not np.isfinite(chunk).all():
            raise ModelError("policy.act returned NaN/inf actions")
        n = self.params["execute_steps"]
        return chunk if n is None else chunk[:n]

    def probe_model(self, model: ModelBundle, spec: EpisodeSpec) -> None:
        """``policy.reset`` and one ``policy.act`` on a stand-in observation with a real one's keys,
        shapes and dtypes (no simulator)."""
        from lawm_eval.util.seeding import stable_seed

        policy = model.policy
        h, w = HEAD_SIZE
        raw = {"images": {camera: np.full((h, w, 3), 128, dtype=np.uint8) for camera in CAMERAS.values()},
               "state": np.zeros(ACTION_DIM), "endpose": {}}
        policy.reset(stable_seed(*spec.key))
        self.check_chunk(policy.act(self.observation(raw, "probe instruction", model.inputs)))

    def run_episode(self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *,
                    frames: bool = False) -> EpisodeOutcome:
        from lawm_eval.util.seeding import stable_seed

        p, policy, sim = self.params, model.policy, self.sim()
        start = sim.call("reset", task=spec.task, setting=p["setting"], seed=spec.seed, episode=spec.episode_idx,
                         planner_backend=p["planner_backend"], instruction_type=p["instruction_type"],
                         episode_info=spec.params["episode_info"], step_limit=spec.params["step_limit"])
        raw, instruction = start["observation"], start["instruction"]
        policy_seed = stable_seed(*spec.key)
        policy.reset(policy_seed)
        video, queries = [], 0
        while True:
            if frames:
                video.append(raw["images"]["head_camera"])
            chunk = self.check_chunk(policy.act(self.observation(raw, instruction, model.inputs)))
            queries += 1
            result = sim.call("step", actions=chunk, action_type="qpos")
            if result["done"]:
                break
            raw = result["observation"]
        steps = int(result["steps"])
        info = {"instruction": instruction, "policy_queries": queries, "policy_seed": policy_seed,
                "step_limit": spec.params["step_limit"], "task_seeds": spec.params["task_seeds"]}
        return EpisodeOutcome(success=bool(result["success"]), metrics={"episode_length": float(steps)}, steps=steps,
                              info=info, frames=np.stack(video) if video else None)
