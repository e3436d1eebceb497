"""LAW at tiny scale: latent actions jointly trained with a recurrent state-space world model.

- RSSM: deterministic state h (GRU), stochastic state s (16 categorical variables × 16 classes,
  straight-through samples), prior p(s | h), posterior q(s | h, e(x)), decoder (h, s) → visual
  tokens; loss MSE + β·KL(q ‖ p) with free nats.
- Latent actions u come from an inverse model on (x_t, x_{t+1}) while training the RSSM; an
  imitation model predicts chunks of K latent actions from the current frame (behaviour cloning in
  latent space), trained jointly.
- Fine-tuning on real actions: an action encoder a → u trained through the RSSM's prior rollout
  (plus L2 to the inverse model's u); it is the controller, unless ``frame_controller``: then a third
  stage trains a controller that reads the current frame beside the action (L2 to the inverse
  model's u, everything else frozen), since the latent actions depend on the scene.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lawm_eval.models.blocks import MLP
from lawm_eval.models.lam_base import (
    N_TOKENS,
    TOKEN_DIM,
    ActionNormalizer,
    LatentActionWorldModel,
    StateActionController,
    pooled,
)

FRAME_CONTROLLER_DIM = 64  # width of the frame-reading controller (the RegularisedLAM's controllers use 64 too)

Tensor = torch.Tensor


class LAW(LatentActionWorldModel):
    def __init__(self, hidden: int = 128, variables: int = 4, classes: int = 8, latent_dim: int = 8,
                 chunk: int = 3, action_dim: int = 7, frame_controller: bool = False):
        super().__init__()
        self.variables, self.classes, self.latent_dim, self.chunk = variables, classes, latent_dim, chunk
        stoch = variables * classes
        self.embed = MLP(512, hidden, hidden)
        self.cell = nn.GRUCell(stoch + latent_dim, hidden)
        self.prior = MLP(hidden, hidden, stoch)
        self.post = MLP(2 * hidden, hidden, stoch)
        self.decoder = MLP(hidden + stoch, 2 * hidden, N_TOKENS * TOKEN_DIM, layers=3)
        self.inverse = nn.Sequential(MLP(1024, hidden, latent_dim), nn.Tanh())
        self.imitation = MLP(512, hidden, chunk * latent_dim, layers=3)
        self.normalizer = ActionNormalizer(action_dim)
        self.action_encoder = nn.Sequential(MLP(action_dim, hidden, latent_dim), nn.Tanh())
        self.needs_states = frame_controller
        self.frame_encoder = (StateActionController(FRAME_CONTROLLER_DIM, action_dim, latent_dim)
                              if frame_controller else None)

    # -- RSSM pieces ----------------------------------------------------------------------------
    def sample(self, logits: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Straight-through one-hot sample (or the mode without a generator): (B,V*C) → (B,V*C)."""
        logits = logits.view(-1, self.variables, self.classes)
        probs = logits.softmax(-1)
        if generator is None:
            index = probs.argmax(-1)
        else:
            index = torch.multinomial(probs.flatten(0, 1), 1, generator=generator).view(probs.shape[:2])
        one_hot = F.one_hot(index, self.classes).float()
        return (one_hot + probs - probs.detach()).flatten(1)

    def kl(self, post_logits: Tensor, prior_logits: Tensor, free_nats: float = 0.5) -> Tensor:
        post = post_logits.view(-1, self.variables, self.classes).log_softmax(-1)
        prior = prior_logits.view(-1, self.variables, self.classes).log_softmax(-1)
        kl = (post.exp() * (post - prior)).sum(-1).sum(-1)
        return kl.clamp(min=free_nats).mean()

    def decode(self, h: Tensor, s: Tensor) -> Tensor:
        return self.decoder(torch.cat([h, s], dim=-1)).view(-1, N_TOKENS, TOKEN_DIM)

    def observe(self, h: Tensor, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Posterior sample of s for frame tokens x given h: (s, posterior logits)."""
        logits = self.post(torch.cat([h, self.embed(pooled(x))], dim=-1))
        return self.sample(logits, generator), logits

    def filtering_loss(self, x: Tensor, latents: Tensor,
                       generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """LAW's Eq. 5 over one window, by posterior filtering: (Σ_k token MSE of x̂_k, Σ_k KL(q ‖ p));
        x (B, K+1, N, D) frame tokens, latents (B, K, L) the latent actions between them."""
        h = torch.zeros(len(x), self.cell.hidden_size)
        s, _ = self.observe(h, x[:, 0], generator)
        recon, kl = F.mse_loss(self.decode(h, s), x[:, 0]), torch.zeros(())
        for k in range(latents.shape[1]):
            h = self.cell(torch.cat([s, latents[:, k]], dim=-1), h)
            prior_logits = self.prior(h)
            s, post_logits = self.observe(h, x[:, k + 1], generator)
            recon = recon + F.mse_loss(self.decode(h, s), x[:, k + 1])
            kl = kl + self.kl(post_logits, prior_logits)
        return recon, kl

    def initial(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.zeros(len(x), self.cell.hidden_size)
        return h, self.observe(h, x)[0]

    def imagine(self, h: Tensor, s: Tensor, u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One prior step: (h', s' = prior mode, prior logits)."""
        h = self.cell(torch.cat([s, u], dim=-1), h)
        logits = self.prior(h)
        return h, self.sample(logits), logits

    # -- hooks of the model interface -----------------------------------------------------------------
    def idm_latent(self, x_t: Tensor, x_next: Tensor) -> Tensor:
        return self.inverse(torch.cat([pooled(x_t), pooled(x_next)], dim=-1))

    def predict_next(self, x_t: Tensor, z: Tensor) -> Tensor:
        h, s = self.initial(x_t)
        h, s, _ = self.imagine(h, s, z)
        return self.decode(h, s)

    def control(self, actions: Tensor, x_t: Tensor | None) -> Tensor:  # (B,A), (B,16,32) | None -> (B,L)
        if self.frame_encoder is None:
            return self.action_encoder(self.normalizer(actions))
        return torch.tanh(self.frame_encoder(self.normalizer(actions), self.current_state(x_t)))

    @torch.no_grad()
    def rollout(self, context: Tensor, latent_actions: Tensor) -> Tensor:
        """Filter the last context frame, then imagine with the prior, keeping the recurrent state."""
        return self.rollout_train(context[:, -1], latent_actions)

    def rollout_train(self, x0: Tensor, latents: Tensor) -> Tensor:
        h, s = self.initial(x0)
        out = []
        for t in range(latents.shape[1]):
            h, s, _ = self.imagine(h, s, latents[:, t])
            out.append(self.decode(h, s))
        return torch.stack(out, dim=1)
