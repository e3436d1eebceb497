"""Offline goal-reaching planning on recorded data.

``droid_planning`` (jepa-wms / V-JEPA 2-AC on DROID): from a clip of H+1 frames at 4 fps, plan H
end-effector delta actions with CEM so that the world model, fed through the controller, ends at
the encoding of the clip's last frame (cost ‖s_g − ŝ_{t+H}‖₂); score the plan against the
recorded actions with Δxyz = Σ_xyz |Σ_t a_plan − Σ_t a_gt| (and orientation, gripper).

``recon_planning`` (NWM on RECON): the goal is the frame 8 steps (2 s) ahead; CEM samples one
(dx, dy, terminal yaw) in normalised units and repeats the (dx, dy) step over the 8 steps
(straight-line assumption); the cost compares the last predicted state (or decoded frame, LPIPS)
with the goal; the plan's positions are scored against the recorded path with ATE and RPE.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ConfigError
from lawm_eval.interfaces import Planner
from lawm_eval.metrics.trajectory import ate, delta_action, rpe
from lawm_eval.planners.objectives import LatentGoalObjective, check_states, rollout_actions
from lawm_eval.suites.base import EpisodeOutcome
from lawm_eval.suites.offline import OfflineSuite, choose, frames_tensor
from lawm_eval.types import EpisodeSpec

Tensor = torch.Tensor


class GoalPlanningSuite(OfflineSuite):
    """Common part: clips of ``context_frames + goal_offset`` frames, observations as images or
    recorded states, the encoded context and goal."""

    goal_offset_key = "horizon"

    def __init__(self, manifest, params=None):
        super().__init__(manifest, params)
        choose(self.params["observation"], ("image", "state"), "observation")
        if self.params["episodes"] < 1 or self.params["context_frames"] < 1:
            raise ConfigError("suite.episodes and suite.context_frames must be ≥ 1")

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
        return EpisodeOutcome(success=None, metrics=metrics, steps=horizon, info=info)


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
        _, positions = straight_line_actions(plan.actions[:1].double(), low, high, steps)
        predicted = positions[0].numpy()  # (steps,2) in the start frame
        world = np.asarray(episode.states[now : now + steps + 1, :2], dtype=np.float64)
        truth = to_start_frame(world, float(episode.states[now, 2]))[1:]
        metrics = {"ate": ate(predicted, truth), "rpe": rpe(predicted, truth),
                   "final_position_error": float(np.linalg.norm(predicted[-1] - truth[-1])), "plan_cost": plan.cost}
        info = {"episode": spec.params["episode"], "start": spec.params["start"],
                "plan": plan.actions[0].tolist(), "planned_positions": predicted.tolist(),
                "true_positions": truth.tolist()}
        return EpisodeOutcome(success=None, metrics=metrics, steps=steps, info=info)
