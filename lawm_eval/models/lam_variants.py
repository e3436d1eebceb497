"""A latent-action world model with three kinds of latent action, and a state-aware controller.

- ``sparse`` (Garrido et al. §3, eqs. for E(z) and VCM): continuous z with an L1 penalty, a hinge keeping
  each ‖z‖² ≥ √D, and variance–covariance–mean regularisation (each dim's std ≥ 1 hinge, off-diagonal
  covariance → 0, batch mean → 0); the terms come back separately, weighted by the training script.
- ``noisy``: z ~ N(μ, σ²) with a KL to N(0, I).
- ``discrete``: z = 2 tokens quantised with a ``codes``-entry codebook; unused codes are reset.
- ``none`` (unconstrained continuous z) and ``deterministic`` (z ≡ 0: the world model alone): the two ends
  of the capacity curve (the paper's Fig. 4), trained only by the capacity sweep.
- World model: transformer conditioned on z by adaptive layer norm; with ``history_frames`` K > 1 it
  reads the last K frames, frame-causally, each frame modulated by its own latent (Garrido et al. §4).
- Controller: self-attention over the previous state's tokens, cross-attention from the
  MLP-embedded real action → latent action (L2 to the IDM's latents); ``needs_states = True``.
"""

from __future__ import annotations

import torch

from lawm_eval.errors import ConfigError
from lawm_eval.models.blocks import VectorQuantizer
from lawm_eval.models.lam_base import (
    ActionNormalizer,
    AdaLNPredictor,
    LatentActionWorldModel,
    PairIDM,
    StateActionController,
    init_log_sigma,
)

Tensor = torch.Tensor
REGULARISERS = ("sparse", "noisy", "discrete", "none", "deterministic")


class RegularisedLAM(LatentActionWorldModel):
    needs_states = True

    def __init__(self, regulariser: str = "noisy", dim: int = 64, latent_dim: int = 16, action_dim: int = 7,
                 depth: int = 2, codes: int = 32, code_tokens: int = 2, history_frames: int = 1):
        super().__init__()
        if regulariser not in REGULARISERS:
            raise ConfigError(f"regulariser must be one of {', '.join(REGULARISERS)}")
        if history_frames < 1:
            raise ConfigError(f"history_frames must be ≥ 1, got {history_frames}")
        self.regulariser, self.latent_dim, self.history_frames = regulariser, latent_dim, history_frames
        out = 2 * latent_dim if regulariser == "noisy" else latent_dim
        self.idm = PairIDM(dim, out, depth)
        if regulariser == "noisy":
            init_log_sigma(self.idm.out, latent_dim)
        self.code_tokens = code_tokens
        self.vq = VectorQuantizer(codes, latent_dim // code_tokens) if regulariser == "discrete" else None
        self.world = AdaLNPredictor(dim, latent_dim, depth, frames=history_frames)
        self.normalizer = ActionNormalizer(action_dim)
        self.controller = StateActionController(dim, action_dim, latent_dim)

    def encode_pair(self, x_t: Tensor, x_next: Tensor,
                    generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """(z for the world model, the deterministic latent, regularisation terms)."""
        raw = self.idm(x_t, x_next)[:, 0]
        if self.regulariser == "noisy":
            mu, log_sigma = raw.chunk(2, dim=-1)
            log_sigma = log_sigma.clamp(-6, 2)
            kl = (0.5 * (mu.pow(2) + torch.exp(2 * log_sigma) - 1) - log_sigma).sum(-1).mean()
            if generator is None:
                return mu, mu, {"kl": kl}
            eps = torch.randn(mu.shape, generator=generator)
            return mu + torch.exp(log_sigma) * eps, mu, {"kl": kl}
        if self.regulariser == "discrete":
            tokens = raw.view(len(raw), self.code_tokens, -1)
            quantised, _, vq_loss = self.vq(tokens)
            return quantised.flatten(1), quantised.flatten(1), {"vq": vq_loss}
        if self.regulariser == "sparse":
            return raw, raw, sparse_terms(raw)
        if self.regulariser == "deterministic":
            return torch.zeros_like(raw), torch.zeros_like(raw), {}
        return raw, raw, {}

    def idm_latent(self, x_t: Tensor, x_next: Tensor) -> Tensor:
        return self.encode_pair(x_t, x_next)[1]

    def codes(self, x_t: Tensor, x_next: Tensor) -> Tensor:
        raw = self.idm(x_t, x_next)[:, 0].view(len(x_t), self.code_tokens, -1)
        return self.vq(raw)[1]

    def predict_next(self, x_t: Tensor, z: Tensor) -> Tensor:
        return self.world(x_t, z)

    def predict_window(self, frames: Tensor, latents: Tensor) -> Tensor:
        return self.world.window(frames, latents)

    def control(self, actions: Tensor, x_t: Tensor | None) -> Tensor:
        z = self.controller(self.normalizer(actions), self.current_state(x_t))
        if self.vq is not None:
            z = self.vq.lookup(z.view(len(z), self.code_tokens, -1)).flatten(1)
        return z


def sparse_terms(z: Tensor) -> dict[str, Tensor]:
    """Garrido et al.'s sparsity terms of a batch z (N, D), unweighted: E(z) = λ_l2·max(√D − ‖z‖², 0) +
    λ_l1·‖z‖₁ averaged over the batch, and VCM: the mean hinge on each dimension's std (≥ 1), the mean
    squared off-diagonal covariance (1/(D(D−1)) Σ_{i≠j}), and the mean of z over the batch, squared per
    dimension (the paper writes the plain mean, which is unbounded below once λ_l1 < λ_M / D)."""
    d = z.shape[1]
    std = z.std(0) + 1e-4
    centred = z - z.mean(0)
    cov = centred.T @ centred / (len(z) - 1)
    off = cov - torch.diag(torch.diag(cov))
    return {
        "l1": z.abs().sum(1).mean(),
        "norm_hinge": torch.relu(d ** 0.5 - z.pow(2).sum(1)).mean(),
        "variance": torch.relu(1 - std).mean(),
        "covariance": off.pow(2).sum() / (d * (d - 1)),
        "mean": z.mean(0).pow(2).mean(),
    }
