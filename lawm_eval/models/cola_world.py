"""CoLA-World at tiny scale, and its two-stage baseline.

- IDM: a spatio-temporal transformer over the two frames' tokens (spatial attention within each
  frame, temporal attention across the two frames at each position), then 2 learned queries → 2
  latent tokens, each quantised with one 32-entry codebook (VQ, straight-through, dead-code reset).
- World model: transformer conditioned by adaptive layer norm on the 2 quantised tokens; with
  ``history_frames`` K > 1 (``cola_world_history``) it reads the last K frames with frame-causal attention,
  each frame modulated by the latent that follows it (the paper's OpenSora has causal temporal attention
  over the clip, App. B.2), the latents between context frames coming from the IDM; ``latent_attention`` L > 0
  adds the paper's self-attention over the latent-action sequence before the AdaLN modulation (§3.3, B.2:
  6 zero-initialised blocks), an option measured once in docs/models.md, not in the bundled checkpoints.
- Training (scripts in models/train/cola_world.py): the two-stage baseline trains the LAM (with a
  light decoder) and then a world model on its frozen latents; CoLA-World starts from that world
  model, warms a fresh LAM up against it with the world model frozen, then trains both jointly.
- Adapter: 2-layer MLP real action → the 2 latent tokens, either regressed (L2) and snapped to the
  nearest codes (``adapter="regress"``, the Franka checkpoints) or, as the paper adapts to a downstream
  domain (App. B: the adapter predicts the GT-LAM code indices), a classifier over each token's codes
  whose most likely code is looked up (``adapter="classify"``, the RoboDesk checkpoints).
- ``bottleneck="vae"`` (``cola_world_vae``, ``cola_two_stage_vae``): the paper's continuous variant (App. D.5,
  Table 6: "a continuous VAE bottleneck (similar to AdaWorld)", a minimum KL of 10 nats; ``KL_WEIGHT``): each latent token is z ~ N(μ, σ²) from the IDM instead of a code; the world model reads the
  sample in training and μ otherwise; the adapter regresses μ (the paper does not say how it adapts the
  continuous variant) and is not snapped.
"""

from __future__ import annotations

import torch
from torch import nn

from lawm_eval.models.blocks import MLP, CrossAttentionBlock, SelfAttentionBlock, VectorQuantizer
from lawm_eval.models.lam_base import (
    ActionNormalizer,
    AdaLNPredictor,
    LatentActionWorldModel,
    TokensIn,
    init_log_sigma,
)

Tensor = torch.Tensor
BOTTLENECKS = ("vq", "vae")
# App. D.5: a minimum KL of 10 nats (per transition here) and a KL weight of 1e-3 against OpenSora's flow-matching
# loss; against our ~5e-3 token MSE, 1e-3 and 1e-4 collapse the posterior (held-out latent std 0.0007-0.0009, the
# IDM's latents predicting no better than none), so the weight is LaWM's β for the same MSE (train/lawm.py)
KL_WEIGHT, KL_MIN = 1e-5, 10.0


class STTransformerIDM(nn.Module):
    def __init__(self, dim: int, code_dim: int, depth: int = 2, latent_tokens: int = 2, standardise: bool = False):
        super().__init__()
        # ours (``standardise``): the outputs standardised over the batch (running statistics at
        # evaluation) before quantisation; at init every transition maps to nearly the same vector
        # (spread 0.03 against magnitude 0.2), which collapses an un-reset codebook to one code
        self.standardise = nn.BatchNorm1d(code_dim, affine=False) if standardise else None
        self.tokens_in = TokensIn(dim)
        self.time = nn.Parameter(torch.randn(1, 2, 1, dim) * 0.02)
        self.spatial = nn.ModuleList(SelfAttentionBlock(dim) for _ in range(depth))
        self.temporal = nn.ModuleList(SelfAttentionBlock(dim) for _ in range(depth))
        self.queries = nn.Parameter(torch.randn(1, latent_tokens, dim) * 0.02)
        self.pool = CrossAttentionBlock(dim)
        self.out = nn.Linear(dim, code_dim)

    def forward(self, x_t: Tensor, x_next: Tensor) -> Tensor:  # -> (B, latent_tokens, code_dim)
        b, n = x_t.shape[:2]
        h = torch.stack([self.tokens_in(x_t), self.tokens_in(x_next)], dim=1) + self.time  # (B,2,N,d)
        for spatial, temporal in zip(self.spatial, self.temporal):
            h = spatial(h.flatten(0, 1)).view(b, 2, n, -1)
            h = temporal(h.transpose(1, 2).flatten(0, 1)).view(b, n, 2, -1).transpose(1, 2)
        out = self.out(self.pool(self.queries.expand(b, -1, -1), h.flatten(1, 2)))
        if self.standardise is not None:
            out = self.standardise(out.flatten(0, 1)).view_as(out)
        return out


class CoLAWorld(LatentActionWorldModel):
    def __init__(self, dim: int = 64, code_dim: int = 16, codes: int = 32, latent_tokens: int = 2,
                 action_dim: int = 7, depth: int = 2, decoder_depth: int = 2, snap_adapter: bool = True,
                 adapter: str = "regress", standardise: bool = False, history_frames: int = 1,
                 bottleneck: str = "vq", latent_attention: int = 0):
        super().__init__()
        if adapter not in ("regress", "classify"):
            raise ValueError(f"adapter must be 'regress' or 'classify', got {adapter!r}")
        if bottleneck not in BOTTLENECKS:
            raise ValueError(f"bottleneck must be 'vq' or 'vae', got {bottleneck!r}")
        if bottleneck == "vae" and adapter == "classify":
            raise ValueError("a continuous latent (bottleneck='vae') has no codes to classify: use adapter='regress'")
        if history_frames < 1:
            raise ValueError(f"history_frames must be ≥ 1, got {history_frames}")
        self.history_frames = history_frames
        self.codes_per_token = codes
        self.latent_tokens, self.code_dim = latent_tokens, code_dim
        self.latent_dim = latent_tokens * code_dim
        vae = bottleneck == "vae"
        self.idm = STTransformerIDM(dim, 2 * code_dim if vae else code_dim, depth, latent_tokens, standardise)
        if vae:
            init_log_sigma(self.idm.out, code_dim)
        self.vq = None if vae else VectorQuantizer(codes, code_dim)
        self.world = AdaLNPredictor(dim, self.latent_dim, decoder_depth, frames=history_frames,
                                    latent_attention=latent_attention)
        self.normalizer = ActionNormalizer(action_dim)
        self.adapter_kind = adapter
        self.adapter = MLP(action_dim, 2 * dim, latent_tokens * codes if adapter == "classify" else self.latent_dim)
        self.snap_adapter = snap_adapter and not vae

    def quantised_latent(self, x_t: Tensor, x_next: Tensor,
                         generator: torch.Generator | None = None) -> tuple[Tensor, Tensor | None, Tensor]:
        """(B,L) latent for the world model, (B,tokens) code indices (None for the VAE), and the
        bottleneck's loss: VQ + commitment, or the VAE's weighted KL held at ≥ ``KL_MIN`` nats. The VAE
        samples z with ``generator`` and returns μ without one."""
        out = self.idm(x_t, x_next)  # (B, tokens, code_dim) or (B, tokens, 2·code_dim)
        if self.vq is not None:
            z, indices, vq_loss = self.vq(out)
            return z.flatten(1), indices, vq_loss
        mu, log_sigma = out.chunk(2, dim=-1)  # (B, tokens, code_dim) each
        log_sigma = log_sigma.clamp(-6, 2)
        kl = (0.5 * (mu.pow(2) + torch.exp(2 * log_sigma) - 1) - log_sigma).sum((1, 2)).mean()
        z = mu if generator is None else mu + torch.exp(log_sigma) * torch.randn(mu.shape, generator=generator)
        return z.flatten(1), None, KL_WEIGHT * torch.clamp(kl, min=KL_MIN)

    def idm_latent(self, x_t: Tensor, x_next: Tensor) -> Tensor:
        return self.quantised_latent(x_t, x_next)[0]

    def codes(self, x_t: Tensor, x_next: Tensor) -> Tensor:
        """Code indices (B, tokens) of the transitions, for codebook statistics."""
        if self.vq is None:
            raise ValueError("a continuous latent (bottleneck='vae') has no codes")
        return self.quantised_latent(x_t, x_next)[1]

    def predict_next(self, x_t: Tensor, z: Tensor) -> Tensor:
        return self.world(x_t, z)

    def predict_window(self, frames: Tensor, latents: Tensor) -> Tensor:  # (B,K,16,32),(B,K,L) -> (B,K,16,32)
        return self.world.window(frames, latents)

    def adapter_logits(self, actions: Tensor) -> Tensor:  # (B, A) -> (B, tokens, codes)
        return self.adapter(self.normalizer(actions)).view(len(actions), self.latent_tokens, self.codes_per_token)

    def control(self, actions: Tensor, x_t: Tensor | None) -> Tensor:
        if self.adapter_kind == "classify":
            return self.vq.codebook(self.adapter_logits(actions).argmax(-1)).flatten(1)  # (B, L)
        z = self.adapter(self.normalizer(actions))
        if self.snap_adapter:
            z = self.vq.lookup(z.view(len(z), self.latent_tokens, self.code_dim)).flatten(1)
        return z
