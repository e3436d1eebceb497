"""A small VLA-style policy: a flow-matching action head that samples N diverse action chunks
from different noise seeds (for the VLA-sample selection protocols).

Velocity field v(a_τ, τ, o) trained with MSE to (a₁ − a₀) on a_τ = (1 − τ) a₀ + τ a₁, a₀ ~ N(0, I),
a₁ the normalised expert chunk; sampling integrates 10 Euler steps from noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lawm_eval.models.blocks import MLP
from lawm_eval.models.flow import euler_sample, flow_matching_loss, initial_noise
from lawm_eval.models.lam_base import ActionNormalizer, pooled

Tensor = torch.Tensor


class FlowMatchingPolicy(nn.Module):
    def __init__(self, action_dim: int = 7, chunk: int = 4, dim: int = 128, tasks: int = 2, steps: int = 10):
        super().__init__()
        self.action_dim, self.chunk, self.steps = action_dim, chunk, steps
        self.obs = MLP(512, dim, dim)
        self.task_embedding = nn.Embedding(tasks, dim)
        self.velocity = MLP(chunk * action_dim + 1 + 2 * dim, 2 * dim, chunk * action_dim, layers=3)
        self.normalizer = ActionNormalizer(action_dim)

    def condition(self, x_t: Tensor, task: Tensor) -> Tensor:
        return torch.cat([self.obs(pooled(x_t)), self.task_embedding(task)], dim=-1)

    def velocity_at(self, a_tau: Tensor, tau: Tensor, cond: Tensor) -> Tensor:  # (B,Hc*A),(B,1),(B,2d)
        return self.velocity(torch.cat([a_tau, tau, cond], dim=-1))

    def loss(self, x_t: Tensor, task: Tensor, chunk: Tensor, generator: torch.Generator) -> Tensor:
        """Flow-matching loss for expert chunks (B,Hc,A) (real units)."""
        cond = self.condition(x_t, task)
        return flow_matching_loss(lambda a, tau: self.velocity_at(a, tau, cond), self.normalizer(chunk).flatten(1),
                                  generator)

    @torch.no_grad()
    def act_tokens(self, x_t: Tensor, task: Tensor,
                   generator: torch.Generator | Sequence[torch.Generator] | None = None) -> Tensor:
        """(B,16,32), (B,) → (B,Hc,A) sampled chunks (one per row, each with its own noise). A list of
        B generators draws each row's noise from its own (as B calls with one row each would)."""
        cond = self.condition(x_t, task)
        a0 = initial_noise((len(x_t), self.chunk * self.action_dim), generator)
        a = euler_sample(lambda a, tau: self.velocity_at(a, tau, cond), a0, self.steps)
        a = a.view(len(a), self.chunk, self.action_dim)
        return a * self.normalizer.std + self.normalizer.mean
