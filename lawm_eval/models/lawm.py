"""LaWM at tiny scale, and the LaWAM policy on top of it.

LaWM (the paper's stage 1, Eq. 4):
- IDM posterior q(z | x_t, x_{t+H}) = N(μ, σ²) from attention over both frames; KL to N(0, I).
  H (``horizon``) is the frames one latent action spans: the paper's fixed physical interval.
- Decoder (the world model): transformer conditioned on z by adaptive layer norm; predicts x_{t+H}.
- Auxiliary state predictor: (s_t, z) → s_{t+H} (MSE, standardised states), discarded afterwards.
- Adapter (ours, not the paper's): the H real actions → μ (L2), so suites can plan with it; with
  ``state_adapter`` (the bundled ``lawm``) it also reads x_t, since μ depends on the scene.

LaWAM (stage 2, Eq. 5): a latent policy π(z | x_t, task); the frozen LaWM turns its latent into the
subgoal x̂_{t+H}; a flow-matching action expert generates the H-step action chunk from (x_t, x̂_{t+H},
task). Knowledge insulation: the action expert reads the subgoal detached, so its gradients reach
neither the latent policy nor LaWM (wrapped as a Policy by lawm_eval.models.agents.ImagePolicy).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lawm_eval.models.blocks import MLP
from lawm_eval.models.flow import euler_sample, flow_matching_loss, initial_noise
from lawm_eval.models.lam_base import (
    ActionNormalizer,
    AdaLNPredictor,
    LatentActionWorldModel,
    PairIDM,
    StateActionController,
    init_log_sigma,
    pooled,
)

Tensor = torch.Tensor


class LaWM(LatentActionWorldModel):
    def __init__(self, dim: int = 64, latent_dim: int = 16, action_dim: int = 7, state_dim: int = 7, depth: int = 2,
                 horizon: int = 1, state_adapter: bool = False):
        super().__init__()
        self.latent_dim, self.horizon, self.action_dim = latent_dim, horizon, action_dim
        self.needs_states = state_adapter
        self.posterior = PairIDM(dim, 2 * latent_dim, depth)
        init_log_sigma(self.posterior.out, latent_dim)
        self.decoder = AdaLNPredictor(dim, latent_dim, depth)
        self.state_head = MLP(state_dim + latent_dim, 2 * dim, state_dim)
        self.normalizer = ActionNormalizer(action_dim)
        self.adapter = (StateActionController(dim, horizon * action_dim, latent_dim) if state_adapter
                        else MLP(horizon * action_dim, 2 * dim, latent_dim))

    def posterior_stats(self, x_t: Tensor, x_next: Tensor) -> tuple[Tensor, Tensor]:
        mu, log_sigma = self.posterior(x_t, x_next)[:, 0].chunk(2, dim=-1)
        return mu, log_sigma.clamp(-6, 2)

    def idm_latent(self, x_t: Tensor, x_next: Tensor) -> Tensor:
        return self.posterior_stats(x_t, x_next)[0]

    def predict_next(self, x_t: Tensor, z: Tensor) -> Tensor:
        return self.decoder(x_t, z)

    def control(self, actions: Tensor, x_t: Tensor | None) -> Tensor:  # (B,H·A) -> (B,L)
        steps = self.normalizer(actions.view(len(actions), self.horizon, self.action_dim)).flatten(1)
        if not self.needs_states:
            return self.adapter(steps)
        return self.adapter(steps, self.current_state(x_t))

    def predict_state(self, state: Tensor, z: Tensor) -> Tensor:
        """(B,S) standardised s_t, (B,L) -> (B,S) standardised s_{t+H} (the auxiliary head)."""
        return self.state_head(torch.cat([state, z], dim=-1))


def kl_standard_normal(mu: Tensor, log_sigma: Tensor) -> Tensor:
    """KL(N(μ,σ²) || N(0,1)) summed over dims, averaged over the batch."""
    return (0.5 * (mu.pow(2) + torch.exp(2 * log_sigma) - 1) - log_sigma).sum(-1).mean()


class LaWAMPolicy(nn.Module):
    """Latent policy → LaWM subgoal → flow-matching action expert over one H-step chunk (64×64 frames).

    ``use_subgoal=False`` is the paper's "w/o LaWM" ablation: the same expert without the subgoal
    stream (plain flow-matching behaviour cloning)."""

    def __init__(self, lawm_config: dict, dim: int = 64, tasks: int = 2, action_dim: int = 7, steps: int = 10,
                 use_subgoal: bool = True, chunk: int | None = None):
        super().__init__()
        self.world = LaWM(**lawm_config)
        # the chunk spans the subgoal horizon: H frames (the Franka clips: one action per frame), or
        # ``chunk`` actions when one world-model transition spans several (LIBERO: 8 actions)
        self.chunk = chunk or self.world.horizon
        self.action_dim, self.steps, self.use_subgoal = action_dim, steps, use_subgoal
        self.task_embedding = nn.Embedding(tasks, dim)
        self.latent_policy = MLP(512 + dim, 2 * dim, self.world.latent_dim, layers=3)
        self.context = MLP(512, 2 * dim, dim)  # the action expert's semantic stream: x_t
        self.dynamics = MLP(1024, 2 * dim, dim)  # its dynamics stream: (x_t, x̂_{t+H})
        flat = self.chunk * action_dim
        self.velocity = MLP(flat + 1 + 3 * dim, 4 * dim, flat, layers=3)
        self.action_normalizer = ActionNormalizer(action_dim)

    def subgoal(self, x_t: Tensor, task: Tensor) -> tuple[Tensor, Tensor]:
        """(B,16,32), (B,) -> the policy's latent action (B,L) and LaWM's subgoal x̂_{t+H} (B,16,32)."""
        z = self.latent_policy(torch.cat([pooled(x_t), self.task_embedding(task)], dim=-1))
        return z, self.world.predict_next(x_t, z)

    def condition(self, x_t: Tensor, subgoal: Tensor, task: Tensor) -> Tensor:
        """The expert's conditioning (B,3d). The subgoal enters detached (knowledge insulation)."""
        subgoal = subgoal.detach() if self.use_subgoal else torch.zeros_like(subgoal)
        dynamics = self.dynamics(torch.cat([pooled(x_t), pooled(subgoal)], dim=-1))
        return torch.cat([self.context(pooled(x_t)), dynamics, self.task_embedding(task).detach()], dim=-1)

    def velocity_at(self, a_tau: Tensor, tau: Tensor, cond: Tensor) -> Tensor:  # (B,H·A),(B,1),(B,3d)
        return self.velocity(torch.cat([a_tau, tau, cond], dim=-1))

    def flow_loss(self, cond: Tensor, chunk: Tensor, generator: torch.Generator) -> Tensor:
        """Conditional flow matching on expert chunks (B,H,A) in real units."""
        a1 = self.action_normalizer(chunk).flatten(1)
        return flow_matching_loss(lambda a, tau: self.velocity_at(a, tau, cond), a1, generator)

    @torch.no_grad()
    def act_tokens(self, x_t: Tensor, task: Tensor,
                   generator: torch.Generator | Sequence[torch.Generator] | None = None) -> Tensor:
        """(B,16,32), (B,) -> (B,H,A) action chunks, one subgoal each; without a generator the
        deterministic path from zero noise."""
        return self.generate(x_t, self.subgoal(x_t, task)[1], task, generator)

    @torch.no_grad()
    def generate(self, x_t: Tensor, subgoal: Tensor, task: Tensor,
                 generator: torch.Generator | Sequence[torch.Generator] | None = None) -> Tensor:
        """The action expert alone: (B,16,32) x_t, (B,16,32) subgoal, (B,) -> (B,H,A) real-unit chunks."""
        cond = self.condition(x_t, subgoal, task)
        a0 = initial_noise((len(x_t), self.chunk * self.action_dim), generator)
        a = euler_sample(lambda a, tau: self.velocity_at(a, tau, cond), a0, self.steps)
        a = a.view(len(a), self.chunk, self.action_dim)
        return a * self.action_normalizer.std + self.action_normalizer.mean
