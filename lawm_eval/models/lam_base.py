"""What the bundled latent-action world models share: token projections, the model-interface
methods (infer / step / rollout / to_latent) built on three hooks each method defines:

    idm_latent(x_t, x_next) -> z          (B,16,32), (B,16,32) -> (B,L)      the IDM
    predict_next(x_t, z) -> x_next        (B,16,32), (B,L) -> (B,16,32)      the world model
    control(actions, x_t) -> z            (B,A), (B,16,32) | None -> (B,L)   real → latent actions

A world model with history (``history_frames`` K > 1) also defines

    predict_window(frames, latents)       (B,K,16,32), (B,K,L) -> (B,K,16,32)  the next state after
                                          each frame, each reading its frame and the earlier ones

and reads the last K frames of the context; the latent actions of the transitions inside that
window are the IDM's (observed or imagined frames alike), or, within one ``rollout`` call, the
latents that produced the imagined frames.

The interface methods run in eval mode without gradients; training uses the hooks directly.
"""

from __future__ import annotations

import torch
from torch import nn

from lawm_eval.errors import ConfigError
from lawm_eval.models.blocks import (
    MLP,
    AdaLNBlock,
    CrossAttentionBlock,
    SelfAttentionBlock,
    frame_causal_mask,
)
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
    history_frames: int = 1  # frames of context the world model reads (1: the last only)

    def idm_latent(self, x_t: Tensor, x_next: Tensor) -> Tensor:
        raise NotImplementedError

    def predict_next(self, x_t: Tensor, z: Tensor) -> Tensor:
        raise NotImplementedError

    def control(self, actions: Tensor, x_t: Tensor | None) -> Tensor:
        raise NotImplementedError

    def current_state(self, x_t: Tensor | None) -> Tensor:
        """``x_t`` for a controller that reads the frame it acts from (``needs_states``); a clear error without it."""
        if x_t is None:
            raise ConfigError("this model's controller needs the current state (needs_states=True)")
        return x_t

    # -- the model interface (lawm_eval/interfaces.py) -------------------------------------------
    @torch.no_grad()
    def infer(self, states: Tensor) -> Tensor:  # (B,T+1,16,32) -> (B,T,L)
        b, t1 = states.shape[:2]
        z = self.idm_latent(states[:, :-1].flatten(0, 1), states[:, 1:].flatten(0, 1))
        return z.view(b, t1 - 1, -1)

    def predict_window(self, frames: Tensor, latents: Tensor) -> Tensor:  # (B,K,16,32),(B,K,L) -> (B,K,16,32)
        raise NotImplementedError(f"{type(self).__name__} reads one frame (history_frames = 1)")

    def predict_from(self, frames: Tensor, latents: Tensor) -> Tensor:  # (B,K,16,32),(B,K,L) -> (B,16,32)
        """The state after ``frames[:, -1]``: K frames and the latent after each (the last the new one)."""
        if self.history_frames == 1:
            return self.predict_next(frames[:, -1], latents[:, -1])
        return self.predict_window(frames[:, -self.history_frames :], latents[:, -self.history_frames :])[:, -1]

    def window_latents(self, context: Tensor) -> tuple[Tensor, Tensor]:  # (B,Tc,16,32) -> (B,k,16,32),(B,k-1,L)
        """The last ``history_frames`` frames of a context and the IDM's latents between them."""
        frames = context[:, -self.history_frames :]
        if frames.shape[1] == 1:
            return frames, frames.new_zeros(len(frames), 0, self.latent_dim)
        return frames, self.infer(frames)

    @torch.no_grad()
    def step(self, context: Tensor, latent_actions: Tensor) -> Tensor:  # (B,Tc,16,32),(B,1,L) -> (B,1,16,32)
        if self.history_frames == 1:
            return self.predict_next(context[:, -1], latent_actions[:, 0])[:, None]
        frames, past = self.window_latents(context)
        return self.predict_from(frames, torch.cat([past, latent_actions[:, :1]], dim=1))[:, None]

    @torch.no_grad()
    def rollout(self, context: Tensor, latent_actions: Tensor) -> Tensor:  # (B,Tc,S),(B,H,L) -> (B,H,S)
        if self.history_frames == 1:
            return self.rollout_train(context[:, -1], latent_actions)
        return self.rollout_window(*self.window_latents(context), latent_actions)

    @torch.no_grad()
    def to_latent(self, actions: Tensor, states: Tensor | None) -> Tensor:  # (B,H,A),(B,H,S)|None -> (B,H,L)
        b, h = actions.shape[:2]
        flat_states = None if states is None else states.flatten(0, 1)
        return self.control(actions.flatten(0, 1).float(), flat_states).view(b, h, -1)

    def rollout_train(self, x0: Tensor, latents: Tensor) -> Tensor:
        """Differentiable rollout for training: (B,16,32), (B,H,L) -> (B,H,16,32)."""
        if self.history_frames > 1:
            return self.rollout_window(x0[:, None], latents[:, :0], latents)
        x, out = x0, []
        for t in range(latents.shape[1]):
            x = self.predict_next(x, latents[:, t])
            out.append(x)
        return torch.stack(out, dim=1)

    def rollout_window(self, frames: Tensor, past: Tensor, latents: Tensor) -> Tensor:
        """Roll out H latents from a window of k frames and the k-1 latents between them, each imagined
        frame joining the window: (B,k,16,32), (B,k-1,L), (B,H,L) -> (B,H,16,32)."""
        out = []
        for t in range(latents.shape[1]):
            past = torch.cat([past, latents[:, t : t + 1]], dim=1)  # (B,k,L): the latent after each frame
            x = self.predict_from(frames, past)
            out.append(x)
            frames = torch.cat([frames, x[:, None]], dim=1)[:, -self.history_frames :]
            past = past[:, past.shape[1] - frames.shape[1] + 1 :]
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
    """Next-state predictor conditioned by adaptive layer norm on a vector (the latent action). With
    ``frames`` F > 1 it also reads a window of up to F frames (``window``): attention across frames
    is frame-causal and each frame's tokens are modulated by the latent action that follows that
    frame (frame-wise AdaLN, Garrido et al. §4), so one teacher-forced pass predicts every next state.
    ``latent_attention`` L > 0 (CoLA-World §3.3, App. B.2): the window's sequence of latent embeddings first
    passes L causal self-attention blocks, zero-initialised so that they start as the identity."""

    def __init__(self, dim: int, cond_dim: int, depth: int = 2, frames: int = 1, latent_attention: int = 0):
        super().__init__()
        self.x_in = TokensIn(dim)
        self.cond = nn.Sequential(nn.Linear(cond_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.blocks = nn.ModuleList(AdaLNBlock(dim, dim) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, TOKEN_DIM))
        if frames < 1:
            raise ValueError(f"a predictor reads at least 1 frame, got {frames}")
        self.frames = frames
        if frames > 1:
            self.frame_pos = nn.Parameter(torch.randn(1, frames, 1, dim) * 0.02)  # the frame's place in the window
        if latent_attention and frames == 1:
            raise ValueError("attention over the latent-action sequence needs a window (frames > 1)")
        self.latent_blocks = nn.ModuleList(SelfAttentionBlock(dim) for _ in range(latent_attention))
        for block in self.latent_blocks:  # each residual branch starts at zero: the blocks begin as the identity
            for layer in (block.attn.out_proj, block.mlp[-1]):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x_t: Tensor, z: Tensor) -> Tensor:  # (B,16,32),(B,C) -> (B,16,32)
        if self.frames > 1:
            return self.window(x_t[:, None], z[:, None])[:, 0]
        h, c = self.x_in(x_t), self.cond(z)
        for block in self.blocks:
            h = block(h, c)
        return x_t + self.out(h)

    def window(self, frames: Tensor, z: Tensor) -> Tensor:  # (B,K,16,32),(B,K,C) -> (B,K,16,32), K ≤ F
        b, k, n = frames.shape[:3]
        if self.frames == 1 or k > self.frames:
            raise ValueError(f"a window of {k} frames; this predictor reads windows of at most {self.frames}, "
                             "and only when built with frames > 1")
        h = self.x_in(frames.flatten(0, 1)).view(b, k, n, -1) + self.frame_pos[:, :k]  # (B,K,16,d)
        c = self.cond(z)  # (B,K,d)
        for block in self.latent_blocks:  # each latent sees itself and the earlier ones
            c = block(c, frame_causal_mask(k, 1).to(frames.device))
        c = c[:, :, None].expand(-1, -1, n, -1).flatten(1, 2)  # (B,K·16,d): each frame its latent
        h, mask = h.flatten(1, 2), frame_causal_mask(k, n).to(frames.device)
        for block in self.blocks:
            h = block(h, c, mask)
        return frames + self.out(h).view_as(frames)


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
