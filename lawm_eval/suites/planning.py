"""Offline goal-reaching planning on recorded data.

``droid_planning`` (jepa-wms / V-JEPA 2-AC on DROID): from a clip of H+1 frames at 4 fps, observe
the first frame only and plan H end-effector delta actions with CEM so that the world model, fed
through the controller, ends at the encoding of the clip's last frame (v2 cost: jepa-wms' "L2", the
mean squared difference of the last step); score the plan against the expert actions with
Δxyz = Σ_xyz |Σ_t a_plan − Σ_t a_gt| (and orientation, gripper). v2 derives the expert actions from
the recorded states as jepa-wms does (``lawm_eval/data/droid.py``), reads a recording at another
rate every ceil(fps_dataset / 4)-th frame, and draws its clips as jepa-wms does: a video uniformly,
then an offset, with replacement, from a generator seeded with ``suite.seed``.

``recon_planning`` (NWM on RECON): the goal is the frame 8 steps (2 s) ahead; CEM samples one
(dx, dy, terminal yaw) in normalised units and repeats the (dx, dy) step over the 8 steps
(straight-line assumption); the cost compares the last predicted state (or decoded frame, LPIPS)
with the goal; the plan's positions are scored against the recorded path with ATE and RPE, in
metres and (v2) in NWM's waypoint units of 0.25 m (``ate_waypoints``, ``rpe_waypoints``).

Both also score, on every episode, the reference plans of ``suite.references`` (default all three)
and record them as ``<metric>@<reference>`` (``delta_xyz@zero``, ``ate@privileged``):
- ``zero``: no motion (all-zero delta actions; for RECON the straight line whose step is 0 m);
- ``random``: one sequence drawn as ``planner=random`` draws it (the manifest's ``random`` options,
  the run's planner's horizon and action box), never querying a model;
- ``privileged``: the run's own planner on the true dynamics of the recorded states (the oracles of
  ``models/baselines.py``), whatever observation the model reads. It is a reference row: the model
  itself never receives the recorded states unless ``suite.observation=state``.
Each draws from its own generator seeded with the episode seed, as the model's planner does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.data.droid import (
    GRIPPER,
    GRIPPER_UNITS,
    STATE_DIM,
    frame_step,
    gripper_delta_scale,
    poses_to_deltas,
    states_in_closure,
)
from lawm_eval.errors import ConfigError, LawmEvalError, ModelError
from lawm_eval.interfaces import Planner
from lawm_eval.metrics.specs import REFERENCE_SEP
from lawm_eval.metrics.trajectory import ate, delta_action, rpe
from lawm_eval.models.baselines import oracle_droid, oracle_nav
from lawm_eval.planners.objectives import LatentGoalObjective
from lawm_eval.planners.random_shooting import RandomPlanner
from lawm_eval.rollouts import check_states, rollout_actions
from lawm_eval.suites.base import EpisodeOutcome
from lawm_eval.suites.offline import OfflineSuite, choose
from lawm_eval.types import EpisodeSpec

Tensor = torch.Tensor
REFERENCES = ("zero", "random", "privileged")
WAYPOINT_SPACING_M = 0.25  # NWM config/data_config.yaml recon.metric_waypoint_spacing: metres per waypoint unit
DROID_COSTS = ("l2", "l1", "norm")  # jepa-wms objective_type L2 / L1 (means over the state), v1's Euclidean norm
ACTION_SOURCES = ("from_state", "recorded")
GRIPPER_SOURCES = ("dataset", *GRIPPER_UNITS)  # suite.gripper_units: "dataset" takes the generated recipe's own
SAMPLINGS = ("video_offset", "windows")


def with_reference(metrics: dict[str, float], reference: str) -> dict[str, float]:
    """{'delta_xyz': v} -> {'delta_xyz@zero': v}."""
    return {f"{key}{REFERENCE_SEP}{reference}": value for key, value in metrics.items()}


def to_waypoints(metres: float) -> float:
    """A distance in metres in NWM's RECON waypoint units (0.25 m): NWM divides both the true and the
    planned positions by ``metric_waypoint_spacing`` before evo computes ATE/RPE (datasets.py)."""
    return metres / WAYPOINT_SPACING_M


@dataclass
class MeanSquaredGoalObjective(LatentGoalObjective):
    """jepa-wms' "L2" objective: mean over every state element of (s_goal − ŝ_{t+H})², last step only
    (``ReprTargetDistMPCObjective`` with ``sum_all_diffs: false``; proprio weight α = 0)."""

    def __call__(self, actions: Tensor) -> Tensor:  # (N, H, A) -> (N,)
        n = actions.shape[0]
        context = self.context.expand(n, *self.context.shape[1:])  # (N, Tc, *S)
        states = rollout_actions(self.world_model, self.controller, context, actions)  # (N, H, *S)
        return (states[:, -1] - self.goal).flatten(1).pow(2).mean(dim=1)


def goal_objective(world_model: Any, controller: Any, context: Tensor, goal: Tensor, cost: str) -> LatentGoalObjective:
    """The DROID planning cost: 'l2' (jepa-wms L2, mean squared), 'l1' (jepa-wms L1, mean absolute) or
    'norm' (v1: the Euclidean norm ‖s_goal − ŝ_{t+H}‖₂; ranks candidates as 'l2' does)."""
    if cost == "l2":
        return MeanSquaredGoalObjective(world_model, controller, context, goal)
    return LatentGoalObjective(world_model, controller, context, goal, distance={"l1": "l1", "norm": "l2"}[cost])


class GoalPlanningSuite(OfflineSuite):
    """Common part: clips of ``context_frames + goal_offset`` frames (every ``frame_step``-th frame of
    the recording), observations as images or recorded states, the encoded context and goal."""

    goal_offset_key = "horizon"
    action_dim = 0

    def __init__(self, manifest, params=None):
        super().__init__(manifest, params)
        choose(self.params["observation"], ("image", "state"), "observation")
        if self.params["episodes"] < 1 or self.params["context_frames"] < 1:
            raise ConfigError("suite.episodes and suite.context_frames must be ≥ 1")
        references = list(self.params["references"])
        for name in references:
            choose(name, REFERENCES, "references")
        if len(set(references)) != len(references):
            raise ConfigError(f"suite.references lists a reference twice: {references}")

    def deviations(self) -> list[str]:
        """The offline suites' deviations (``OfflineSuite.deviations``, the data computed from the
        dataset). The references are scored beside the model and leave its numbers unchanged: not a
        deviation."""
        return [d for d in super().deviations() if not d.startswith("references=")]

    @property
    def references(self) -> list[str]:
        return list(self.params["references"])

    @property
    def clip_length(self) -> int:
        return int(self.params["context_frames"]) + self.goal_offset

    def frame_step(self) -> int:
        """Recorded frames between two protocol frames (1: the recording's own rate)."""
        return 1

    def clip_indices(self, spec: EpisodeSpec) -> np.ndarray:
        """(clip_length,) recording indices of the episode's clip frames."""
        step = int(spec.params.get("step", 1))
        return spec.params["start"] + step * np.arange(self.clip_length)

    def offered_inputs(self) -> dict[str, Any]:
        offered: dict[str, Any] = {"observation": self.params["observation"],
                                   "context_frames": int(self.params["context_frames"]), "action_dim": self.action_dim}
        if self.params["observation"] == "state" and self.pending_generation() is None:  # validate writes nothing
            states = self.episode_data(0).states
            if states is not None:
                offered["state_dim"] = int(np.asarray(states).shape[-1])
        return offered

    def evaluation_contract(self, model: ModelBundle) -> dict[str, Any]:
        """The clip's first ``context_frames`` observed, its encoded last frame as the goal; no
        ground-truth actions; recorded states reach the model only with ``observation=state``."""
        contract = super().evaluation_contract(model)
        image = self.params["observation"] == "image"
        if image and self.pending_generation() is None:  # (validate generates no dataset)
            contract.update(self.image_contract(model))
        what = "frame" if image else "state"
        contract.update(
            context_frames=int(self.params["context_frames"]),
            goal=f"the recorded clip's last {what}, encoded ({self.goal_offset} steps after the last observed one)",
            ground_truth_actions=False,
            privileged_state=not image,
            future_frames="the goal only, encoded apart from the context" if image else "none (the goal state only)",
            references=("zero, random and privileged plans are scored beside the model as rows of their own; "
                        "the privileged plan reads the recorded states, the model does not"
                        if self.references else "none"),
        )
        return contract

    def random_reference(self, planner: Planner) -> RandomPlanner:
        """The ``random`` reference's sampler: the manifest's ``planner=random`` options with the run's
        planner's horizon and action box (where it has them)."""
        options = dict(self.manifest.planners.get("random", {}))
        cfg, box = getattr(planner, "cfg", None), getattr(planner, "box", None)
        if cfg is not None and hasattr(cfg, "horizon"):
            options["horizon"] = cfg.horizon
        if box is not None:
            options.update(action_low=box.low.tolist(), action_high=box.high.tolist())
        return RandomPlanner(self.action_dim, **options)

    def recorded_states(self, episode: Any, indices: np.ndarray, dims: int) -> Tensor | None:
        """(1,len(indices),dims) recorded states of the clip for the privileged plan, or None when the
        dataset has no such states."""
        states = self.recorded(episode)
        if states is None or states.shape[-1] < dims:
            return None
        return torch.as_tensor(states[indices, :dims], dtype=torch.float32)[None]

    def recorded(self, episode: Any) -> np.ndarray | None:
        """(T,S) the episode's recorded states in the protocol's units (here: as recorded), or None."""
        return None if episode.states is None else np.asarray(episode.states)

    @property
    def goal_offset(self) -> int:
        return int(self.params[self.goal_offset_key])

    def check_dataset(self) -> None:
        """Refuse, before the first episode, a dataset the parameters cannot use."""
        if self.params["observation"] == "state" and self.episode_data(0).states is None:
            raise ConfigError(f"suite.observation=state but dataset '{self.params['dataset']}' has no states")

    def episodes(self) -> list[EpisodeSpec]:
        self.check_dataset()
        return self.window_specs(self.params["episodes"], self.clip_length, task="plan")

    def observations(self, model: ModelBundle, episode: Any, indices: np.ndarray) -> Tensor:
        """(1,T,3,h,w) uint8 frames at the model's declared size or (1,T,D) recorded states."""
        if self.params["observation"] == "image":
            return self.model_frames(model, episode.frames[indices])
        states = self.recorded(episode)
        if states is None:
            raise ConfigError(f"suite.observation=state but dataset '{self.params['dataset']}' has no states")
        return torch.as_tensor(states[indices], dtype=torch.float32)[None]

    def encode(self, model: ModelBundle, observations: Tensor) -> Tensor:
        states = model.encoder.encode(observations)
        shape = tuple(states.shape[2:]) if isinstance(states, torch.Tensor) else ()
        check_states(states, tuple(observations.shape[:2]), shape, "encoder.encode")
        return states

    def context_and_goal(self, spec: EpisodeSpec, model: ModelBundle) -> tuple[Any, np.ndarray, Tensor, Tensor]:
        """The episode, its clip's recording indices, the encoded context (1,ctx,*S) and goal (1,*S)."""
        episode = self.episode_data(spec.params["episode"])
        indices, ctx = self.clip_indices(spec), self.params["context_frames"]
        observations = self.observations(model, episode, indices)  # (1, ctx + H, ...)
        if self.params["observation"] == "state":
            # privileged recorded states, read by the oracles, whose encoder unwraps angles along the clip
            states = self.encode(model, observations)
            return episode, indices, states[:, :ctx], states[:, -1]
        # images: context and goal encoded apart, so that an encoder that mixes frames in time never
        # sees the frames between them, nor the context the goal
        context = self.encode(model, observations[:, :ctx])  # (1, ctx, *S)
        goal = self.encode(model, observations[:, -1:])[:, 0]  # (1, *S)
        return episode, indices, context, goal

    @torch.no_grad()
    def probe_model(self, model: ModelBundle, spec: EpisodeSpec) -> None:
        """Encode the episode's clip and roll out two candidate action sequences of the suite's size."""
        _, _, context, _ = self.context_and_goal(spec, model)
        actions = torch.zeros(2, self.goal_offset, self.action_dim)  # (N, H, A)
        rollout_actions(model.world_model, model.controller, context.expand(2, *context.shape[1:]), actions)


class DroidPlanningSuite(GoalPlanningSuite):
    """v2 follows jepa-wms: 1 observed frame, clips drawn video-then-offset, expert actions from the
    recorded states, the L2 (mean squared) cost. v1's behaviour is what a manifest without the v2
    parameters (``fps``, ``actions``, ``sampling``, ``cost``) gets."""

    action_dim = 7

    def __init__(self, manifest, params=None):
        super().__init__(manifest, params)
        choose(self.cost, DROID_COSTS, "cost")
        choose(self.action_source, ACTION_SOURCES, "actions")
        choose(self.sampling, SAMPLINGS, "sampling")
        if "fps" in self.params and not self.params["fps"] > 0:
            raise ConfigError(f"suite.fps must be > 0, got {self.params['fps']}")
        if "gripper_units" in self.params:
            choose(self.params["gripper_units"], GRIPPER_SOURCES, "gripper_units")

    @property
    def cost(self) -> str:
        return self.params.get("cost", "norm")

    @property
    def action_source(self) -> str:
        return self.params.get("actions", "recorded")

    @property
    def gripper_units(self) -> str | None:
        """The units of the dataset's gripper (state and recorded actions), which v3 converts to DROID's
        closure, the units of the planner's box; None (v1, v2): read as recorded, nothing converted.
        ``dataset``: the generated recipe's declared units, DROID's closure for any other dataset."""
        if "gripper_units" not in self.params:
            return None
        units = self.params["gripper_units"]
        if units != "dataset":
            return units
        from lawm_eval.data.recipes import RECIPES

        dataset = self.params["dataset"]
        return RECIPES[dataset].get("gripper_units", "closure") if dataset in RECIPES else "closure"

    @staticmethod
    def model_gripper_units(model: ModelBundle) -> str:
        """The units of the gripper change the model's controller was trained on (``inputs.gripper``;
        DROID's closure when it declares none)."""
        return model.inputs.gripper or "closure"

    def recorded(self, episode: Any) -> np.ndarray | None:
        """(T,S) recorded states, the gripper in DROID's closure where the suite converts units."""
        states = super().recorded(episode)
        if states is None or self.gripper_units is None or states.shape[-1] != STATE_DIM:  # only DROID's layout
            return states
        return states_in_closure(states, self.gripper_units)

    def controller(self, model: ModelBundle) -> Any:
        """The model's controller, fed the planner's actions in the units it was trained on."""
        if self.gripper_units is None:
            return model.controller
        scale = gripper_delta_scale("closure", self.model_gripper_units(model))
        return model.controller if scale == 1.0 else GripperUnitsController(model.controller, scale)

    def check_inputs(self, model: ModelBundle) -> None:
        super().check_inputs(model)
        declared = model.inputs.gripper
        if self.gripper_units is not None and declared is not None and declared not in GRIPPER_UNITS:
            raise ModelError(f"model '{model.model_id}' declares inputs.gripper={declared!r}; suite '{self.name}' "
                             f"knows the gripper units {', '.join(GRIPPER_UNITS)}")

    @property
    def sampling(self) -> str:
        return self.params.get("sampling", "windows")

    def frame_step(self) -> int:
        """ceil(dataset fps / suite.fps) as jepa-wms (``fstp``); 1 without ``suite.fps`` (v1)."""
        if "fps" not in self.params:
            return 1
        return frame_step(float(getattr(self.dataset(), "fps", 0) or 0), float(self.params["fps"]))

    def check_dataset(self) -> None:
        super().check_dataset()
        states, step = self.episode_data(0).states, self.frame_step()
        # exactly 7: an 8-D joints + gripper state must not be read as [xyz, euler, gripper]
        if self.action_source == "from_state" and (states is None or np.asarray(states).shape[-1] != STATE_DIM):
            have = "no states" if states is None else f"{np.asarray(states).shape[-1]}-D states"
            raise ConfigError(f"suite.actions=from_state needs exactly 7-D [xyz, euler xyz, gripper] states; dataset "
                              f"'{self.params['dataset']}' has {have} (use suite.actions=recorded)")
        if self.action_source == "recorded" and step > 1:
            raise ConfigError(f"suite.actions=recorded needs the dataset at suite.fps={self.params['fps']}, but it is "
                              f"read every {step}th frame (use suite.actions=from_state)")

    def episodes(self) -> list[EpisodeSpec]:
        self.check_dataset()
        if self.sampling == "video_offset":
            return self.video_offset_specs(self.params["episodes"])
        step = self.frame_step()  # v1's windows, each covering (clip_length - 1) * step + 1 recorded frames
        specs = self.window_specs(self.params["episodes"], (self.clip_length - 1) * step + 1, task="plan")
        return specs if step == 1 else [replace(s, params={**s.params, "step": step}) for s in specs]

    def video_offset_specs(self, count: int) -> list[EpisodeSpec]:
        """jepa-wms' clip draw (plan_evaluator.py ``sample_traj_segment_from_dset``): for each episode a
        video uniformly, then a start offset uniformly among those where the clip fits, with
        replacement, from one torch generator seeded with ``suite.seed``."""
        step, seed = self.frame_step(), int(self.params["seed"])
        span = (self.clip_length - 1) * step + 1  # recorded frames one clip covers
        lengths = self.dataset().lengths()
        videos = [e for e, n in enumerate(lengths) if n >= span]
        if not videos:
            raise LawmEvalError(f"suite '{self.name}': no video of the dataset has the {span} frames a clip needs")
        generator = torch.Generator().manual_seed(seed)
        specs = []
        for i in range(count):
            video = videos[int(torch.randint(0, len(videos), (1,), generator=generator))]
            start = int(torch.randint(0, lengths[video] - span + 1, (1,), generator=generator))
            specs.append(self.spec("plan", i, seed * 100_000 + i, group=self.name,
                                   params={"episode": int(video), "start": start, "step": step}))
        return specs

    def expert_actions(self, episode: Any, indices: np.ndarray) -> np.ndarray:
        """(H,7) expert actions from the last observed frame to the goal: derived from the recorded
        states (jepa-wms ``poses_to_diffs``) or the recorded action rows."""
        ctx, horizon = self.params["context_frames"], self.goal_offset
        if self.action_source == "from_state":
            return poses_to_deltas(self.recorded(episode)[indices[ctx - 1 :], :STATE_DIM])
        now = int(indices[ctx - 1])
        actions = np.array(episode.actions[now : now + horizon], dtype=np.float64)  # (H, 7)
        if self.gripper_units is not None:
            actions[:, GRIPPER] *= gripper_delta_scale(self.gripper_units, "closure")
        return actions

    def evaluation_contract(self, model: ModelBundle) -> dict[str, Any]:
        contract = super().evaluation_contract(model)
        contract.update(
            fps=self.params.get("fps"), frame_step=self.frame_step() if self.pending_generation() is None else None,
            expert_actions=("derived from the recorded states (xyz difference, relative rotation as Euler xyz, "
                            "gripper difference); used only to score the plan" if self.action_source == "from_state"
                            else "the recorded action rows; used only to score the plan"),
            cost={"l2": "mean squared difference of the last predicted state and the goal (jepa-wms L2)",
                  "l1": "mean absolute difference of the last predicted state and the goal (jepa-wms L1)",
                  "norm": "Euclidean norm of the last predicted state minus the goal (v1)"}[self.cost],
        )
        if self.gripper_units is not None:
            contract["gripper"] = (f"the dataset's gripper read as {self.gripper_units}; planned and expert actions in "
                                   f"DROID's closure (0 open … 1 closed); the model's controller receives the gripper "
                                   f"change in {self.model_gripper_units(model)}")
        return contract

    @torch.no_grad()
    def run_episode(self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *,
                    frames: bool = False) -> EpisodeOutcome:
        episode, indices, context, goal = self.context_and_goal(spec, model)
        horizon = self.goal_offset
        expert = self.expert_actions(episode, indices)
        objective = goal_objective(model.world_model, self.controller(model), context, goal, self.cost)
        generator = torch.Generator().manual_seed(spec.seed)
        plan = planner.plan(objective, generator)
        planned = plan.actions[:horizon].double().numpy()
        metrics = {**self.delta_metrics(planned, expert), "plan_cost": plan.cost,
                   **self.cost_diagnosis(objective, planned, expert)}
        info = {"episode": spec.params["episode"], "start": spec.params["start"], "frames": indices.tolist(),
                "planned_actions": planned.tolist(), "expert_actions": expert.tolist()}
        references = self.reference_plans(spec, episode, indices, planner)
        for name, actions in references.items():
            metrics.update(with_reference(self.delta_metrics(actions, expert), name))
        if references:
            info["reference_actions"] = {name: actions.tolist() for name, actions in references.items()}
        return EpisodeOutcome(success=None, metrics=metrics, steps=horizon, info=info)

    @staticmethod
    def cost_diagnosis(objective: Any, planned: np.ndarray, expert: np.ndarray) -> dict[str, float]:
        """The model's own cost of the expert actions and of the zero plan, beside its plan's: a plan
        scored below the expert's actions (``plan_below_expert`` = 1) is the model's error, not the
        search's; the expert scored above the zero plan (``expert_below_zero`` = 0) means the model
        cannot tell the true motion from none. A lawm-eval addition, not in jepa-wms."""
        candidates = torch.as_tensor(np.stack([planned, expert, np.zeros_like(expert)]), dtype=torch.float32)
        plan_cost, expert_cost, zero_cost = (float(c) for c in objective(candidates))  # (3, H, A) -> (3,)
        return {"expert_plan_cost": expert_cost, "zero_plan_cost": zero_cost,
                "plan_below_expert": float(plan_cost < expert_cost),
                "expert_below_zero": float(expert_cost < zero_cost)}

    @staticmethod
    def delta_metrics(planned: np.ndarray, expert: np.ndarray) -> dict[str, float]:
        errors = delta_action(planned, expert)
        return {"delta_xyz": errors["xyz"], "delta_orientation": errors["orientation"],
                "delta_gripper": errors["gripper"], "delta_total": errors["total"]}

    def reference_plans(self, spec: EpisodeSpec, episode: Any, indices: np.ndarray,
                        planner: Planner) -> dict[str, np.ndarray]:
        """(H,7) actions of each reference of ``suite.references`` (privileged: only with recorded
        7-dim Franka states)."""
        horizon, plans = self.goal_offset, {}
        for name in self.references:
            generator = torch.Generator().manual_seed(spec.seed)
            if name == "zero":
                plans[name] = np.zeros((horizon, self.action_dim))
            elif name == "random":
                plans[name] = self.random_reference(planner).plan(None, generator).actions[:horizon].double().numpy()
            else:
                ctx = self.params["context_frames"]
                recorded = self.recorded_states(episode, indices, self.action_dim)
                if recorded is None:
                    continue
                oracle = oracle_droid()
                states = oracle.encoder.encode(recorded)
                objective = goal_objective(oracle.world_model, oracle.controller, states[:, :ctx], states[:, -1],
                                           self.cost)
                plans[name] = planner.plan(objective, generator).actions[:horizon].double().numpy()
        return plans


class GripperUnitsController:
    """A controller fed actions whose gripper change is converted from the planner's units (DROID's
    closure) to those the model was trained on: a change times ``scale``."""

    def __init__(self, controller: Any, scale: float):
        self.controller, self.scale = controller, scale
        self.needs_states = getattr(controller, "needs_states", False)

    def to_latent(self, actions: Tensor, states: Tensor | None) -> Tensor:  # (B, H, A) -> (B, H, L)
        converted = actions.clone()
        converted[..., GRIPPER] = converted[..., GRIPPER] * self.scale
        return self.controller.to_latent(converted, states)


def straight_line_actions(samples: Tensor, low: Tensor, high: Tensor, steps: int) -> tuple[Tensor, Tensor]:
    """NWM's straight-line plans. samples (N,3) normalised (dx, dy, terminal yaw/π) →
    per-step actions in each step's own frame (N,steps,3) and start-frame positions (N,steps,2).

    The (dx, dy) step, unnormalised from [−1, 1] to [low, high], repeats in the start frame; the
    heading turns to the motion direction on the first step (NWM's calculate_delta_yaw) and the
    last step adds the terminal yaw."""
    step_xy = (samples[:, :2] + 1) / 2 * (high - low) + low  # (N,2) metres per step, start frame
    positions = step_xy[:, None, :] * torch.arange(1, steps + 1, dtype=samples.dtype)[None, :, None]
    heading = torch.atan2(step_xy[:, 1], step_xy[:, 0])  # (N,)
    length = step_xy.norm(dim=1)
    actions = torch.zeros(len(samples), steps, 3, dtype=samples.dtype)
    actions[:, 0, 0], actions[:, 0, 1], actions[:, 0, 2] = step_xy[:, 0], step_xy[:, 1], heading
    actions[:, 1:, 0] = length[:, None]  # after facing the motion direction the step is straight ahead
    actions[:, -1, 2] += samples[:, 2] * math.pi
    return actions, positions


def to_start_frame(position: np.ndarray, yaw: float) -> np.ndarray:
    """(T,2) world positions relative to position[0], rotated into the frame of yaw."""
    c, s = math.cos(yaw), math.sin(yaw)
    d = position - position[0]
    return np.stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]], axis=1)


class StraightLineObjective:
    """Cost of N straight-line samples (N,1,3): final predicted state vs goal (latent L2 or LPIPS
    of the decoded frame), averaged over ``repeats`` evaluations of each sample."""

    def __init__(self, model: ModelBundle, context: Tensor, goal: Tensor, low: Tensor, high: Tensor, steps: int,
                 cost: str, repeats: int, goal_image: Tensor | None = None):
        self.model, self.context, self.goal, self.low, self.high = model, context, goal, low, high
        self.steps, self.cost, self.repeats, self.goal_image = steps, cost, repeats, goal_image

    def __call__(self, samples: Tensor) -> Tensor:  # (N,1,3) -> (N,)
        n = samples.shape[0]
        actions, _ = straight_line_actions(samples[:, 0].double(), self.low, self.high, self.steps)
        actions = actions.float().repeat(self.repeats, 1, 1)  # (R*N, steps, 3)
        context = self.context.expand(len(actions), *self.context.shape[1:])
        states = rollout_actions(self.model.world_model, self.model.controller, context, actions)
        final = states[:, -1]
        if self.cost == "lpips":
            from lawm_eval.metrics.image import lpips

            frames = self.model.decoder.decode(final[:, None])[:, 0].float().clamp(0, 1)
            costs = lpips(frames, self.goal_image.expand_as(frames)).float()
        else:
            costs = (final - self.goal).flatten(1).norm(dim=1)
        return costs.view(self.repeats, n).mean(0)


class ReconPlanningSuite(GoalPlanningSuite):
    action_dim = 3  # the planner searches (dx, dy, terminal yaw) once; the objective repeats it
    goal_offset_key = "goal_steps"

    def __init__(self, manifest, params=None):
        super().__init__(manifest, params)
        choose(self.params["cost"], ("latent_l2", "lpips"), "cost")
        choose(self.action_units, ("waypoints", "m"), "action_units")

    @property
    def action_units(self) -> str:
        """Unit of ``action_low/high``: v2 'waypoints' (NWM's 0.25 m units), v1 metres."""
        return self.params.get("action_units", "m")

    @property
    def waypoint_metrics(self) -> bool:
        """v2 also reports ATE/RPE in waypoint units (its manifest declares them)."""
        return "ate_waypoints" in self.manifest.metrics

    def bounds(self) -> tuple[Tensor, Tensor]:
        """(2,) low and high of the (dx, dy) step in metres per step."""
        scale = WAYPOINT_SPACING_M if self.action_units == "waypoints" else 1.0
        low = torch.tensor(self.params["action_low"], dtype=torch.float64) * scale
        high = torch.tensor(self.params["action_high"], dtype=torch.float64) * scale
        return low, high

    def check_model(self, model: ModelBundle) -> None:
        model.require(["encoder", "world_model", "controller"] + (["decoder"] if self.params["cost"] == "lpips"
                                                                  else []), self.name)

    def evaluation_contract(self, model: ModelBundle) -> dict[str, Any]:
        contract = super().evaluation_contract(model)
        contract["cost"] = ("LPIPS (AlexNet) of the decoded last predicted frame and the goal frame, both at the "
                            "model's resolution" if self.params["cost"] == "lpips"
                            else "L2 of the last predicted state and the goal's encoding")
        return contract

    @torch.no_grad()
    def run_episode(self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *,
                    frames: bool = False) -> EpisodeOutcome:
        p = self.params
        episode, indices, context, goal = self.context_and_goal(spec, model)
        now, steps = int(indices[p["context_frames"] - 1]), self.goal_offset
        low, high = self.bounds()
        goal_image = None
        if p["cost"] == "lpips":  # the goal frame adapted as the model's frames are, in [0, 1]
            goal_image = self.model_frames(model, episode.frames[now + steps : now + steps + 1])[0].float() / 255
        objective = StraightLineObjective(model, context, goal, low, high, steps, p["cost"], p["repeats"], goal_image)
        generator = torch.Generator().manual_seed(spec.seed)
        plan = planner.plan(objective, generator, init_mean=torch.tensor([p["init_mean"]], dtype=torch.float32))
        world = np.asarray(episode.states[now : now + steps + 1, :2], dtype=np.float64)
        truth = to_start_frame(world, float(episode.states[now, 2]))[1:]
        predicted, metrics = self.score(plan.actions[:1], truth, low, high)
        metrics["plan_cost"] = plan.cost
        info = {"episode": spec.params["episode"], "start": spec.params["start"],
                "plan": plan.actions[0].tolist(), "planned_positions": predicted.tolist(),
                "true_positions": truth.tolist()}
        references = self.reference_plans(spec, episode, indices, planner, low, high)
        for name, sample in references.items():
            metrics.update(with_reference(self.score(sample, truth, low, high)[1], name))
        if references:
            info["reference_plans"] = {name: sample[0].tolist() for name, sample in references.items()}
        return EpisodeOutcome(success=None, metrics=metrics, steps=steps, info=info)

    def score(self, sample: Tensor, truth: np.ndarray, low: Tensor, high: Tensor) -> tuple[np.ndarray, dict]:
        """A (1,3) normalised straight-line sample's (steps,2) positions in the start frame, and their
        ATE, RPE and final position error (metres; v2 also ATE/RPE in waypoint units) against the
        recorded ``truth`` (steps,2)."""
        _, positions = straight_line_actions(sample.double(), low, high, self.goal_offset)
        predicted = positions[0].numpy()
        metrics = {"ate": ate(predicted, truth), "rpe": rpe(predicted, truth),
                   "final_position_error": float(np.linalg.norm(predicted[-1] - truth[-1]))}
        if self.waypoint_metrics:
            metrics.update(ate_waypoints=to_waypoints(metrics["ate"]), rpe_waypoints=to_waypoints(metrics["rpe"]))
        return predicted, metrics

    def reference_plans(self, spec: EpisodeSpec, episode: Any, indices: np.ndarray, planner: Planner, low: Tensor,
                        high: Tensor) -> dict[str, Tensor]:
        """(1,3) normalised straight-line sample of each reference of ``suite.references``."""
        p, steps, plans = self.params, self.goal_offset, {}
        init_mean = torch.tensor([p["init_mean"]], dtype=torch.float32)
        for name in self.references:
            generator = torch.Generator().manual_seed(spec.seed)
            if name == "zero":  # the normalised (dx, dy) that unnormalises to a 0 m step, no terminal yaw
                still = (2 * (0 - low) / (high - low) - 1).tolist()
                plans[name] = torch.tensor([[*still, 0.0]], dtype=torch.float64)
            elif name == "random":
                plans[name] = self.random_reference(planner).plan(None, generator, init_mean=init_mean).actions[:1]
            else:  # the run's planner on the unicycle dynamics of the recorded poses, latent L2, one evaluation
                ctx = p["context_frames"]
                recorded = self.recorded_states(episode, indices, 3)
                if recorded is None:
                    continue
                oracle = oracle_nav()
                states = oracle.encoder.encode(recorded)
                objective = StraightLineObjective(oracle, states[:, :ctx], states[:, -1], low, high, steps,
                                                  "latent_l2", 1)
                plans[name] = planner.plan(objective, generator, init_mean=init_mean).actions[:1]
        return plans
