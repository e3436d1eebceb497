"""LIBERO episodes imagined by a world model: the world model as a policy evaluator
(suites/libero_imagined/v1.yaml; docs/protocols/libero_imagined.md).

The same tasks, trials, initial states, step limit, chunk rules and gripper conventions as the LIBERO
suite (this class is one), and the same real start: the benchmark's stored initial state, settled in
the simulator, gives the first agentview frame and the robot state. From there ``suite.world_model``
imagines the episode (``suites/imagination.py``): the policy (``model=``) acts on its decoded frames,
the shared proprio model gives the state, and the success judge (``baselines/libero_judge``) decides
success on the imagined frames. Scoring the imagined success rates against the real ones of the same
policies, trials and initial states is ``scripts/evaluator_fidelity.py``'s job.

Only policies that read the agentview (or nothing) can be imagined: no wrist camera, no simulator.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from lawm_eval.bundle import ModelBundle
from lawm_eval.envs.libero_env import CAMERAS, policy_state, rotate_180
from lawm_eval.errors import ModelError
from lawm_eval.inputs import adapt_images
from lawm_eval.interfaces import Planner
from lawm_eval.paths import cache_dir
from lawm_eval.suites.base import EpisodeOutcome
from lawm_eval.suites.libero import LiberoSuite, to_env_gripper
from lawm_eval.types import EpisodeSpec
from lawm_eval.util.files import replace_atomically

START_CACHE_FORMAT = 1  # bump when what a kept start holds (or how it is derived from the observation) changes


class ImaginedLiberoSuite(LiberoSuite):
    domain = "libero"  # a world model adapted to LIBERO (cola_world -> cola_world_libero) is chosen for it
    execution_params = frozenset({"simulator", "start_cache"})  # the same episodes either way

    def world(self) -> ModelBundle:
        """The evaluator: ``suite.world_model``, any model with a config file (built once per suite)."""
        world = getattr(self, "_live_world", None)
        if world is None:
            from lawm_eval.bundle import make_bundle
            from lawm_eval.models.specs import model_spec

            world = self._live_world = make_bundle(model_spec(self.params["world_model"]).config, self)
        return world

    def imagination(self) -> Any:
        imagination = getattr(self, "_live_imagination", None)
        if imagination is None:
            from lawm_eval.models.libero_judge import load_judge
            from lawm_eval.models.libero_proprio import load_proprio
            from lawm_eval.suites.imagination import Imagination

            world = self.world()
            action_dim = world.inputs.action_dim or self.action_dim
            if action_dim % self.action_dim:
                raise ModelError(f"world model '{world.model_id}' takes {action_dim}-D actions: LIBERO's are "
                                 f"{self.action_dim}-D, so a transition must take a whole number of them")
            imagination = self._live_imagination = Imagination(
                world, load_judge(self.params.get("judge")), load_proprio(self.params.get("proprio")),
                action_stride=action_dim // self.action_dim, context=int(self.params["context"]),
                reencode=bool(self.params.get("reencode", True)))
        return imagination

    def batched_service(self) -> Any | None:
        """The world model, shared by side-by-side episodes (re-encoded imagination only)."""
        from lawm_eval.suites.imagination import ImaginationService

        return ImaginationService(self.imagination()) if self.imagination().reencode else None

    def use_service(self, session: Any, service: Any) -> None:
        """Imagine through ``session``; keep the first environment's world model, judge and proprio
        model (``service.imagination``) instead of loading copies."""
        self._live_world_session = session
        self._live_imagination = service.imagination
        self._live_world = service.imagination.world

    def finish_service(self) -> None:
        session = getattr(self, "_live_world_session", None)
        if session is not None:
            session.finish()

    def start_cache_path(self, spec: EpisodeSpec) -> Path | None:
        """Where trial ``spec``'s real start is kept (``suite.start_cache``; None: off). The name hashes
        everything the start depends on: benchmark, task, initial state, settle steps, render size,
        seeds, the simulator's versions, the scene assets, the renderer and what is kept
        (``START_CACHE_FORMAT``)."""
        if not self.params["start_cache"]:
            return None
        from lawm_eval.assets import LIBERO_ASSETS

        p = self.params
        key = {"format": START_CACHE_FORMAT, "benchmark": p["benchmark"], "task": spec.task_index,
               "init_state": spec.params["init_state"], "wait_steps": p["wait_steps"], "image_size": p["image_size"],
               "env_seed": p["env_seed"], "seed": spec.seed, "camera": CAMERAS["image"],
               "simulators": self.simulator_versions(), "assets": LIBERO_ASSETS.tree_sha256,
               "renderer": os.environ.get("MUJOCO_GL", "egl")}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
        return cache_dir() / "libero_starts" / f"{p['benchmark']}-t{spec.task_index}-{digest}.npz"

    def real_start(self, spec: EpisodeSpec) -> tuple[np.ndarray, np.ndarray]:
        """(agentview frame (H,W,3) uint8 upright, robot state (8,)) after the settle steps of trial
        ``spec``: from the start cache, or from the simulator (then kept). The simulator is deterministic
        from the stored initial state, so both give the same bytes (tests/test_libero_process.py)."""
        path = self.start_cache_path(spec)
        if path is not None and path.exists():
            try:
                with np.load(path, allow_pickle=False) as kept:
                    return kept["frame"], kept["state"]
            except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
                pass  # a damaged or cut file: start in the simulator and write it again
        _, raw = self.start(spec, (CAMERAS["image"],))
        frame, state = rotate_180(raw[f"{CAMERAS['image']}_image"]), policy_state(raw)
        if path is not None:  # parallel workers never read half a file
            replace_atomically(path, lambda temporary: np.savez(temporary, frame=frame, state=state), ".npz")
        return frame, state

    def rendered_cameras(self, model: ModelBundle, frames: bool = False) -> tuple[str, ...]:
        return (CAMERAS["image"],)  # the real first frame is all the simulator gives

    def check_inputs(self, model: ModelBundle) -> None:
        """The LIBERO checks, then: a policy the world model can serve (the agentview or no image; no
        simulator), and an evaluator that loads (world model, judge, proprio), before the first episode."""
        super().check_inputs(model)
        policy, who = model.policy, f"model '{model.model_id}'"
        if getattr(policy, "privileged", False) or getattr(policy, "needs_simulator", False):
            raise ModelError(f"{who} reads the simulator, which an imagined episode does not have")
        if getattr(policy, "needs_images", True) and model.inputs.camera != CAMERAS["image"]:
            raise ModelError(f"{who} does not declare inputs.camera: agentview; an imagined episode shows "
                             "only the agentview (no wrist camera)")
        self.imagination()

    def probe_model(self, model: ModelBundle, spec: EpisodeSpec) -> None:
        from lawm_eval.util.seeding import stable_seed

        policy = model.policy
        policy.reset(stable_seed(*spec.key))
        size = tuple(self.params["world_frame_size"])
        obs = self.imagined_observation(np.full((*size, 3), 128, np.uint8), np.zeros(8, np.float32), spec, model)
        self.executed(self.check_chunk(policy.act(obs)), policy)

    def imagined_observation(self, frame: np.ndarray, state: np.ndarray, spec: EpisodeSpec,
                             model: ModelBundle) -> dict[str, Any]:
        """What the policy gets in imagination: the imagined agentview at its declared size, the
        proprio model's state, the language; no raw simulator keys."""
        obs: dict[str, Any] = {"state": np.asarray(state, np.float32), "task": spec.params["language"], "raw": {}}
        if getattr(model.policy, "needs_images", True):
            obs["image"] = adapt_images(frame, model.inputs.image_size, model.inputs.resize)
        return obs

    def evaluation_contract(self, model: ModelBundle) -> dict[str, Any]:
        contract = super().evaluation_contract(model)
        contract.update({
            "observations": (["image"] if getattr(model.policy, "needs_images", True) else []) + ["state", "task"],
            "imagined": {"world_model": self.params["world_model"], "frame_size": list(self.params["world_frame_size"]),
                         "state": "the shared proprio model (linear in the action) from the real first state",
                         "success": "the LIBERO judge on the imagined frames (first frame above its threshold)",
                         "start": "the real first frame and state after the settle steps"},
            "privileged_state": False,
        })
        return contract

    def run_episode(self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *,
                    frames: bool = False) -> EpisodeOutcome:
        from lawm_eval.util.seeding import stable_seed

        p = self.params
        policy = model.policy
        gripper = self.gripper_convention(model)
        session = getattr(self, "_live_world_session", None)  # a side-by-side run's shared world model
        try:
            frame, state = self.real_start(spec)
            world = self.world()
            first = adapt_images(frame, tuple(p["world_frame_size"]), world.inputs.resize)
            policy_seed = stable_seed(*spec.key)
            policy.reset(policy_seed)
            if session is not None:
                session.reset(policy_seed)
            episode = self.imagination().run(
                policy, first, state, spec.params["language"], max_steps=p["max_steps"],
                executed=lambda chunk: to_env_gripper(self.executed(self.check_chunk(chunk), policy), gripper),
                observe=lambda frame, state: self.imagined_observation(frame, state, spec, model),
                frames_after=None if session is None else (
                    lambda context, actions: session.act({"context": context, "actions": actions})))
        finally:
            if session is not None:  # also when the start failed: the other episodes stop waiting for this one
                session.finish()
        info = {"language": spec.params["language"], "init_state": spec.params["init_state"],
                "policy_queries": episode.queries, "policy_seed": policy_seed, "world_model": p["world_model"],
                "judge_peak": float(episode.scores.max()), "judge_final": float(episode.scores[-1]),
                "imagined_frames": len(episode.frames)}
        return EpisodeOutcome(success=episode.success, metrics={"episode_length": float(episode.steps)},
                              steps=episode.steps, info=info, frames=episode.frames if frames else None)
