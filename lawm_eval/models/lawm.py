"""LaWM at tiny scale, and a LaWAM-style policy on top of it.

- IDM posterior q(z | x_t, x_{t+1}) = N(μ, σ²) from attention over both frames; KL to N(0, I).
- Decoder (world model): transformer conditioned on z by adaptive layer norm; predicts x_{t+1}.
- Auxiliary state predictor: the robot state s_{t+1} from the predicted tokens (MSE).
- Adapter: 2-layer MLP real action → μ (L2).
- LaWAM policy: predicts the latent action from the observation (and task), rolls the LaWM forward
  one step to a subgoal, and an action head maps (observation, subgoal) to the real action
  (wrapped as a Policy by lawm_eval.models.agents.ImagePolicy).
"""

from __future__ import annotations

import torch
from torch import nn

from lawm_eval.models.blocks import MLP
from lawm_eval.models.lam_base import (
    ActionNormalizer,
    AdaLNPredictor,
    LatentActionWorldModel,
    PairIDM,
    init_log_sigma,
    pooled,
)

Tensor = torch.Tensor


class LaWM(LatentActionWorldModel):
    def __init__(self, dim: int = 64, latent_dim: int = 16, action_dim: int = 7, state_dim: int = 7, depth: int = 2):
        super().__init__()
        self.latent_dim = latent_dim
        self.posterior = PairIDM(dim, 2 * latent_dim, depth)
        init_log_sigma(self.posterior.out, latent_dim)
        self.decoder = AdaLNPredictor(dim, latent_dim, depth)
        self.state_head = MLP(512, 2 * dim, state_dim)
        self.normalizer = ActionNormalizer(action_dim)
        self.adapter = MLP(action_dim, 2 * dim, latent_dim)

    def posterior_stats(self, x_t: Tensor, x_next: Tensor) -> tuple[Tensor, Tensor]:
        mu, log_sigma = self.posterior(x_t, x_next)[:, 0].chunk(2, dim=-1)
        return mu, log_sigma.clamp(-6, 2)

    def idm_latent(self, x_t: Tensor, x_next: Tensor) -> Tensor:
        return self.posterior_stats(x_t, x_next)[0]

    def predict_next(self, x_t: Tensor, z: Tensor) -> Tensor:
        return self.decoder(x_t, z)

    def control(self, actions: Tensor, x_t: Tensor | None) -> Tensor:
        return self.adapter(self.normalizer(actions))

    def predict_state(self, tokens: Tensor) -> Tensor:
        return self.state_head(pooled(tokens))


def kl_standard_normal(mu: Tensor, log_sigma: Tensor) -> Tensor:
    """KL(N(μ,σ²) || N(0,1)) summed over dims, averaged over the batch."""
    return (0.5 * (mu.pow(2) + torch.exp(2 * log_sigma) - 1) - log_sigma).sum(-1).mean()


class LaWAMPolicy(nn.Module):
    """Latent-action policy + action head on the LaWM subgoal. Acts on 64×64 frames."""

    def __init__(self, lawm_config: dict, dim: int = 64, tasks: int = 2, action_dim: int = 7):
        super().__init__()
        self.world = LaWM(**lawm_config)
        self.task_embedding = nn.Embedding(tasks, dim)
        self.latent_policy = MLP(512 + dim, 2 * dim, self.world.latent_dim, layers=3)
        self.action_head = MLP(1024 + dim, 2 * dim, action_dim, layers=3)
        self.action_normalizer = ActionNormalizer(action_dim)

    def act_tokens(self, x_t: Tensor, task: Tensor, generator: object = None) -> Tensor:
        """(B,16,32), (B,) -> (B,1,A) real action chunks (one step; deterministic: ``generator`` is unused)."""
        _, action = self(x_t, task)
        return (action * self.action_normalizer.std + self.action_normalizer.mean)[:, None]

    def forward(self, x_t: Tensor, task: Tensor) -> tuple[Tensor, Tensor]:
        """(B,16,32), (B,) -> latent action (B,L), normalised real action (B,A)."""
        t = self.task_embedding(task)
        z = self.latent_policy(torch.cat([pooled(x_t), t], dim=-1))
        subgoal = self.world.predict_next(x_t, z)
        action = self.action_head(torch.cat([pooled(x_t), pooled(subgoal), t], dim=-1))
        return z, action
