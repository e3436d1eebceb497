"""A model is a bundle of the parts it has (encoder, IDM, world model, controller, decoder, policy).

Suites state which parts they need; ``ModelBundle.require`` fails early with a clear message.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lawm_eval.errors import CheckpointError, ConfigError, LawmEvalError, ModelError, first_line
from lawm_eval.interfaces import MODEL_PARTS
from lawm_eval.registry import import_target
from lawm_eval.util.hashing import file_sha256

PART_METHODS = {
    "encoder": "encode",
    "lam": "infer",
    "world_model": "rollout",
    "controller": "to_latent",
    "decoder": "decode",
    "policy": "act",
    "sampler": "sample",
}


@dataclass
class ModelBundle:
    """The parts of one model. Any part may be None; one object may fill several parts."""

    model_id: str
    encoder: Any = None
    lam: Any = None
    world_model: Any = None
    controller: Any = None
    decoder: Any = None
    policy: Any = None
    sampler: Any = None
    checkpoint: str | None = None
    checkpoint_sha256: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def parts(self) -> list[str]:
        return [name for name in MODEL_PARTS if getattr(self, name) is not None]

    def require(self, parts: list[str] | tuple[str, ...], suite: str) -> None:
        """Raise ModelError unless every named part is present and has the right methods."""
        missing = [p for p in parts if getattr(self, p, None) is None]
        if missing:
            have = ", ".join(self.parts()) or "no parts"
            raise ModelError(
                f"suite '{suite}' needs {', '.join(missing)} but model '{self.model_id}' provides {have}"
            )
        for part in parts:
            protocol = MODEL_PARTS[part]
            if not isinstance(getattr(self, part), protocol):
                raise ModelError(
                    f"model '{self.model_id}': its {part} does not implement {protocol.__name__} "
                    f"(see lawm_eval/interfaces.py)"
                )


def as_bundle(obj: Any, model_id: str) -> ModelBundle:
    """Wrap whatever a model factory returned: a ModelBundle, a dict of parts, or one object
    whose methods (encode, infer, rollout+step, to_latent, decode, act, sample) fill the parts."""
    if isinstance(obj, ModelBundle):
        return obj
    if isinstance(obj, dict):
        unknown = set(obj) - set(MODEL_PARTS) - {"checkpoint", "checkpoint_sha256", "info"}
        if unknown:
            raise ModelError(f"model '{model_id}' returned unknown parts: {', '.join(sorted(unknown))}")
        return ModelBundle(model_id=model_id, **obj)
    found = {part: obj for part, protocol in MODEL_PARTS.items() if isinstance(obj, protocol)}
    if not found:
        raise ModelError(
            f"model '{model_id}' returned a {type(obj).__name__} with none of the interface methods "
            f"({', '.join(sorted(set(PART_METHODS.values())))})"
        )
    return ModelBundle(model_id=model_id, **found)


# -- model factories: a model config → a ModelBundle ------------------------------------------------
# Keys of a model config (configs/model/<name>.yaml) that describe the model; never factory arguments.
MODEL_METADATA = ("name", "factory", "description", "parts", "extra", "bundled")


def resolve_factory(target: Any) -> Callable[..., Any]:
    """``package.module:attr`` (or a callable) → the callable; anything else is one ConfigError line."""
    factory = target
    if isinstance(target, str):
        try:
            factory = import_target(target)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"model.factory '{target}': module '{exc.name}' not found") from exc
        except LawmEvalError as exc:
            raise ConfigError(f"model.factory '{target}': {exc}") from exc
    if not callable(factory):
        raise ConfigError(f"model.factory '{target}' is a {type(factory).__name__}, not a callable factory")
    return factory


def call_factory(factory: Callable[..., Any], params: Mapping[str, Any], *, name: str, suite: Any = None) -> Any:
    """``factory(**params)``, adding ``suite=`` when the factory takes it (or ``**kwargs``) and
    ``name=`` (the model's name) when it has a parameter of that name."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    kwargs = dict(params)
    if signature is not None:
        accepted = signature.parameters
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
        if "suite" in accepted or accepts_any:
            kwargs["suite"] = suite
        if "name" in accepted:
            kwargs["name"] = name
        unknown = [k for k in params if k not in accepted and not accepts_any]
        if unknown:
            known = [p for p in accepted if p not in ("suite", "name")]
            where = f"{getattr(factory, '__module__', '?')}:{getattr(factory, '__qualname__', factory)}"
            raise ConfigError(f"model '{name}' has no parameter(s) {', '.join(unknown)} "
                              f"(its factory {where} takes: {', '.join(known) or 'none'})")
    return factory(**kwargs)


def make_bundle(model_config: Mapping[str, Any], suite: Any = None, factory: Any = None) -> ModelBundle:
    """The ModelBundle a model config describes: its ``factory`` (or ``factory``, for models
    registered without a config file) called with every key that is not in ``MODEL_METADATA``."""
    name = str(model_config["name"])
    factory = factory if factory is not None else model_config.get("factory")
    if factory is None:
        raise ConfigError(f"model '{name}' names no factory (set model.factory=package.module:callable)")
    factory = resolve_factory(factory)
    params = {k: v for k, v in model_config.items() if k not in MODEL_METADATA}
    bundle = as_bundle(call_factory(factory, params, name=name, suite=suite), name)
    if bundle.checkpoint and not bundle.checkpoint_sha256:
        bundle.checkpoint_sha256 = file_sha256(bundle.checkpoint)
    return bundle


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; any failure is one clear CheckpointError."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - every reason a file cannot be read is the user's to fix
        raise CheckpointError(f"cannot load checkpoint {path}: {first_line(exc)}") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(state).__name__}, expected a dict")
    return state
