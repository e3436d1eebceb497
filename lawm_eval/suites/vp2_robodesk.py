"""RoboDesk inside VP² (Tian et al. 2023): visual MPC towards a goal image, success by RoboDesk's predicates.

One episode (vp2/scripts/run_control.py and vp2/mpc/agent.py, mppi.py, objectives.py at s-tian/vp2
b0eb69d; docs/protocols/vp2_robodesk.md has every constant with its line):
1. ``reset_to`` the pair's start state, one zero-action step (run_control.py:33-35): frame o_0, state s_0;
2. t = 0 executes the zero action without planning (agent.py:42-45): o_1;
3. for t = 1..14 the planner proposes 10 actions; each candidate is scored by predicting 11 frames from
   the context [o_{t-1}, o_t] and the actions [a_{t-1}, â_t .. â_{t+9}] (the executed action first,
   mppi.py:52-69) and R = −0.5·Σ(x̂ − g)² + 10·Σ_t logit(x̂_t) over all 11 frames (objectives.py,
   combined_classifier_mse.yaml); the first planned action is executed, the rest warm-starts the next plan;
4. success if the task predicate holds at any of the 16 states s_0 .. s_15 (run_control.py:41, 77-83).

``model=robodesk_simulator`` is the privileged check: the planner scores candidates by playing them in
the simulator itself from the true state (``robodesk_runtime.rollout_costs``, a state cost), never
rendering or calling a model.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.envs.robodesk_process import ENVIRONMENT
from lawm_eval.envs.robodesk_tasks import ACTION_DIM, STATE_DIM, TASKS, success
from lawm_eval.errors import ConfigError, LawmEvalError, ModelError, did_you_mean
from lawm_eval.interfaces import Planner
from lawm_eval.rollouts import check_states, rollout_actions
from lawm_eval.suites.base import EpisodeOutcome, Suite
from lawm_eval.types import EpisodeSpec

PAIRS_FILE_KEYS = ("tasks", "start_states", "goal_states", "seeds")


def load_pairs(path: Path) -> dict[str, np.ndarray]:
    """The start/goal pairs file: per task (K,) seeds and (K, 76) start and goal states."""
    try:
        with np.load(path, allow_pickle=False) as data:
            pairs = {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise LawmEvalError(f"RoboDesk start/goal pairs {path} cannot be read ({exc})") from None
    missing = [k for k in PAIRS_FILE_KEYS if k not in pairs]
    if missing:
        raise LawmEvalError(f"RoboDesk start/goal pairs {path} lack {', '.join(missing)}")
    if pairs["start_states"].shape[-1] != STATE_DIM or pairs["goal_states"].shape != pairs["start_states"].shape:
        raise LawmEvalError(f"RoboDesk start/goal pairs {path}: states must be (tasks, pairs, {STATE_DIM})")
    return pairs


@dataclasses.dataclass
class VP2Objective:
    """VP²'s ``combined_classifier_mse`` cost (−R) of (N, H, 5) planned actions, with the world model
    predicting 11 frames: frame 0 from [o_{t-1}] and the executed action a_{t-1}, frames 1..10 from the
    context [o_{t-1}, o_t] and the plan (FitVid's teacher-forced context, fitvid.py:658-703)."""

    model: ModelBundle
    classifier: Any  # ConvPredictor or None (weight 0)
    context: torch.Tensor  # (1, 2, *S) encoded [o_{t-1}, o_t]
    executed: torch.Tensor  # (1, 5) a_{t-1}
    goal: torch.Tensor  # (3, 64, 64) float in [0, 1]
    rgb_weight: float
    classifier_weight: float

    def predict(self, actions: torch.Tensor) -> torch.Tensor:
        """(N, H, 5) -> (N, H + 1, 3, 64, 64) predicted frames in [0, 1]."""
        n = actions.shape[0]
        wm, controller, decoder = self.model.world_model, self.model.controller, self.model.decoder
        context = self.context.expand(n, *self.context.shape[1:])  # (N, 2, *S)
        first = rollout_actions(wm, controller, context[:, :1], self.executed.expand(n, 1, -1))  # (N, 1, *S)
        rest = rollout_actions(wm, controller, context, actions)  # (N, H, *S)
        frames = decoder.decode(torch.cat([first, rest], dim=1))  # (N, H + 1, 3, 64, 64)
        if not isinstance(frames, torch.Tensor) or tuple(frames.shape) != (n, actions.shape[1] + 1, *self.goal.shape):
            shape = tuple(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
            raise ModelError(f"decoder.decode returned {shape}, expected frames of shape "
                             f"({n}, {actions.shape[1] + 1}, {', '.join(map(str, self.goal.shape))})")
        return frames.float()

    @torch.no_grad()
    def __call__(self, actions: torch.Tensor) -> torch.Tensor:  # (N, H, A) -> (N,)
        frames = self.predict(actions)  # (N, T, 3, 64, 64)
        reward = -self.rgb_weight * (frames - self.goal).pow(2).flatten(1).sum(1)  # (N,)
        if self.classifier is not None and self.classifier_weight:
            reward = reward + self.classifier_weight * self.classifier.logits(frames).sum(1)
        return -reward.double()


@dataclasses.dataclass
class SimulatorObjective:
    """The privileged check's cost: each candidate played in the simulator from the true state."""

    process: Any
    goal_state: np.ndarray  # (76,)

    def __call__(self, actions: torch.Tensor) -> torch.Tensor:
        costs = self.process.call("rollout_costs", actions=actions.double().numpy(), goal=self.goal_state)["costs"]
        return torch.as_tensor(costs, dtype=torch.float64)


class VP2RoboDeskSuite(Suite):
    action_dim = ACTION_DIM
    domain = "robodesk"  # a model adapted to RoboDesk (cola_world -> cola_world_robodesk) is chosen for it

    def __init__(self, manifest, params=None):
        super().__init__(manifest, params)
        p = self.params
        unknown = [t for t in p["tasks"] if t not in TASKS]
        if unknown:
            raise ConfigError(f"suite.tasks: unknown RoboDesk task '{unknown[0]}'{did_you_mean(unknown[0], TASKS)}")
        if not 1 <= p["pairs_per_task"] <= 30 or not p["seeds"]:
            raise ConfigError("suite.pairs_per_task must be in 1..30 and suite.seeds must not be empty")
        if p["max_steps"] < 2 or p["context_frames"] != 2:
            raise ConfigError("suite.max_steps must be ≥ 2; suite.context_frames is VP²'s 2")
        if p["image_size"] != 64:
            raise ConfigError("suite.image_size must be 64: VP²'s classifier reads 64×64 frames (12288 inputs)")

    # -- where the simulator runs ----------------------------------------------------------------
    def simulator_in_child_process(self) -> bool:
        return True

    def check_ready(self) -> None:
        from lawm_eval.envs.environments import get_environment

        get_environment(ENVIRONMENT).require()
        self.pairs()

    def simulator_versions(self) -> dict[str, str]:
        from lawm_eval.envs.environments import get_environment

        return get_environment(ENVIRONMENT).versions_of(self.manifest.simulators)

    def process(self) -> Any:
        from lawm_eval.envs import robodesk_process

        process = getattr(self, "_live_process", None)
        if process is None or not process.alive:
            self._live_process = robodesk_process.start()
            self._live_task = None
        return self._live_process

    def open_task(self, task: str) -> Any:
        process = self.process()
        if getattr(self, "_live_task", None) != task:
            process.call("open", task=task, image_size=self.params["image_size"])
            self._live_task = task
        return process

    def close(self) -> None:
        process = getattr(self, "_live_process", None)
        if process is not None:
            process.close()
        self._live_process, self._live_task = None, None

    # -- data ------------------------------------------------------------------------------------
    def pairs_path(self) -> Path:
        path = Path(self.params["pairs_file"])
        return path if path.is_absolute() else Path(self.manifest.path).parent / path

    def pairs(self) -> dict[str, np.ndarray]:
        if getattr(self, "_live_pairs", None) is None:
            pairs = load_pairs(self.pairs_path())
            have = [str(t) for t in pairs["tasks"]]
            missing = [t for t in self.params["tasks"] if t not in have]
            if missing:
                raise LawmEvalError(f"{self.pairs_path()} has no start/goal pairs for {', '.join(missing)}")
            if pairs["start_states"].shape[1] < self.params["pairs_per_task"]:
                raise LawmEvalError(f"{self.pairs_path()} has {pairs['start_states'].shape[1]} pairs per task, "
                                    f"suite.pairs_per_task asks for {self.params['pairs_per_task']}")
            self._live_pairs = {**pairs, "tasks": have}
        return self._live_pairs

    def pair(self, task: str, index: int) -> tuple[np.ndarray, np.ndarray]:
        pairs = self.pairs()
        row = pairs["tasks"].index(task)
        return pairs["start_states"][row, index], pairs["goal_states"][row, index]

    def episodes(self) -> list[EpisodeSpec]:
        p = self.params
        specs = []
        for task in p["tasks"]:
            for pair in range(p["pairs_per_task"]):
                for seed in p["seeds"]:
                    specs.append(self.spec(task, len(specs), int(seed) * 1000 + pair, group=task,
                                           task_index=TASKS.index(task), params={"pair": pair, "vp2_seed": int(seed)}))
        return specs

    # -- the model -------------------------------------------------------------------------------
    @staticmethod
    def privileged(model: ModelBundle) -> bool:
        from lawm_eval.models.baselines import PRIVILEGED_DYNAMICS

        return bool(model.info.get(PRIVILEGED_DYNAMICS))

    def check_model(self, model: ModelBundle) -> None:
        """A model needs the parts (the privileged reference none)."""
        if not self.privileged(model):
            model.require(self.manifest.requires, self.name)

    def check_inputs(self, model: ModelBundle) -> None:
        """The declared inputs (5-D actions, 2 frames), then each task's classifier for the model's cost."""
        if self.privileged(model):
            return
        super().check_inputs(model)
        if self.params["classifier_weight"] != 0:
            from lawm_eval.models.success_classifier import classifier_path, load_classifier

            for task in self.params["tasks"]:
                if not classifier_path(task).is_file():
                    load_classifier(task)  # raises the one-line error naming the build command

    def offered_inputs(self) -> dict[str, Any]:
        return {"observation": "image", "context_frames": self.params["context_frames"], "action_dim": ACTION_DIM}

    def evaluation_contract(self, model: ModelBundle) -> dict[str, Any]:
        size = self.params["image_size"]
        privileged = self.privileged(model)
        return {**super().evaluation_contract(model), "resolution": [size, size],
                "camera": "RoboDesk free camera: distance 1.8, azimuth 90, elevation -60, lookat [0, 0.535, 1.1]; "
                          "120 px, crop (16.75, 25, 105, 88.75), LANCZOS to 64",
                "goal": "the final frame of the pair's goal trajectory (rendered from its stored state)",
                "actions_to_model": "(N, 11, 5): the last executed action, then the 10 planned",
                "privileged_state": privileged,
                "dynamics": "the simulator itself (privileged check)" if privileged else "the model"}

    def planner_for(self, task: str, planner: Planner) -> Planner:
        """The run's planner, with VP²'s per-task sample count (800 for open_slide/open_drawer) where the run
        keeps the protocol's count (the manifest's 200; so an explicit ``planner.num_samples=200`` gets 800
        too). A CEM's elites scale with it (VP²'s elites_frac 0.05: 10 of 200, 40 of 800)."""
        count = self.params["task_num_samples"].get(task)
        cfg = getattr(planner, "cfg", None)
        protocol = {options.get("num_samples") for options in self.manifest.planners.values()} - {None}
        if count is None or getattr(cfg, "num_samples", None) not in protocol or cfg.num_samples == count:
            return planner
        options = {**dataclasses.asdict(cfg), "num_samples": int(count)}
        if "num_elites" in options:
            options["num_elites"] = max(1, round(cfg.num_elites * count / cfg.num_samples))
        return type(planner)(planner.action_dim, **options)

    def encode(self, model: ModelBundle, frames: list[np.ndarray]) -> torch.Tensor:
        video = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)[None].contiguous()  # (1, T, 3, 64, 64) uint8
        states = model.encoder.encode(video)
        shape = tuple(states.shape[2:]) if isinstance(states, torch.Tensor) else ()
        check_states(states, (1, len(frames)), shape, "encoder.encode")
        return states

    @torch.no_grad()
    def probe_model(self, model: ModelBundle, spec: EpisodeSpec) -> None:
        """Score two candidate plans on blank 64×64 frames, so that wrong shapes fail before the first episode."""
        if self.privileged(model):
            return
        size = self.params["image_size"]
        blank = [np.zeros((size, size, 3), dtype=np.uint8)] * 2
        objective = VP2Objective(model, self.classifier(spec.task), self.encode(model, blank), torch.zeros(1, ACTION_DIM),
                                 torch.zeros(3, size, size), self.params["rgb_weight"], self.params["classifier_weight"])
        objective(torch.zeros(2, 10, ACTION_DIM))

    def classifier(self, task: str) -> Any:
        if self.params["classifier_weight"] == 0:
            return None
        cache = getattr(self, "_live_classifiers", None) or {}
        if task not in cache:
            from lawm_eval.models.success_classifier import load_classifier

            cache[task] = load_classifier(task)
            self._live_classifiers = cache
        return cache[task]

    # -- one episode -----------------------------------------------------------------------------
    @torch.no_grad()
    def run_episode(self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *,
                    frames: bool = False) -> EpisodeOutcome:
        if planner is None:
            raise ConfigError(f"suite '{self.name}' needs a planner (planner=mppi)")
        p, task = self.params, spec.task
        process = self.open_task(task)
        planner = self.planner_for(task, planner)
        start_state, goal_state = self.pair(task, spec.params["pair"])
        process.call("reset_to", state=goal_state)
        goal_image = process.call("render")  # (64, 64, 3) uint8
        goal = torch.from_numpy(goal_image).permute(2, 0, 1).float() / 255.0  # (3, 64, 64)
        process.call("reset_to", state=start_state)
        simulated = self.privileged(model)
        render = not simulated or frames

        zero = np.zeros(ACTION_DIM)
        out = process.call("step", action=zero.tolist(), render=render)  # run_control.py:33-35
        observations, states = [out["image"]], [out["state"]]
        executed = [zero]  # t = 0: the zero action, unplanned (agent.py:42-45)
        out = process.call("step", action=zero.tolist(), render=render)
        observations.append(out["image"])
        states.append(out["state"])
        generator = torch.Generator().manual_seed(spec.seed)
        rest: torch.Tensor | None = None
        costs = []
        for _t in range(1, p["max_steps"]):
            if simulated:
                objective: Any = SimulatorObjective(process, goal_state)
            else:
                objective = VP2Objective(model, self.classifier(task), self.encode(model, observations[-2:]),
                                         torch.as_tensor(executed[-1], dtype=torch.float32)[None], goal,
                                         p["rgb_weight"], p["classifier_weight"])
            result = planner.plan(objective, generator, init_mean=rest)
            costs.append(result.cost)
            action = result.actions[0].double().numpy().clip(-1.0, 1.0)
            out = process.call("step", action=action.tolist(), render=render)
            executed.append(action)
            observations.append(out["image"])
            states.append(out["state"])
            rest = result.actions[1:]
        hits = [success(task, s) for s in states]
        succeeded = any(hits)
        metrics: dict[str, float] = {}
        finite = [c for c in costs if np.isfinite(c)]
        if finite:
            metrics["plan_cost"] = float(np.mean(finite))
        info = {"pair": spec.params["pair"], "vp2_seed": spec.params["vp2_seed"], "states_scored": len(states),
                "success_at": [int(i) for i, h in enumerate(hits) if h],
                "num_samples": getattr(getattr(planner, "cfg", None), "num_samples", None)}
        video = None
        if frames:
            video = np.stack([np.concatenate([o, goal_image], axis=1) for o in observations])  # (T, 64, 128, 3)
        return EpisodeOutcome(success=succeeded, metrics=metrics, steps=len(executed), info=info, frames=video)
