"""The toy MPC protocol on the point mass (suites/point_mass/v1.yaml).

Each step: encode the observation and the goal, plan H actions with the planner on the
objective ‖s_goal − ŝ_{t+H}‖₂ (world model + controller), execute ``execute_steps`` of them,
replan from the rest. Success when the mass ends within ``success_radius`` of the goal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.envs.point_mass import PointMassEnv
from lawm_eval.errors import ConfigError
from lawm_eval.interfaces import Planner
from lawm_eval.planners.objectives import LatentGoalObjective
from lawm_eval.rollouts import check_states
from lawm_eval.suites.base import EpisodeOutcome, Suite
from lawm_eval.types import EpisodeSpec

OBSERVATIONS = ("state", "rgb")


class PointMassSuite(Suite):
    action_dim = PointMassEnv.action_dim

    def __init__(self, manifest, params=None):
        super().__init__(manifest, params)
        if self.params["observation"] not in OBSERVATIONS:
            raise ConfigError(f"suite.observation must be one of {', '.join(OBSERVATIONS)}")
        if self.params["episodes"] < 1 or self.params["max_steps"] < 1 or self.params["execute_steps"] < 1:
            raise ConfigError("suite.episodes, suite.max_steps and suite.execute_steps must be ≥ 1")

    observation_settings = {"image": "rgb", "state": "state"}

    def offered_inputs(self) -> dict:
        image = self.params["observation"] == "rgb"
        return {"observation": "image" if image else "state", "context_frames": 1, "action_dim": self.action_dim,
                **({} if image else {"state_dim": 4})}

    def evaluation_contract(self, model: ModelBundle) -> dict:
        size = self.params["image_size"]
        return {**super().evaluation_contract(model),
                **({"resolution": [size, size]} if self.params["observation"] == "rgb" else {}),
                "goal": "the goal state (or its rendering), encoded by the model's encoder",
                "privileged_state": self.params["observation"] == "state"}

    def make_env(self) -> PointMassEnv:
        p = self.params
        return PointMassEnv(dt=p["dt"], damping=p["damping"], image_size=p["image_size"])

    def episodes(self) -> list[EpisodeSpec]:
        seed = self.params["seed"]
        return [self.spec("reach", i, seed + i, group=self.name) for i in range(self.params["episodes"])]

    def observe(self, env: PointMassEnv, goal: bool = False) -> torch.Tensor:
        """The encoder's input for the current state (or the goal): (1,1,4) or (1,1,3,S,S) uint8."""
        if self.params["observation"] == "state":
            vec = env.goal_state() if goal else env.state
            return torch.as_tensor(vec, dtype=torch.float32).view(1, 1, -1)
        image = env.render(state=env.goal_state() if goal else None)
        return torch.from_numpy(image).permute(2, 0, 1)[None, None].contiguous()

    def encode(self, model: ModelBundle, observation: torch.Tensor) -> torch.Tensor:
        states = model.encoder.encode(observation)  # (1, 1, *S)
        state_shape = tuple(states.shape[2:]) if isinstance(states, torch.Tensor) else ()
        check_states(states, (1, 1), state_shape, "encoder.encode")
        return states

    @torch.no_grad()
    def probe_model(self, model: ModelBundle, spec: EpisodeSpec) -> None:
        """Encode the episode's first observation and goal, score two candidate action sequences."""
        env = self.make_env()
        env.reset(spec.seed)
        goal = self.encode(model, self.observe(env, goal=True))[:, 0]  # (1, *S)
        context = self.encode(model, self.observe(env))  # (1, 1, *S)
        LatentGoalObjective(model.world_model, model.controller, context, goal)(torch.zeros(2, 1, self.action_dim))

    @torch.no_grad()
    def run_episode(
        self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *, frames: bool = False
    ) -> EpisodeOutcome:
        p = self.params
        env = self.make_env()
        start = env.reset(spec.seed)["state"][:2].tolist()
        generator = torch.Generator().manual_seed(spec.seed)
        goal = self.encode(model, self.observe(env, goal=True))[:, 0]  # (1, *S)
        video = [env.render()] if frames else []
        distances, costs = [env.distance()], []
        rest: torch.Tensor | None = None
        steps = 0
        while steps < p["max_steps"] and distances[-1] >= p["success_radius"]:
            context = self.encode(model, self.observe(env))  # (1, 1, *S)
            objective = LatentGoalObjective(model.world_model, model.controller, context, goal)
            result = planner.plan(objective, generator, init_mean=rest if p["warm_start"] else None)
            costs.append(result.cost)
            n_exec = min(p["execute_steps"], p["max_steps"] - steps, len(result.actions))
            for action in result.actions[:n_exec]:
                env.step(action.numpy())
                steps += 1
                distances.append(env.distance())
                if frames:
                    video.append(env.render())
                if distances[-1] < p["success_radius"]:
                    break
            rest = result.actions[n_exec:]
        success = distances[-1] < p["success_radius"]
        metrics = {
            "final_distance": distances[-1],
            "min_distance": min(distances),
            "plan_cost": float(np.mean(costs)) if costs else 0.0,
        }
        info: dict[str, Any] = {"start": start, "goal": env.goal.tolist()}
        return EpisodeOutcome(
            success=success, metrics=metrics, steps=steps, info=info,
            frames=np.stack(video) if frames else None,
        )
