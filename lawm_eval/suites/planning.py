"""Offline goal-reaching planning on recorded data.

``droid_planning`` (jepa-wms / V-JEPA 2-AC on DROID): from a clip of H+1 frames at 4 fps, plan H
end-effector delta actions with CEM so that the world model, fed through the controller, ends at
the encoding of the clip's last frame (cost ‖s_g − ŝ_{t+H}‖₂); score the plan against the
recorded actions with Δxyz = Σ_xyz |Σ_t a_plan − Σ_t a_gt| (and orientation, gripper).

``recon_planning`` (NWM on RECON): the goal is the frame 8 steps (2 s) ahead; CEM samples one
(dx, dy, terminal yaw) in normalised units and repeats the (dx, dy) step over the 8 steps
(straight-line assumption); the cost compares the last predicted state (or decoded frame, LPIPS)
with the goal; the plan's positions are scored against the recorded path with ATE and RPE.

Both also score, on every episode, the reference plans of ``suite.references`` (default all three)
and record them as ``<metric>@<reference>`` (``delta_xyz@zero``, ``ate@privileged``):
- ``zero``: no motion (all-zero delta actions; for RECON the straight line whose step is 0 m);
- ``random``: one sequence drawn as ``planner=random`` draws it (the manifest's ``random`` options,
  the run's planner's horizon and action box), never querying a model;
- ``privileged``: the run's own planner on the true dynamics of the recorded states (the oracles of
  ``models/baselines.py``), whatever observation the model reads.
Each draws from its own generator seeded with the episode seed, as the model's planner does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ConfigError
from lawm_eval.interfaces import Planner
from lawm_eval.metrics.specs import REFERENCE_SEP
from lawm_eval.metrics.trajectory import ate, delta_action, rpe
from lawm_eval.models.baselines import oracle_droid, oracle_nav
from lawm_eval.planners.objectives import LatentGoalObjective, check_states, rollout_actions
from lawm_eval.planners.random_shooting import RandomPlanner
from lawm_eval.suites.base import EpisodeOutcome
from lawm_eval.suites.offline import OfflineSuite, choose, frames_tensor
from lawm_eval.types import EpisodeSpec

Tensor = torch.Tensor
REFERENCES = ("zero", "random", "privileged")


def with_reference(metrics: dict[str, float], reference: str) -> dict[str, float]:
    """{'delta_xyz': v} -> {'delta_xyz@zero': v}."""
    return {f"{key}{REFERENCE_SEP}{reference}": value for key, value in metrics.items()}


class GoalPlanningSuite(OfflineSuite):
    """Common part: clips of ``context_frames + goal_offset`` frames, observations as images or
    recorded states, the encoded context and goal."""

    goal_offset_key = "horizon"

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
        # the references are scored beside the model and leave its numbers unchanged: not a deviation
        return [d for d in super().deviations() if not d.startswith("references=")]

    @property
    def references(self) -> list[str]:
        return list(self.params["references"])

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

    def recorded_states(self, episode: Any, first: int, count: int, dims: int) -> Tensor | None:
        """(1,count,dims) recorded states of the clip for the privileged plan, or None when the
        dataset has no such states."""
        if episode.states is None or np.asarray(episode.states).shape[-1] < dims:
            return None
        return torch.as_tensor(np.asarray(episode.states)[first : first + count, :dims], dtype=torch.float32)[None]

    @property
    def goal_offset(self) -> int:
        return int(self.params[self.goal_offset_key])

    def episodes(self) -> list[EpisodeSpec]:
        p = self.params
        return self.window_specs(p["episodes"], p["context_frames"] + self.goal_offset, task="plan")

    def observations(self, episode: Any, first: int, count: int) -> Tensor:
        """(1,count,3,H,W) uint8 frames or (1,count,D) recorded states."""
        if self.params["observation"] == "image":
            return frames_tensor(episode.frames[first : first + count])
        if episode.states is None:
            raise ConfigError(f"suite.observation=state but dataset '{self.params['dataset']}' has no states")
        return torch.as_tensor(episode.states[first : first + count], dtype=torch.float32)[None]

    def encode(self, model: ModelBundle, observations: Tensor) -> Tensor:
        states = model.encoder.encode(observations)
        shape = tuple(states.shape[2:]) if isinstance(states, torch.Tensor) else ()
        check_states(states, tuple(observations.shape[:2]), shape, "encoder.encode")
        return states

    def context_and_goal(self, spec: EpisodeSpec, model: ModelBundle) -> tuple[Any, int, Tensor, Tensor]:
        episode = self.episode_data(spec.params["episode"])
        first, ctx = spec.params["start"], self.params["context_frames"]
        states = self.encode(model, self.observations(episode, first, ctx + self.goal_offset))
        now = first + ctx - 1  # the last observed frame
        return episode, now, states[:, :ctx], states[:, -1]

    @torch.no_grad()
    def probe_model(self, model: ModelBundle, spec: EpisodeSpec) -> None:
        """Encode the episode's clip and roll out two candidate action sequences of the suite's size."""
        _, _, context, _ = self.context_and_goal(spec, model)
        actions = torch.zeros(2, self.goal_offset, self.action_dim)  # (N, H, A)
        rollout_actions(model.world_model, model.controller, context.expand(2, *context.shape[1:]), actions)


class DroidPlanningSuite(GoalPlanningSuite):
    action_dim = 7

    @torch.no_grad()
    def run_episode(self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *,
                    frames: bool = False) -> EpisodeOutcome:
        episode, now, context, goal = self.context_and_goal(spec, model)
        horizon = self.goal_offset
        expert = np.asarray(episode.actions[now : now + horizon], dtype=np.float64)
        objective = LatentGoalObjective(model.world_model, model.controller, context, goal, distance="l2")
        generator = torch.Generator().manual_seed(spec.seed)
        plan = planner.plan(objective, generator)
        planned = plan.actions[:horizon].double().numpy()
        errors = delta_action(planned, expert)
        metrics = {"delta_xyz": errors["xyz"], "delta_orientation": errors["orientation"],
                   "delta_gripper": errors["gripper"], "delta_total": errors["total"], "plan_cost": plan.cost}
        info = {"episode": spec.params["episode"], "start": spec.params["start"], "planned_actions": planned.tolist(),
                "expert_actions": expert.tolist()}
        references = self.reference_plans(spec, episode, planner)
        for name, actions in references.items():
            errors = delta_action(actions, expert)
            metrics.update(with_reference({"delta_xyz": errors["xyz"], "delta_orientation": errors["orientation"],
                                           "delta_gripper": errors["gripper"], "delta_total": errors["total"]}, name))
        if references:
            info["reference_actions"] = {name: actions.tolist() for name, actions in references.items()}
        return EpisodeOutcome(success=None, metrics=metrics, steps=horizon, info=info)

    def reference_plans(self, spec: EpisodeSpec, episode: Any, planner: Planner) -> dict[str, np.ndarray]:
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
                first, ctx = spec.params["start"], self.params["context_frames"]
                recorded = self.recorded_states(episode, first, ctx + horizon, self.action_dim)
                if recorded is None:
                    continue
                oracle = oracle_droid()
                states = oracle.encoder.encode(recorded)
                objective = LatentGoalObjective(oracle.world_model, oracle.controller, states[:, :ctx], states[:, -1],
                                                distance="l2")
                plans[name] = planner.plan(objective, generator).actions[:horizon].double().numpy()
        return plans


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

    def check_model(self, model: ModelBundle) -> None:
        model.require(["encoder", "world_model", "controller"] + (["decoder"] if self.params["cost"] == "lpips"
                                                                  else []), self.name)

    @torch.no_grad()
    def run_episode(self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *,
                    frames: bool = False) -> EpisodeOutcome:
        p = self.params
        episode, now, context, goal = self.context_and_goal(spec, model)
        steps = self.goal_offset
        low = torch.tensor(p["action_low"], dtype=torch.float64)
        high = torch.tensor(p["action_high"], dtype=torch.float64)
        goal_image = None
        if p["cost"] == "lpips":
            goal_image = frames_tensor(episode.frames[now + steps : now + steps + 1])[0].float() / 255
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
        references = self.reference_plans(spec, episode, planner, low, high)
        for name, sample in references.items():
            metrics.update(with_reference(self.score(sample, truth, low, high)[1], name))
        if references:
            info["reference_plans"] = {name: sample[0].tolist() for name, sample in references.items()}
        return EpisodeOutcome(success=None, metrics=metrics, steps=steps, info=info)

    def score(self, sample: Tensor, truth: np.ndarray, low: Tensor, high: Tensor) -> tuple[np.ndarray, dict]:
        """A (1,3) normalised straight-line sample's (steps,2) positions in the start frame, and their
        ATE, RPE and final position error against the recorded ``truth`` (steps,2)."""
        _, positions = straight_line_actions(sample.double(), low, high, self.goal_offset)
        predicted = positions[0].numpy()
        return predicted, {"ate": ate(predicted, truth), "rpe": rpe(predicted, truth),
                           "final_position_error": float(np.linalg.norm(predicted[-1] - truth[-1]))}

    def reference_plans(self, spec: EpisodeSpec, episode: Any, planner: Planner, low: Tensor,
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
                first, ctx = spec.params["start"], p["context_frames"]
                recorded = self.recorded_states(episode, first, ctx + steps, 3)
                if recorded is None:
                    continue
                oracle = oracle_nav()
                states = oracle.encoder.encode(recorded)
                objective = StraightLineObjective(oracle, states[:, :ctx], states[:, -1], low, high, steps,
                                                  "latent_l2", 1)
                plans[name] = planner.plan(objective, generator, init_mean=init_mean).actions[:1]
        return plans
