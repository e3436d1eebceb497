"""Several world models planned with as one: ``model=ensemble model.members=[lam_noisy,lam_noisy_history]``.

Each member keeps its own encoder, controller and world model, and predicts the real actions' outcome
the way it would alone (``rollout_actions``: step by step when its controller reads the state, one
``rollout`` otherwise). The ensemble's state stacks the members' states on a new axis, (K, *S); its
controller passes the real actions through. So a planning cost that averages over the state (jepa-wms'
L2 and L1, ``droid_planning`` v2/v3) is the mean of the members' own costs; with members that share
an encoder (the bundled Franka models), the L2 one is the squared error of their mean prediction plus
their spread, and a candidate only scores well where the members agree that it reaches the goal (the
PETS argument: Chua et al. 2018, §4). A cost that is a norm over the state (``droid_planning`` v1,
``recon_planning``'s latent L2) becomes √K × the RMS of the members' norms.

Members must read the same inputs and encode to states of the same shape. The ensemble fills the
encoder, world model and controller parts only: it plans; it has no LAM or decoder."""

from __future__ import annotations

import hashlib
from typing import Any

import torch

from lawm_eval.bundle import ModelBundle, make_bundle
from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.rollouts import rollout_actions

Tensor = torch.Tensor


class EnsembleModel:
    """Encoder, world model and controller of K member bundles over stacked states (B, T, K, *S)."""

    needs_states = False  # the controller passes actions through; each member reads its states in rollout

    def __init__(self, members: list[Any], names: list[str]) -> None:
        self.members, self.names = members, names

    @torch.no_grad()
    def encode(self, observations: Tensor) -> Tensor:  # (B, T, …) -> (B, T, K, *S)
        encoded = [m.encoder.encode(observations) for m in self.members]
        shapes = [tuple(x.shape) for x in encoded]
        if len(set(shapes)) > 1:
            listed = ", ".join(f"{name} {shape}" for name, shape in zip(self.names, shapes))
            raise ModelError(f"model 'ensemble': its members encode to different shapes ({listed}); they must agree")
        return torch.stack(encoded, dim=2)

    def to_latent(self, actions: Tensor, states: Tensor | None) -> Tensor:  # (B, H, A) -> (B, H, A)
        """The real actions themselves: each member maps them with its own controller in ``rollout``."""
        return actions

    @torch.no_grad()
    def rollout(self, context: Tensor, actions: Tensor) -> Tensor:  # (B, Tc, K, *S), (B, H, A) -> (B, H, K, *S)
        return torch.stack([rollout_actions(m.world_model, m.controller, context[:, :, k], actions)
                            for k, m in enumerate(self.members)], dim=2)

    def step(self, context: Tensor, actions: Tensor) -> Tensor:  # (B, Tc, K, *S), (B, 1, A) -> (B, 1, K, *S)
        return self.rollout(context, actions[:, :1])


def names_list(value: Any, key: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"model.{key}={value!r}: a list, e.g. model.{key}=[a,b]")
    return list(value)


def member_record(bundle: ModelBundle) -> dict[str, Any]:
    """What a record keeps of one member: its name, checkpoint, hash and its own provenance."""
    return {"model": bundle.model_id, "checkpoint": bundle.checkpoint, "checkpoint_sha256": bundle.checkpoint_sha256,
            **bundle.info}


def ensemble(suite: Any = None, members: list[str] | None = None,
             checkpoints: list[str | None] | None = None) -> ModelBundle:
    """The bundle planning with every model in ``members`` at once (each any model with a config file,
    an encoder, a controller and a world model); ``checkpoints[k]`` (null: the member's default) loads
    another checkpoint of member k, e.g. a second training seed of the same model."""
    from lawm_eval.models.specs import model_spec

    names = [str(name) for name in names_list(members or [], "members")]
    if len(names) < 2:
        raise ConfigError(f"model.members={names!r}: an ensemble needs at least 2 members")
    paths = names_list(checkpoints, "checkpoints") if checkpoints is not None else [None] * len(names)
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
    hashes = "".join(b.checkpoint_sha256 or "-" for b in bundles)  # the members' checkpoints, in order
    origins = list(dict.fromkeys(str(b.info.get("provenance", b.model_id)) for b in bundles))
    return ModelBundle("ensemble", encoder=model, world_model=model, controller=model, inputs=bundles[0].inputs,
                       checkpoint_sha256=hashlib.sha256(hashes.encode()).hexdigest(),
                       info={"members": [member_record(b) for b in bundles],
                             "provenance": f"mean planning cost over {', '.join(names)}; members: {' | '.join(origins)}"})
