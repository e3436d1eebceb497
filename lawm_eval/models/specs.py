"""Every model's single source of truth: its config file ``configs/model/<name>.yaml``.

    name: lac_wm
    factory: lawm_eval.models.zoo:build_bundled      # module:attr, called to build the ModelBundle
    description: LAC-WM (tiny; ...)                   # what `lawm-eval ls models` shows
    parts: [encoder, lam, world_model, controller, decoder]
    extra: null                                       # the pip extra the factory needs, if any
    bundled:                                          # only for the checkpoints in baselines/<name>/
      network: lawm_eval.models.lac_wm:LACWM          #   the network class the checkpoint rebuilds
      trained_on: franka                              #   the generated training data
      script: lawm_eval.models.train.lac_wm           #   the training script (its main())
      autoencoder: visual_ae                          #   optional: the frozen encoder/decoder it reads
    inputs: {observation: image, image_size: [64, 64], resize: center_crop, action_dim: 7}
                                                      # what it reads (lawm_eval/inputs.py ModelInputs)
    checkpoint: null                                  # every other key: a keyword argument of the factory

The keys in ``lawm_eval.bundle.MODEL_METADATA`` (name, factory, description, parts, extra, bundled, inputs)
describe the model and are never passed to the factory (``bundle.make_bundle``); every other key
is one of the factory's keyword arguments (``model.<key>=v`` changes one, ``+model.<key>=v`` adds
one). The model registry (``lawm_eval.catalog``), ``lawm-eval ls models``, the bundled factory
(``lawm_eval.models.zoo``) and the training order (``python -m lawm_eval.models.train``) are all
derived from these files. Reading them needs only PyYAML, never torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from lawm_eval.errors import ConfigError, UnknownNameError
from lawm_eval.interfaces import MODEL_PARTS
from lawm_eval.paths import data_dir
from lawm_eval.util.yaml_file import read_mapping

BUNDLED_KEYS = ("network", "trained_on", "script")
DEFAULT_AUTOENCODER = "visual_ae"  # the shared encoder/decoder (baselines/visual_ae)


@dataclass(frozen=True)
class BundledSpec:
    """Where a bundled checkpoint comes from: the class it rebuilds, its data, its training script."""

    network: str  # module:Class
    trained_on: str
    script: str  # module with main(...)
    autoencoder: str = DEFAULT_AUTOENCODER  # baselines/<autoencoder>: the frozen encoder and decoder
    after: tuple[str, ...] = ()  # bundled models whose checkpoints its training reads (trained first)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    factory: str  # module:attr, or '???' (model=custom: the user sets it)
    description: str
    parts: tuple[str, ...]
    extra: str | None
    bundled: BundledSpec | None
    config: dict[str, Any] = field(default_factory=dict)  # the file as read, metadata included
    path: Path | None = None


def model_config_dir() -> Path:
    return data_dir("configs") / "model"


def parse_spec(path: Path) -> ModelSpec:
    """Read and check one model config file; any problem is a ConfigError naming the file."""
    config = read_mapping(path, "model config")
    name = path.stem
    if config.get("name") != name:
        raise ConfigError(f"{path}: 'name' must be '{name}', the file's name (got {config.get('name')!r})")
    for key in ("factory", "description"):
        if not isinstance(config.get(key), str) or not config[key]:
            raise ConfigError(f"{path}: '{key}' must be a non-empty string")
    parts = tuple(config.get("parts") or ())
    unknown = [p for p in parts if p not in MODEL_PARTS]
    if unknown:
        raise ConfigError(f"{path}: unknown part(s) {', '.join(unknown)} (parts are: {', '.join(MODEL_PARTS)})")
    bundled = config.get("bundled")
    if bundled is not None:
        if (not isinstance(bundled, dict) or not set(BUNDLED_KEYS) <= set(bundled) <= {*BUNDLED_KEYS, "autoencoder", "after"}
                or not isinstance(bundled.get("after", []), list)):
            raise ConfigError(f"{path}: 'bundled' must have the keys {', '.join(BUNDLED_KEYS)} "
                              "(and optionally autoencoder, and after: a list of bundled models)")
        bundled = BundledSpec(**{k: tuple(map(str, v)) if k == "after" else str(v) for k, v in bundled.items()})
    extra = config.get("extra")
    return ModelSpec(name=name, factory=config["factory"], description=config["description"], parts=parts,
                     extra=str(extra) if extra else None, bundled=bundled, config=config, path=path)


@lru_cache(maxsize=1)
def model_specs() -> dict[str, ModelSpec]:
    """Every model that ships a config file, by name (read once per process)."""
    return {path.stem: parse_spec(path) for path in sorted(model_config_dir().glob("*.yaml"))}


def model_spec(name: str) -> ModelSpec:
    specs = model_specs()
    if name not in specs:
        raise UnknownNameError("model", name, specs)
    return specs[name]


def bundled_specs() -> dict[str, ModelSpec]:
    """The models with a checkpoint in baselines/<name>/ (a ``bundled:`` block), by name."""
    return {name: spec for name, spec in model_specs().items() if spec.bundled is not None}
