"""A model is a bundle of the parts it has (encoder, IDM, world model, controller, decoder, policy).

Suites state which parts they need; ``ModelBundle.require`` fails early with a clear message.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lawm_eval.errors import CheckpointError, ConfigError, LawmEvalError, ModelError, first_line, one_line
from lawm_eval.inputs import ModelInputs
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


def protocol_methods(part: str) -> tuple[str, ...]:
    """The methods the protocol of ``part`` asks for, in their order of definition (step, rollout)."""
    methods = [name for name, value in vars(MODEL_PARTS[part]).items() if not name.startswith("_") and callable(value)]
    return tuple(sorted(methods, key=lambda m: m != "act"))  # a policy: act, reset


def near_miss(obj: Any, part: str) -> str | None:
    """'its MyWM has step but lacks rollout (a world_model needs step, rollout)' when ``obj`` has some
    but not all of the methods of ``part``'s protocol; None when it has all or none of them."""
    methods = protocol_methods(part)
    have = [m for m in methods if hasattr(obj, m)]
    lacks = [m for m in methods if not hasattr(obj, m)]
    if not have or not lacks:
        return None
    return (f"its {type(obj).__name__} has {', '.join(have)} but lacks {', '.join(lacks)} "
            f"(a {part} needs {', '.join(methods)})")


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
    inputs: ModelInputs = field(default_factory=ModelInputs)  # what the model consumes (lawm_eval/inputs.py)
    # part -> what an object returned for the model lacks to fill it (see ``near_miss``); ``require`` names it
    near_misses: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def parts(self) -> list[str]:
        return [name for name in MODEL_PARTS if getattr(self, name) is not None]

    def require(self, parts: list[str] | tuple[str, ...], suite: str) -> None:
        """Raise ModelError unless every named part is present and has the right methods."""
        missing = [p for p in parts if getattr(self, p, None) is None]
        near = [self.near_misses[p] for p in missing if p in self.near_misses]
        if near:  # an object meant to fill the part lacks a method: name exactly which
            others = [p for p in missing if p not in self.near_misses]
            also = f"; suite '{suite}' also needs {', '.join(others)}" if others else ""
            raise ModelError(f"model '{self.model_id}': {'; '.join(dict.fromkeys(near))}{also}")
        if missing:
            have = ", ".join(self.parts()) or "no parts"
            raise ModelError(
                f"suite '{suite}' needs {', '.join(missing)} but model '{self.model_id}' provides {have}"
            )
        for part in parts:
            protocol = MODEL_PARTS[part]
            obj = getattr(self, part)
            if not isinstance(obj, protocol):
                lacking = near_miss(obj, part)
                if lacking:
                    raise ModelError(f"model '{self.model_id}': {lacking}")
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
        unknown = set(obj) - set(MODEL_PARTS) - {"checkpoint", "checkpoint_sha256", "info", "inputs"}
        if unknown:
            raise ModelError(f"model '{model_id}' returned unknown parts: {', '.join(sorted(unknown))}")
        return ModelBundle(model_id=model_id, **obj)
    found = {part: obj for part, protocol in MODEL_PARTS.items() if isinstance(obj, protocol)}
    near = {part: lacking for part in MODEL_PARTS if part not in found and (lacking := near_miss(obj, part))}
    if not found:
        if near:  # e.g. a policy with act but no reset: say what is missing, not that nothing is there
            raise ModelError(f"model '{model_id}': {'; '.join(dict.fromkeys(near.values()))}")
        raise ModelError(
            f"model '{model_id}' returned a {type(obj).__name__} with none of the interface methods "
            f"({', '.join(sorted(set(PART_METHODS.values())))})"
        )
    return ModelBundle(model_id=model_id, **found, near_misses=near)


# -- model factories: a model config → a ModelBundle ------------------------------------------------
# Keys of a model config (configs/model/<name>.yaml) that describe the model; never factory arguments.
# keys of a model config that are not factory arguments; num_gpus: the GPUs of executor=ray's model server
MODEL_METADATA = ("name", "factory", "description", "parts", "extra", "bundled", "inputs", "num_gpus")


def package_in_cwd(package: str) -> Path | None:
    """The package (folder or single module) ``package`` in the current working directory, if any."""
    cwd = Path.cwd()
    for candidate in (cwd / package, cwd / f"{package}.py"):
        if candidate.is_dir() or candidate.is_file():
            return candidate
    return None


def import_factory(target: str) -> Any:
    """``import_target``, but a top-level package that is not installed and lies in the working
    directory is imported from there, as ``python -m`` would (the console script's own folder, not the
    working directory, heads its ``sys.path``)."""
    try:
        return import_target(target)
    except ModuleNotFoundError as exc:
        top = target.partition(":")[0].split(".")[0]
        cwd = os.getcwd()
        if exc.name != top or package_in_cwd(top) is None or cwd in sys.path:
            raise
        sys.path.insert(0, cwd)
        importlib.invalidate_caches()
        return import_target(target)


def resolve_factory(target: Any) -> Callable[..., Any]:
    """``package.module:attr`` (or a callable) → the callable; anything else is one ConfigError line."""
    factory = target
    if isinstance(target, str):
        try:
            factory = import_factory(target)
        except ModuleNotFoundError as exc:
            top = target.partition(":")[0].split(".")[0]
            hint = ""
            if exc.name == top:
                hint = (f" (install the package that holds it: pip install -e <package dir>, the folder with its "
                        f"pyproject.toml; or run from the folder that contains {top}/)")
            raise ConfigError(f"model.factory '{target}': module '{exc.name}' not found{hint}") from exc
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
            raise ConfigError(f"model '{name}' has no parameter(s) {', '.join(unknown)} "
                              f"(its factory {factory_name(factory)} takes: {', '.join(known) or 'none'})")
        needed = [p.name for p in accepted.values() if p.default is p.empty and p.name not in kwargs
                  and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if needed:
            settings = " ".join(f"+model.{p}=..." for p in needed)
            raise ConfigError(f"model '{name}': its factory {factory_name(factory)} needs {', '.join(needed)} "
                              f"(set {settings})")
    try:
        return factory(**kwargs)
    except LawmEvalError:
        raise  # already one line for the user (a checkpoint that cannot be read, a bad parameter)
    except Exception as exc:  # noqa: BLE001 - the factory is the user's code: name it and what it raised
        raise ModelError(f"model '{name}': its factory {factory_name(factory)} raised {one_line(exc)}"
                         f"{raised_at(exc)}") from exc


def factory_name(factory: Any) -> str:
    """``module:qualname`` of a factory (a function, a class, or a callable object)."""
    qualname = getattr(factory, "__qualname__", None) or type(factory).__qualname__
    module = getattr(factory, "__module__", None) or type(factory).__module__
    return f"{module}:{qualname}"


def raised_at(exc: BaseException) -> str:
    """' (at file:line)' of the innermost frame that raised ``exc``, relative to the working directory."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    frame = frames[-1]
    path = Path(frame.filename)
    try:
        path = path.resolve().relative_to(Path.cwd())
    except (OSError, ValueError):
        pass
    return f" (at {path}:{frame.lineno})"


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
    bundle.inputs = declared_inputs(model_config.get("inputs"), bundle.inputs, f"model '{name}'")
    if bundle.checkpoint and not bundle.checkpoint_sha256:
        if not Path(bundle.checkpoint).is_file():
            raise CheckpointError(f"model '{name}' names the checkpoint {bundle.checkpoint}, which is not a file")
        bundle.checkpoint_sha256 = file_sha256(bundle.checkpoint)
    return bundle


def declared_inputs(config: Any, factory: Any, where: str) -> ModelInputs:
    """The config file's ``inputs:`` with every entry the factory set on the bundle on top of it."""
    merged = dict(ModelInputs.from_value(config, where).to_dict())
    if isinstance(factory, ModelInputs):
        default = ModelInputs()
        merged.update({k: v for k, v in factory.to_dict().items() if v != default.to_dict()[k]})
    elif factory is not None:
        ModelInputs.from_value(factory, where)  # checks the keys and values it sets
        merged.update(dict(factory))  # only the entries the factory gave
    return ModelInputs.from_value(merged, where)


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
