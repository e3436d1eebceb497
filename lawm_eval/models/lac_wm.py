"""LAC-WM at tiny scale: latent actions from video, grounded by a motion decoder, then connected
to real actions through a projector and a rank-2 LoRA fine-tuning.

- IDM: causal self-attention over the tokens of x_t then x_{t+1} (x_t's tokens cannot see
  x_{t+1}'s), then a learned query cross-attends to all of them → latent action z (L).
- FDM: self-attention on the x tokens, self-attention on z's tokens, cross-attention x → z;
  predicts x_{t+1} as a residual on x_t. ``history_frames`` F > 1 (``lac_wm_history``) adds causal
  temporal attention over the last F frames in every block (A.5).
- Motion decoder on motion labels (§3.1, A.2): the first half of z (as a query) attends to
  conv-downsampled x_t tokens → MLP → the end-effector motion; the second half → the camera motion.
- Loss λ_recon·MSE(x̂_{t+1}, x_{t+1}) + λ_motion·MSE(motion), with cross-augmentation: the IDM sees
  its pair under one random appearance change (A1), the FDM its pair under another (A2; the ``*_bfa``
  checkpoints were trained with A2 = identity).
- Action projector: 2-layer MLP real action → z. Three stages: (1) LAM on action-free pairs,
  (2) projector through the frozen FDM, (3) rank-2 LoRA on the FDM + projector, end to end.
"""

from __future__ import annotations

import torch
from torch import nn

from lawm_eval.models.blocks import MLP, CrossAttentionBlock, SelfAttentionBlock, add_lora, frame_causal_mask
from lawm_eval.models.lam_base import N_TOKENS, TOKEN_DIM, ActionNormalizer, LatentActionWorldModel, TokensIn

Tensor = torch.Tensor


class CausalPairIDM(nn.Module):
    def __init__(self, dim: int, latent_dim: int, depth: int = 2):
        super().__init__()
        self.tokens_in = TokensIn(dim, tokens=2 * N_TOKENS)
        self.blocks = nn.ModuleList(SelfAttentionBlock(dim) for _ in range(depth))
        self.query = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pool = CrossAttentionBlock(dim)
        self.out = nn.Linear(dim, latent_dim)
        self.register_buffer("mask", frame_causal_mask(2, N_TOKENS), persistent=False)  # x_t cannot see x_{t+1}

    def forward(self, x_t: Tensor, x_next: Tensor) -> Tensor:  # (B,16,32) x2 -> (B,L)
        h = self.tokens_in(torch.cat([x_t, x_next], dim=1))  # (B,32,d)
        for block in self.blocks:
            h = block(h, self.mask)
        return self.out(self.pool(self.query.expand(len(h), -1, -1), h)[:, 0])


# The FDM's layers that a LoRA adaptation wraps: "mlp" (the attention blocks' MLPs) or "linear" (every
# linear layer outside the attention: the MLPs, the token and latent input projections and the output head)
FDM_LORA_LAYERS = {"mlp": ("mlp",), "linear": ("mlp", "x_in", "z_in", "out.")}


class CrossConditionedFDM(nn.Module):
    """Self-attention on x, self-attention on z's tokens, cross-attention x → z. With ``frames`` F > 1
    each block also has causal temporal attention across up to F frames at each token position (A.5: the
    FDM's temporal attention), zero-initialised so that adding it leaves a trained FDM unchanged."""

    def __init__(self, dim: int, latent_dim: int, depth: int = 2, z_tokens: int = 2, frames: int = 1):
        super().__init__()
        self.x_in = TokensIn(dim)
        self.z_in = nn.Linear(latent_dim, z_tokens * dim)
        self.z_tokens, self.dim = z_tokens, dim
        self.x_self = nn.ModuleList(SelfAttentionBlock(dim) for _ in range(depth))
        self.z_self = nn.ModuleList(SelfAttentionBlock(dim) for _ in range(depth))
        self.x_cross = nn.ModuleList(CrossAttentionBlock(dim) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, TOKEN_DIM))
        if frames < 1:
            raise ValueError(f"an FDM reads at least 1 frame, got {frames}")
        self.frames = frames
        if frames > 1:
            self.frame_pos = nn.Parameter(torch.zeros(1, frames, 1, dim))
            self.temporal = nn.ModuleList(SelfAttentionBlock(dim) for _ in range(depth))
            for block in self.temporal:  # each block starts as the identity
                nn.init.zeros_(block.attn.out_proj.weight)
                nn.init.zeros_(block.attn.out_proj.bias)
                nn.init.zeros_(block.mlp[-1].weight)
                nn.init.zeros_(block.mlp[-1].bias)

    def temporal_parameters(self) -> list[nn.Parameter]:
        """The frame embedding and the temporal attention (none for a one-frame FDM)."""
        return [self.frame_pos, *self.temporal.parameters()] if self.frames > 1 else []

    def forward(self, x_t: Tensor, z: Tensor) -> Tensor:  # (B,16,32),(B,L) -> (B,16,32)
        if self.frames > 1:
            return self.window(x_t[:, None], z[:, None])[:, 0]
        h = self.x_in(x_t)
        zt = self.z_in(z).view(len(z), self.z_tokens, self.dim)
        for x_self, z_self, x_cross in zip(self.x_self, self.z_self, self.x_cross):
            h, zt = x_self(h), z_self(zt)
            h = x_cross(h, zt)
        return x_t + self.out(h)

    def window(self, frames: Tensor, z: Tensor) -> Tensor:  # (B,K,16,32),(B,K,L) -> (B,K,16,32), K ≤ F
        b, k, n = frames.shape[:3]
        if self.frames == 1 or k > self.frames:
            raise ValueError(f"a window of {k} frames; this FDM reads windows of at most {self.frames}, "
                             "and only when built with frames > 1")
        h = (self.x_in(frames.flatten(0, 1)).view(b, k, n, -1) + self.frame_pos[:, :k]).flatten(0, 1)  # (B·K,16,d)
        zt = self.z_in(z.flatten(0, 1)).view(b * k, self.z_tokens, self.dim)  # each frame its own latent
        mask = frame_causal_mask(k, 1).to(frames.device)
        for x_self, z_self, x_cross, temporal in zip(self.x_self, self.z_self, self.x_cross, self.temporal):
            h, zt = x_self(h), z_self(zt)
            h = x_cross(h, zt)
            across = h.view(b, k, n, -1).transpose(1, 2).flatten(0, 1)  # (B·16,K,d): one token over the frames
            h = temporal(across, mask).view(b, n, k, -1).transpose(1, 2).flatten(0, 1)
        return frames + self.out(h).view_as(frames)

    def add_lora(self, rank: int, layers: str = "mlp") -> list[nn.Parameter]:
        """Rank-``rank`` LoRA on the ``layers`` of ``FDM_LORA_LAYERS`` (the rest of the FDM frozen)."""
        return add_lora(self, rank, names=FDM_LORA_LAYERS[layers])


class LabelMotionDecoder(nn.Module):
    """LAC-WM's motion decoder on motion labels (§3.1, A.2): the first half of z decodes the end-effector
    motion, the second half the camera motion, each half a query attending to x_t's (downsampled) tokens."""

    def __init__(self, dim: int, latent_dim: int, per_half: int = 3):
        super().__init__()
        self.half = latent_dim // 2
        self.down = nn.Conv2d(TOKEN_DIM, dim, 2, stride=2)  # 4×4 grid -> 2×2
        self.queries = nn.ModuleList(nn.Linear(self.half, dim) for _ in range(2))
        self.attend = nn.ModuleList(CrossAttentionBlock(dim) for _ in range(2))
        self.heads = nn.ModuleList(MLP(dim, 2 * dim, per_half) for _ in range(2))

    def forward(self, x_t: Tensor, z: Tensor) -> Tensor:  # (B,16,32),(B,L) -> (B, 2·per_half)
        grid = x_t.transpose(1, 2).reshape(len(x_t), TOKEN_DIM, 4, 4)
        tokens = self.down(grid).flatten(2).transpose(1, 2)  # (B,4,d)
        halves = (z[:, :self.half], z[:, self.half:2 * self.half])
        out = [head(attend(query(h)[:, None], tokens)[:, 0])
               for h, query, attend, head in zip(halves, self.queries, self.attend, self.heads)]
        return torch.cat(out, dim=-1)


class LACWM(LatentActionWorldModel):
    def __init__(self, dim: int = 64, latent_dim: int = 16, action_dim: int = 7, depth: int = 2, lora_rank: int = 0,
                 idm_lora_rank: int = 0, motion_labels: bool = True, lora_layers: str = "mlp",
                 history_frames: int = 1):
        super().__init__()
        self.lora_layers = lora_layers
        self.latent_dim, self.history_frames = latent_dim, history_frames
        self.idm = CausalPairIDM(dim, latent_dim, depth)
        self.fdm = CrossConditionedFDM(dim, latent_dim, depth, frames=history_frames)
        if not motion_labels:  # the decoder of the pooled token motion is gone: those checkpoints must be retrained
            raise ValueError("LACWM(motion_labels=False): the pooled-motion decoder was removed; retrain the "
                             "checkpoint (python -m lawm_eval.models.train lac_wm)")
        self.motion_labels = motion_labels
        self.motion = LabelMotionDecoder(dim, latent_dim)
        self.normalizer = ActionNormalizer(action_dim)
        self.projector = MLP(action_dim, 2 * dim, latent_dim)
        self.lora_rank = self.idm_lora_rank = 0
        if lora_rank:
            self.enable_lora(lora_rank)
        if idm_lora_rank:
            self.enable_idm_lora(idm_lora_rank)

    def enable_lora(self, rank: int = 2) -> list[nn.Parameter]:
        """Rank-``rank`` LoRA on the FDM's ``lora_layers`` (the rest of the FDM frozen)."""
        self.lora_rank = rank
        return self.fdm.add_lora(rank, self.lora_layers)

    def enable_idm_lora(self, rank: int = 2) -> list[nn.Parameter]:
        """Rank-``rank`` LoRA on the IDM's MLPs (LAC-WM §3.2 stage 1 of the adaptation to a new embodiment)."""
        self.idm_lora_rank = rank
        return add_lora(self.idm, rank, names=("mlp",))

    def idm_latent(self, x_t: Tensor, x_next: Tensor) -> Tensor:
        return self.idm(x_t, x_next)

    def predict_next(self, x_t: Tensor, z: Tensor) -> Tensor:
        return self.fdm(x_t, z)

    def predict_window(self, frames: Tensor, latents: Tensor) -> Tensor:
        return self.fdm.window(frames, latents)

    def control(self, actions: Tensor, x_t: Tensor | None) -> Tensor:
        return self.projector(self.normalizer(actions))
