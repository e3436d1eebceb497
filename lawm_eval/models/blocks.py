"""Building blocks shared by the bundled models: attention blocks, AdaLN, vector quantisation, LoRA.

Token tensors are (B, N, D): batch, tokens, channels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

Tensor = torch.Tensor


class MLP(nn.Sequential):
    def __init__(self, dim_in: int, hidden: int, dim_out: int, layers: int = 2):
        modules: list[nn.Module] = []
        dims = [dim_in] + [hidden] * (layers - 1) + [dim_out]
        for i in range(layers):
            modules.append(nn.Linear(dims[i], dims[i + 1]))
            if i < layers - 1:
                modules.append(nn.GELU())
        super().__init__(*modules)


class SelfAttentionBlock(nn.Module):
    """Pre-norm self-attention + MLP; an optional boolean mask (N, N) with True = blocked."""

    def __init__(self, dim: int, heads: int = 4, mlp_ratio: int = 2):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = MLP(dim, dim * mlp_ratio, dim)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:  # (B,N,D) -> (B,N,D)
        h = self.norm1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class CrossAttentionBlock(nn.Module):
    """Queries (B,Nq,D) attend to a context (B,Nc,D); then an MLP."""

    def __init__(self, dim: int, heads: int = 4, mlp_ratio: int = 2):
        super().__init__()
        self.norm_q, self.norm_c, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = MLP(dim, dim * mlp_ratio, dim)

    def forward(self, queries: Tensor, context: Tensor) -> Tensor:
        c = self.norm_c(context)
        x = queries + self.attn(self.norm_q(queries), c, c, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class AdaLNBlock(nn.Module):
    """DiT-style block: LayerNorm scale/shift and residual gates computed from a condition vector, one
    per sample (B,C) or one per token (B,N,C) (frame-wise AdaLN); an optional boolean attention mask
    (N, N) with True = blocked."""

    def __init__(self, dim: int, cond_dim: int, heads: int = 4, mlp_ratio: int = 2):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = MLP(dim, dim * mlp_ratio, dim)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(cond_dim, 6 * dim))
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)

    def forward(self, x: Tensor, cond: Tensor, mask: Tensor | None = None) -> Tensor:  # (B,N,D), (B,C)|(B,N,C)
        modulation = self.modulation(cond)
        if modulation.dim() == 2:
            modulation = modulation.unsqueeze(1)  # one condition for all tokens
        shift1, scale1, gate1, shift2, scale2, gate2 = modulation.chunk(6, dim=-1)
        h = self.norm1(x) * (1 + scale1) + shift1
        x = x + gate1 * self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        h = self.norm2(x) * (1 + scale2) + shift2
        return x + gate2 * self.mlp(h)


class VectorQuantizer(nn.Module):
    """Nearest-code quantisation with the straight-through estimator (VQ-VAE losses), and a reset
    of codes that went unused, re-initialised from recent encoder outputs."""

    def __init__(self, codes: int, dim: int, beta: float = 0.25):
        super().__init__()
        self.codebook = nn.Embedding(codes, dim)
        nn.init.uniform_(self.codebook.weight, -1 / codes, 1 / codes)
        self.beta = beta
        self.register_buffer("usage", torch.zeros(codes))

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """z (..., D) -> quantised (..., D), indices (...), VQ loss (scalar)."""
        flat = z.reshape(-1, z.shape[-1])
        distances = torch.cdist(flat, self.codebook.weight)  # (M, K)
        indices = distances.argmin(dim=1)
        quantised = self.codebook(indices).view_as(z)
        loss = F.mse_loss(quantised, z.detach()) + self.beta * F.mse_loss(z, quantised.detach())
        if self.training:
            self.usage.mul_(0.99).index_add_(0, indices, torch.ones_like(indices, dtype=self.usage.dtype))
        return z + (quantised - z).detach(), indices.view(z.shape[:-1]), loss

    @torch.no_grad()
    def reset_dead_codes(self, recent: Tensor, generator: torch.Generator, threshold: float = 0.05) -> int:
        """Re-initialise codes whose running usage fell below ``threshold`` from ``recent`` (M,D)."""
        dead = (self.usage < threshold).nonzero().flatten()
        if len(dead) and len(recent):
            picks = torch.randint(0, len(recent), (len(dead),), generator=generator)
            self.codebook.weight[dead] = recent[picks].detach()
            self.usage[dead] = 1.0
        return len(dead)

    def lookup(self, z: Tensor) -> Tensor:
        """Snap continuous vectors (..., D) to their nearest codes (no gradient)."""
        indices = torch.cdist(z.reshape(-1, z.shape[-1]), self.codebook.weight).argmin(dim=1)
        return self.codebook(indices).view_as(z)


class LoRALinear(nn.Module):
    """A frozen linear layer plus a trainable rank-r update: W x + (α/r) B A x, B initialised to 0."""

    def __init__(self, base: nn.Linear, rank: int = 2, alpha: float = 2.0):
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.lora_a = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x: Tensor) -> Tensor:
        return self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * self.scale


def add_lora(module: nn.Module, rank: int = 2, names: tuple[str, ...] = ("mlp",)) -> list[nn.Parameter]:
    """Wrap the Linear layers inside sub-modules whose path contains one of ``names`` with LoRA;
    freeze everything else. Returns the LoRA parameters."""
    for p in module.parameters():
        p.requires_grad_(False)
    targets = [(path, m) for path, m in module.named_modules() if isinstance(m, nn.Linear)
               and any(n in path for n in names)]
    params: list[nn.Parameter] = []
    for path, linear in targets:
        parent = module.get_submodule(path.rsplit(".", 1)[0]) if "." in path else module
        lora = LoRALinear(linear, rank)
        setattr(parent, path.rsplit(".", 1)[-1], lora)
        params += [lora.lora_a, lora.lora_b]
    return params


def frame_causal_mask(frames: int, tokens: int) -> Tensor:
    """(F·N, F·N) boolean attention mask over F frames of N tokens each: True where a token would see
    a later frame (tokens of one frame see each other and every earlier frame)."""
    frame = torch.arange(frames).repeat_interleave(tokens)
    return frame[None, :] > frame[:, None]
