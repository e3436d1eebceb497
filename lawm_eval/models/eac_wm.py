"""EAC-WM at tiny scale: LAC-WM's forward model conditioned on explicit actions, with one action
encoder per embodiment (here the Franka arm, 7-D, and the mobile base, 3-D), trained end to end on
both embodiments' data. It has no inverse dynamics model."""

from __future__ import annotations

import torch
from torch import nn

from lawm_eval.models.blocks import MLP
from lawm_eval.models.lac_wm import CrossConditionedFDM
from lawm_eval.models.lam_base import ActionNormalizer, LatentActionWorldModel

Tensor = torch.Tensor
EMBODIMENTS = {"franka": 7, "navigation": 3}


class EACWM(LatentActionWorldModel):
    has_idm = False

    def __init__(self, dim: int = 64, latent_dim: int = 16, depth: int = 2,
                 embodiments: dict[str, int] | None = None, embodiment: str = "franka", lora_rank: int = 0,
                 lora_layers: str = "mlp"):
        super().__init__()
        self.lora_layers = lora_layers
        embodiments = embodiments or EMBODIMENTS
        self.dim, self.latent_dim = dim, latent_dim
        self.fdm = CrossConditionedFDM(dim, latent_dim, depth)
        self.encoders = nn.ModuleDict({name: MLP(a, 2 * dim, latent_dim) for name, a in embodiments.items()})
        self.normalizers = nn.ModuleDict({name: ActionNormalizer(a) for name, a in embodiments.items()})
        self.embodiment = embodiment
        self.lora_rank = 0
        if lora_rank:
            self.enable_lora(lora_rank)

    def add_embodiment(self, name: str, action_dim: int) -> list[nn.Parameter]:
        """A new action encoder (EAC-WM's adaptation to an unseen embodiment); returns its parameters."""
        self.encoders[name] = MLP(action_dim, 2 * self.dim, self.latent_dim)
        self.normalizers[name] = ActionNormalizer(action_dim)
        return list(self.encoders[name].parameters())

    def enable_lora(self, rank: int = 2) -> list[nn.Parameter]:
        """Rank-``rank`` LoRA on the FDM's ``lora_layers`` (the rest of the FDM frozen)."""
        self.lora_rank = rank
        return self.fdm.add_lora(rank, self.lora_layers)

    def use(self, embodiment: str) -> EACWM:
        if embodiment not in self.encoders:
            from lawm_eval.errors import ConfigError

            raise ConfigError(f"EAC-WM has no action encoder for '{embodiment}' (has: {', '.join(self.encoders)})")
        self.embodiment = embodiment
        return self

    def encode_action(self, actions: Tensor, embodiment: str) -> Tensor:
        return self.encoders[embodiment](self.normalizers[embodiment](actions))

    def idm_latent(self, x_t: Tensor, x_next: Tensor) -> Tensor:
        raise NotImplementedError("EAC-WM conditions on real actions; it has no inverse dynamics model")

    def predict_next(self, x_t: Tensor, z: Tensor) -> Tensor:
        return self.fdm(x_t, z)

    def control(self, actions: Tensor, x_t: Tensor | None) -> Tensor:
        return self.encode_action(actions, self.embodiment)
