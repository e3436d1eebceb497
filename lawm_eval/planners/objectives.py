"""Planning objectives built from a model's parts; each scores all N candidates in one batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from lawm_eval.rollouts import rollout_actions

Tensor = torch.Tensor


def l2_distance(a: Tensor, b: Tensor) -> Tensor:
    """Per-sample L2 distance over all non-batch dims: (N,*S), (N|1,*S) -> (N,)."""
    return (a - b).flatten(1).norm(dim=1)


def l1_distance(a: Tensor, b: Tensor) -> Tensor:
    """Per-sample mean absolute difference over all non-batch dims: (N,*S), (N|1,*S) -> (N,)."""
    return (a - b).flatten(1).abs().mean(dim=1)


DISTANCES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"l2": l2_distance, "l1": l1_distance}


@dataclass
class LatentGoalObjective:
    """cost(a) = d(s_goal, ŝ_{t+H}) in the model's state space (DROID / jepa-wms style).

    context (1,Tc,*S) the encoded observation history, goal (1,*S) the encoded goal.
    With ``all_steps`` the distance is summed over every predicted step instead of the last.
    """

    world_model: object
    controller: object
    context: Tensor
    goal: Tensor
    distance: str = "l2"
    all_steps: bool = False

    def __call__(self, actions: Tensor) -> Tensor:  # (N, H, A) -> (N,)
        n = actions.shape[0]
        context = self.context.expand(n, *self.context.shape[1:])  # (N, Tc, *S)
        states = rollout_actions(self.world_model, self.controller, context, actions)  # (N, H, *S)
        dist = DISTANCES[self.distance]
        if self.all_steps:
            return sum(dist(states[:, t], self.goal) for t in range(states.shape[1]))
        return dist(states[:, -1], self.goal)
