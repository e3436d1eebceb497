"""Several world models planned with as one: ``model=ensemble model.members=[lam_noisy,lam_noisy_history]``.

Each member keeps its own encoder, controller and world model. The ensemble's state stacks the
members' states on a new axis, (K, *S); its latent action concatenates the members' latents. So a
planning cost that averages over the state (jepa-wms' L2, ``MeanSquaredGoalObjective``) is the mean of
the members' own costs: (1/K) Σ_k mean((g_k − ŝ_k)²) = the squared error of the members' mean
prediction plus their spread. A candidate only scores well when the members agree that it reaches the
goal, so the search cannot exploit one member's errors (the PETS argument: Chua et al. 2018,
"Deep Reinforcement Learning in a Handful of Trials using Probabilistic Dynamics Models", §4).

Members must read the same frames (same ``inputs``) and have states of the same shape. The ensemble
fills the encoder, world model and controller parts only: it plans; it has no LAM or decoder."""

from __future__ import annotations

from typing import Any

import torch

from lawm_eval.errors import ConfigError, ModelError

Tensor = torch.Tensor


class EnsembleModel:
    """Encoder, world model and controller of K member bundles over stacked states (B, T, K, *S)."""

    def __init__(self, members: list[Any], names: list[str]):
        self.members, self.names = members, names
        self.needs_states = any(getattr(m.controller, "needs_states", False) for m in members)
        self.latent_sizes: list[int] | None = None  # each member's latent width, known after to_latent

    def member_states(self, states: Tensor, k: int) -> Tensor:  # (B, T, K, *S) -> (B, T, *S)
        return states[:, :, k]

    @torch.no_grad()
    def encode(self, observations: Tensor) -> Tensor:  # (B, T, …) -> (B, T, K, *S)
        encoded = [m.encoder.encode(observations) for m in self.members]
        shapes = {tuple(x.shape) for x in encoded}
        if len(shapes) > 1:
            raise ModelError(f"model 'ensemble': its members' states differ in shape ({', '.join(f'{n} {tuple(x.shape)}' for n, x in zip(self.names, encoded))}); "
                             "members must encode frames to the same shape")
        return torch.stack(encoded, dim=2)

    @torch.no_grad()
    def to_latent(self, actions: Tensor, states: Tensor | None) -> Tensor:  # (B,H,A),(B,H,K,*S)|None -> (B,H,ΣL)
        latents = [m.controller.to_latent(actions, None if states is None else self.member_states(states, k))
                   for k, m in enumerate(self.members)]
        self.latent_sizes = [z.shape[-1] for z in latents]
        return torch.cat(latents, dim=-1)

    def split(self, latents: Tensor) -> tuple[Tensor, ...]:  # (B, H, ΣL) -> K × (B, H, L_k)
        if self.latent_sizes is None or sum(self.latent_sizes) != latents.shape[-1]:
            raise ModelError("model 'ensemble': its world model takes the latents its own controller made "
                             f"(width {sum(self.latent_sizes or [0])}), got width {latents.shape[-1]}")
        return torch.split(latents, self.latent_sizes, dim=-1)

    @torch.no_grad()
    def rollout(self, context: Tensor, latent_actions: Tensor) -> Tensor:  # (B,Tc,K,*S),(B,H,ΣL) -> (B,H,K,*S)
        return torch.stack([m.world_model.rollout(self.member_states(context, k), z)
                            for k, (m, z) in enumerate(zip(self.members, self.split(latent_actions)))], dim=2)

    @torch.no_grad()
    def step(self, context: Tensor, latent_actions: Tensor) -> Tensor:  # (B,Tc,K,*S),(B,1,ΣL) -> (B,1,K,*S)
        return torch.stack([m.world_model.step(self.member_states(context, k), z)
                            for k, (m, z) in enumerate(zip(self.members, self.split(latent_actions)))], dim=2)


def ensemble(suite: Any = None, members: list[str] | None = None, checkpoints: list[str | None] | None = None):
    """The bundle planning with every model in ``members`` at once (each any model with a config file,
    an encoder, a controller and a world model); ``checkpoints[k]`` (null: the member's default) loads
    another checkpoint of member k, e.g. a second training seed of the same model."""
    from lawm_eval.bundle import ModelBundle, make_bundle
    from lawm_eval.models.specs import model_spec

    names = [str(name) for name in (members or [])]
    if len(names) < 2:
        raise ConfigError(f"model.members={names!r}: an ensemble needs at least 2 members")
    paths = list(checkpoints) if checkpoints else [None] * len(names)
    if len(paths) != len(names):
        raise ConfigError(f"model.checkpoints has {len(paths)} entries for {len(names)} members "
                          "(one per member; null for a member's default checkpoint)")
    bundles = []
    for name, path in zip(names, paths):
        config = dict(model_spec(name).config)
        if path:
            config["checkpoint"] = str(path)
        bundle = make_bundle(config, suite)
        missing = [part for part in ("encoder", "world_model", "controller") if getattr(bundle, part) is None]
        if missing:
            raise ConfigError(f"model.members: '{name}' has no {', '.join(missing)} (an ensemble member plans)")
        bundles.append(bundle)
    first = bundles[0].inputs.to_dict()
    for bundle in bundles[1:]:
        other = bundle.inputs.to_dict()
        differ = [f"{key} {first[key]!r} vs {other[key]!r}" for key in first if first[key] != other[key]]
        if differ:
            raise ConfigError(f"model.members: '{bundle.model_id}' reads other inputs than '{bundles[0].model_id}' "
                              f"({'; '.join(differ)}); members must read the same frames and actions")
    model = EnsembleModel(bundles, names)
    described = [{"model": b.model_id, "checkpoint": b.checkpoint, "checkpoint_sha256": b.checkpoint_sha256}
                 for b in bundles]
    return ModelBundle("ensemble", encoder=model, world_model=model, controller=model, inputs=bundles[0].inputs,
                       info={"members": described,
                             "provenance": "mean planning cost over " + ", ".join(names)})
