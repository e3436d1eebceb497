"""What the bundled latent-action world models share: token projections, the model-interface
methods (infer / step / rollout / to_latent) built on three hooks each method defines:

    idm_latent(x_t, x_next) -> z          (B,16,32), (B,16,32) -> (B,L)      the IDM
    predict_next(x_t, z) -> x_next        (B,16,32), (B,L) -> (B,16,32)      the world model
    control(actions, x_t) -> z            (B,A), (B,16,32) | None -> (B,L)   real → latent actions

The interface methods run in eval mode without gradients; training uses the hooks directly.
"""

from __future__ import annotations

import torch
from torch import nn

from lawm_eval.models.blocks import MLP, AdaLNBlock, CrossAttentionBlock, SelfAttentionBlock
from lawm_eval.models.visual import STATE_SHAPE

Tensor = torch.Tensor
N_TOKENS, TOKEN_DIM = STATE_SHAPE


class TokensIn(nn.Module):
    """(B,16,32) visual tokens → (B,16,d) with learned position embeddings."""

    def __init__(self, dim: int, tokens: int = N_TOKENS):
        super().__init__()
        self.proj = nn.Linear(TOKEN_DIM, dim)
        self.pos = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x) + self.pos


class LatentActionWorldModel(nn.Module):
    """Base of the bundled LAMs; subclasses implement the three hooks and set ``latent_dim``."""

    latent_dim: int = 16
    needs_states: bool = False
    has_idm: bool = True  # False for models conditioned on real actions only (no LatentActionModel part)

    def idm_latent(self, x_t: Tensor, x_next: Tensor) -> Tensor:
        raise NotImplementedError

    def predict_next(self, x_t: Tensor, z: Tensor) -> Tensor:
        raise NotImplementedError

    def control(self, actions: Tensor, x_t: Tensor | None) -> Tensor:
        raise NotImplementedError

    # -- the model interface (lawm_eval/interfaces.py) -------------------------------------------
    @torch.no_grad()
    def infer(self, states: Tensor) -> Tensor:  # (B,T+1,16,32) -> (B,T,L)
        b, t1 = states.shape[:2]
        z = self.idm_latent(states[:, :-1].flatten(0, 1), states[:, 1:].flatten(0, 1))
        return z.view(b, t1 - 1, -1)

    @torch.no_grad()
    def step(self, context: Tensor, latent_actions: Tensor) -> Tensor:  # (B,Tc,16,32),(B,1,L) -> (B,1,16,32)
        return self.predict_next(context[:, -1], latent_actions[:, 0])[:, None]

    @torch.no_grad()
    def rollout(self, context: Tensor, latent_actions: Tensor) -> Tensor:  # (B,Tc,S),(B,H,L) -> (B,H,S)
        x, out = context[:, -1], []
        for t in range(latent_actions.shape[1]):
            x = self.predict_next(x, latent_actions[:, t])
            out.append(x)
        return torch.stack(out, dim=1)

    @torch.no_grad()
    def to_latent(self, actions: Tensor, states: Tensor | None) -> Tensor:  # (B,H,A),(B,H,S)|None -> (B,H,L)
        b, h = actions.shape[:2]
        flat_states = None if states is None else states.flatten(0, 1)
        return self.control(actions.flatten(0, 1).float(), flat_states).view(b, h, -1)

    def rollout_train(self, x0: Tensor, latents: Tensor) -> Tensor:
        """Differentiable rollout for training: (B,16,32), (B,H,L) -> (B,H,16,32)."""
        x, out = x0, []
        for t in range(latents.shape[1]):
            x = self.predict_next(x, latents[:, t])
            out.append(x)
        return torch.stack(out, dim=1)


class ActionNormalizer(nn.Module):
    """Standardises real actions with the training set's statistics (stored as buffers)."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, actions: Tensor) -> None:
        flat = actions.reshape(-1, actions.shape[-1])
        self.mean.copy_(flat.mean(0))
        self.std.copy_(flat.std(0).clamp(min=1e-4))

    def forward(self, actions: Tensor) -> Tensor:
        return (actions - self.mean) / self.std


class PairIDM(nn.Module):
    """Full self-attention over the tokens of both frames, then ``queries`` learned queries
    cross-attend → (B, queries, out_dim)."""

    def __init__(self, dim: int, out_dim: int, depth: int = 2, queries: int = 1):
        super().__init__()
        self.tokens_in = TokensIn(dim, tokens=2 * N_TOKENS)
        self.blocks = nn.ModuleList(SelfAttentionBlock(dim) for _ in range(depth))
        self.queries = nn.Parameter(torch.randn(1, queries, dim) * 0.02)
        self.pool = CrossAttentionBlock(dim)
        self.out = nn.Linear(dim, out_dim)

    def forward(self, x_t: Tensor, x_next: Tensor) -> Tensor:
        h = self.tokens_in(torch.cat([x_t, x_next], dim=1))
        for block in self.blocks:
            h = block(h)
        return self.out(self.pool(self.queries.expand(len(h), -1, -1), h))


class AdaLNPredictor(nn.Module):
    """Next-state predictor conditioned by adaptive layer norm on a vector (the latent action)."""

    def __init__(self, dim: int, cond_dim: int, depth: int = 2):
        super().__init__()
        self.x_in = TokensIn(dim)
        self.cond = nn.Sequential(nn.Linear(cond_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.blocks = nn.ModuleList(AdaLNBlock(dim, dim) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, TOKEN_DIM))

    def forward(self, x_t: Tensor, z: Tensor) -> Tensor:  # (B,16,32),(B,C) -> (B,16,32)
        h, c = self.x_in(x_t), self.cond(z)
        for block in self.blocks:
            h = block(h, c)
        return x_t + self.out(h)


class ConcatPredictor(nn.Module):
    """Next-state predictor that reads the latent action as extra tokens beside the frame's (the
    latent-action models' FDM: CoLA-World App. B.1 "concatenates the image patches and the predicted
    latent action tokens"), so the latent is read from the first step (an AdaLN modulation starts at zero)."""

    def __init__(self, dim: int, latent_tokens: int, code_dim: int, depth: int = 1):
        super().__init__()
        self.latent_tokens, self.code_dim = latent_tokens, code_dim
        self.x_in = TokensIn(dim)
        self.z_in = nn.Linear(code_dim, dim)
        self.z_pos = nn.Parameter(torch.randn(1, latent_tokens, dim) * 0.02)
        self.blocks = nn.ModuleList(SelfAttentionBlock(dim) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, TOKEN_DIM))

    def forward(self, x_t: Tensor, z: Tensor) -> Tensor:  # (B,16,32),(B,tokens·code_dim) -> (B,16,32)
        tokens = self.z_in(z.view(len(z), self.latent_tokens, self.code_dim)) + self.z_pos
        h = torch.cat([self.x_in(x_t), tokens], dim=1)
        for block in self.blocks:
            h = block(h)
        return x_t + self.out(h[:, : x_t.shape[1]])


class StateActionController(nn.Module):
    """Real action → latent action given the state: self-attention over the previous state's
    tokens, then the MLP-embedded action cross-attends to them (needs_states = True)."""

    def __init__(self, dim: int, action_dim: int, latent_dim: int, depth: int = 1):
        super().__init__()
        self.tokens_in = TokensIn(dim)
        self.blocks = nn.ModuleList(SelfAttentionBlock(dim) for _ in range(depth))
        self.action_in = MLP(action_dim, 2 * dim, dim)
        self.cross = CrossAttentionBlock(dim)
        self.out = nn.Linear(dim, latent_dim)

    def forward(self, actions: Tensor, x_t: Tensor) -> Tensor:  # (B,A),(B,16,32) -> (B,L)
        h = self.tokens_in(x_t)
        for block in self.blocks:
            h = block(h)
        return self.out(self.cross(self.action_in(actions)[:, None], h)[:, 0])


def init_log_sigma(linear: nn.Linear, latent_dim: int, value: float = -3.0) -> None:
    """Start a Gaussian posterior head (μ ‖ log σ) with small σ (e^-3 ≈ 0.05), so that the sampled
    latent carries information from the first step instead of being drowned in unit noise."""
    with torch.no_grad():
        linear.bias[latent_dim:].fill_(value)


def pooled(x: Tensor) -> Tensor:
    """(B,16,32) tokens → (B,512) flat features for MLP heads."""
    return x.flatten(1)
