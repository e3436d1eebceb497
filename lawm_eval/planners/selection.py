"""Selection over a sampling policy's candidates (LAC-WM §4.4, "Action Selection from VLA Samples").

A VLA draws N candidate action sequences of length p (different flow-matching noise seeds); the world
model rolls every candidate out from the current observation, in chunks of 5 actions per predicted
frame; the k candidates whose final predicted embedding lies closest (L2) to the subgoal image's
embedding are averaged, and the average is executed. The paper's two VLA-only baselines are choices
of the same planner that never query the world model: ``mean`` (VLA-mean, the average of all N) and
``random`` (VLA-random, one candidate). LAC-WM's constants: N = 500, p = 100, k = 3 (§4.4); the
training-set variant N = 500, p = 30, k = 5 (App. A.6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.interfaces import Objective, PlanResult
from lawm_eval.planners.common import evaluate
from lawm_eval.rollouts import rollout_actions

CHOICES = ("world_model", "mean", "random")


@dataclass
class SelectionConfig:
    num_samples: int = 500  # N
    horizon: int = 100  # p, the actions per subgoal
    top_k: int = 3  # k
    choose: str = "world_model"  # world_model | mean (VLA-mean) | random (VLA-random)


class SampleSelectionPlanner:
    """``plan(objective, generator, candidates=(N, p, A))``: top-k by the objective, averaged."""

    Config = SelectionConfig
    fixed_choice: str | None = None  # the VLA-only baselines' planners fix ``choose``

    def __init__(self, action_dim: int, **params: Any):
        if self.fixed_choice is not None:
            if params.setdefault("choose", self.fixed_choice) != self.fixed_choice:
                raise ConfigError(f"this planner always chooses '{self.fixed_choice}' (planner=vla_selection "
                                  f"planner.choose={params['choose']} chooses otherwise)")
        self.cfg = SelectionConfig(**params)
        self.action_dim = action_dim
        if self.cfg.choose not in CHOICES:
            raise ConfigError(f"planner.choose must be one of {', '.join(CHOICES)}, got '{self.cfg.choose}'")
        if not 1 <= self.cfg.top_k <= self.cfg.num_samples:
            raise ConfigError(f"planner.top_k must be in 1..num_samples ({self.cfg.num_samples}), got {self.cfg.top_k}")
        if self.cfg.horizon < 1:
            raise ConfigError("planner.horizon must be at least 1")

    @torch.no_grad()
    def plan(self, objective: Objective | None, generator: torch.Generator, init_mean: torch.Tensor | None = None,
             candidates: torch.Tensor | None = None) -> PlanResult:
        if candidates is None:
            raise ConfigError("the selection planner chooses among a sampling policy's candidates: it runs only "
                              "in suites that draw them (bfa_selection)")
        n = candidates.shape[0]
        if candidates.ndim != 3 or candidates.shape[2] != self.action_dim:
            raise ModelError(f"candidates must be (N, p, {self.action_dim}), got {tuple(candidates.shape)}")
        if self.cfg.choose == "mean":
            return PlanResult(candidates.mean(0), float("nan"), {"chosen": list(range(n))})
        if self.cfg.choose == "random":
            pick = int(torch.randint(n, (1,), generator=generator))
            return PlanResult(candidates[pick], float("nan"), {"chosen": [pick]})
        if objective is None:
            raise ConfigError("planner.choose=world_model needs a model with a world model")
        costs = evaluate(objective, candidates)  # (N,)
        k = min(self.cfg.top_k, n)
        best = torch.topk(costs, k, largest=False).indices  # (k,) closest first
        return PlanResult(candidates[best].mean(0), float(costs[best].mean()),
                          {"chosen": best.tolist(), "costs": costs[best].tolist(),
                           "cost_median": float(costs.median())})


@dataclass
class FinalEmbeddingDistance:
    """The selection objective: L2 between the world model's final predicted state and the subgoal's.

    Actions (N, p, A) are grouped into chunks of ``chunk`` consecutive actions, (N, p / chunk, chunk·A)
    (LAC-WM chunks actions into 5-step groups, one predicted frame per chunk), and rolled out from the
    current state by ``rollout_actions``: one batched world-model call over all N per predicted step
    (or one ``rollout`` call for the whole horizon)."""

    world_model: Any
    controller: Any
    context: torch.Tensor  # (1, Tc, *S) the current observation's encoding
    goal: torch.Tensor  # (1, *S) the subgoal image's encoding
    chunk: int

    def chunked(self, actions: torch.Tensor) -> torch.Tensor:
        """(N, p, A) -> (N, p / chunk, chunk * A)."""
        n, p, a = actions.shape
        if p % self.chunk:
            raise ConfigError(f"planner.horizon ({p}) must be a multiple of the action chunk ({self.chunk})")
        return actions.reshape(n, p // self.chunk, self.chunk * a)

    def __call__(self, actions: torch.Tensor) -> torch.Tensor:  # (N, p, A) -> (N,)
        n = actions.shape[0]
        context = self.context.expand(n, *self.context.shape[1:])  # (N, Tc, *S)
        states = rollout_actions(self.world_model, self.controller, context, self.chunked(actions))  # (N, H, *S)
        final = states[:, -1].flatten(1)  # (N, D)
        return (final - self.goal.flatten(1)).norm(dim=1)


class VLAMeanPlanner(SampleSelectionPlanner):
    """VLA-mean (LAC-WM §4.4): the average of all N candidates; the world model is not queried."""

    fixed_choice = "mean"


class VLARandomPlanner(SampleSelectionPlanner):
    """VLA-random (LAC-WM §4.4): one candidate drawn at random; the world model is not queried."""

    fixed_choice = "random"
