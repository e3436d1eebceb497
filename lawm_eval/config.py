"""Compose a run configuration with Hydra (``version_base="1.3"``, no working-directory change).

The config groups ``model`` and ``executor`` are YAML files in configs/; the groups ``suite`` and
``planner`` are built from the suite manifests and planner classes, so each protocol constant has
one home (its manifest):

    suite/<name>    = {name, version, **manifest.params}
    planner/<name>  = {name, **PlannerClass.Config defaults, **manifest.planners[name]}

Every Hydra failure becomes one ConfigError line, with a did-you-mean where a name was mistyped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from lawm_eval.catalog import model_config_names, registries, suite_manifest
from lawm_eval.errors import ConfigError, UnknownNameError, did_you_mean, first_line
from lawm_eval.paths import data_dir
from lawm_eval.suites.manifest import SuiteManifest
from lawm_eval.types import NO_PLANNER, VIDEO_MODES, RunConfig

GROUPS = ("suite", "model", "planner", "executor")
DEFAULT_SUITE = "point_mass"


def parse_overrides(overrides: Sequence[str]) -> list[Any]:
    """Hydra's own override parser; a syntax error is one ConfigError line."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create()
    parsed = []
    for text in overrides:
        try:
            parsed.extend(parser.parse_overrides([text]))
        except OverrideParseException as exc:
            raise ConfigError(f"cannot parse override '{text}': {first_line(exc)}") from None
    for override in parsed:
        if override.is_sweep_override():
            raise ConfigError(f"sweeps are not supported: '{override.input_line}' (run each value separately)")
    return parsed


def group_choices(parsed: Sequence[Any]) -> dict[str, str]:
    """The group choices given on the command line, e.g. {'suite': 'libero_spatial'}."""
    choices = {}
    for override in parsed:
        key = override.key_or_group
        if key in GROUPS and not override.is_delete():
            value = override.value()
            if not isinstance(value, str):
                raise ConfigError(f"{key}= takes a name, got {value!r}")
            choices[key] = value
    return choices


def planner_node(name: str, manifest: SuiteManifest) -> dict[str, Any]:
    """Defaults of planner ``name`` overlaid with the suite's protocol sizes for it."""
    planner_cls = registries()["planner"].get(name)
    config_cls = getattr(planner_cls, "Config", None)
    defaults = dataclasses.asdict(config_cls()) if config_cls is not None else {}
    sizes = dict(manifest.planners.get(name, {}))
    unknown = set(sizes) - set(defaults) if defaults else set()
    if unknown:
        raise ConfigError(f"{manifest.with_path()}: planner '{name}' has no option(s) {', '.join(sorted(unknown))}")
    return {"name": name, **defaults, **sizes}


def choose_planner(choices: dict[str, str], manifest: SuiteManifest) -> str:
    planner = choices.get("planner")
    if planner is None:
        return manifest.default_planner or NO_PLANNER
    if planner == NO_PLANNER and manifest.planner == "required":
        raise ConfigError(f"suite '{manifest.name}' plans with a world model: choose a planner (e.g. planner=cem)")
    if planner != NO_PLANNER and manifest.planner == "none":
        raise ConfigError(f"suite '{manifest.name}' does not use a planner (it runs the model's policy)")
    return planner


def check_names(choices: dict[str, str]) -> None:
    regs = registries()
    for group, value in choices.items():
        if group == "planner" and value == NO_PLANNER:
            continue
        if value not in regs[group]:
            raise UnknownNameError(group, value, regs[group].names())


def store_nodes(manifest: SuiteManifest, planner: str) -> None:
    """Register the programmatic config-group options with Hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    store.store(group="suite", name=manifest.name,
                node={"name": manifest.name, "version": manifest.version, **dict(manifest.params)})
    store.store(group="planner", name=NO_PLANNER, node={"name": NO_PLANNER})
    if planner != NO_PLANNER:
        store.store(group="planner", name=planner, node=planner_node(planner, manifest))
    with_files = model_config_names()
    for entry in registries()["model"].entries():
        if entry.name not in with_files:  # a plugin model: its registered target is its factory
            factory = {"factory": entry.target} if isinstance(entry.target, str) else {}
            store.store(group="model", name=entry.name, node={"name": entry.name, **factory})
    executor_files = {p.stem for p in (data_dir("configs") / "executor").glob("*.yaml")}
    for name in registries()["executor"].names():
        if name not in executor_files:
            store.store(group="executor", name=name, node={"name": name})


def node_keys(group: str, choice: str, manifest: SuiteManifest) -> set[str]:
    """The keys of the config node that ``group=choice`` selects."""
    if group == "suite":
        return {"name", "version", *manifest.params}
    if group == "planner":
        return set(planner_node(choice, manifest)) if choice != NO_PLANNER else {"name"}
    path = data_dir("configs") / group / f"{choice}.yaml"
    if path.is_file():
        import yaml

        return set(yaml.safe_load(path.read_text()) or {})
    return {"name", "factory"} if group == "model" else {"name"}


def top_level_keys() -> set[str]:
    import yaml

    config = yaml.safe_load((data_dir("configs") / "config.yaml").read_text())
    return {key for key in config if key != "defaults"} | set(GROUPS)


def check_keys(parsed: Sequence[Any], choices: dict[str, str], manifest: SuiteManifest) -> None:
    """Every ``key=value`` override must name an existing key (``+key=value`` adds one)."""
    top = top_level_keys()
    for override in parsed:
        key = override.key_or_group
        if override.is_add() or override.is_delete() or key in GROUPS:
            continue
        head, _, rest = key.partition(".")
        if head not in top:
            raise ConfigError(f"unknown config key '{key}'{did_you_mean(head, top)}")
        if head in GROUPS and rest:
            leaf = rest.split(".")[0]
            keys = node_keys(head, choices[head], manifest)
            if leaf not in keys:
                raise ConfigError(
                    f"unknown key '{head}.{leaf}' for {head} '{choices[head]}'"
                    + did_you_mean(f"{head}.{leaf}", [f"{head}.{k}" for k in keys])
                )


def compose_config(overrides: Sequence[str] = ()) -> RunConfig:
    """The resolved, typed run configuration for these command-line overrides."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

    overrides = list(overrides)
    parsed = parse_overrides(overrides)
    choices = group_choices(parsed)
    check_names(choices)
    manifest = suite_manifest(choices.get("suite", DEFAULT_SUITE), requested_version(parsed))
    planner = choose_planner(choices, manifest)
    if "planner" not in choices:
        overrides.append(f"planner={planner}")
    full_choices = {**default_choices(), **choices, "suite": manifest.name, "planner": planner}
    check_keys(parsed, full_choices, manifest)
    store_nodes(manifest, planner)
    try:
        with initialize_config_dir(config_dir=str(data_dir("configs")), version_base="1.3", job_name="lawm_eval"):
            cfg = compose(config_name="config", overrides=overrides)
        resolved = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except MissingMandatoryValue as exc:
        key = getattr(exc, "full_key", None) or "a required key"
        raise ConfigError(f"{key} must be set (it is '???' in its config)") from None
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(first_line(exc)) from None
    if resolved.get("save_video") not in VIDEO_MODES:
        raise ConfigError(f"save_video must be one of {', '.join(VIDEO_MODES)}, got {resolved.get('save_video')!r}")
    return RunConfig.from_dict(resolved)


def requested_version(parsed: Sequence[Any]) -> str | None:
    """The value of a ``suite.version=vK`` override, if any."""
    for override in parsed:
        if override.key_or_group == "suite.version" and not override.is_delete():
            return str(override.value())
    return None


def default_choices() -> dict[str, str]:
    """The group choices of configs/config.yaml's defaults list."""
    import yaml

    config = yaml.safe_load((data_dir("configs") / "config.yaml").read_text())
    choices = {}
    for item in config.get("defaults", []):
        if isinstance(item, dict):
            choices.update({k: v for k, v in item.items() if k in GROUPS})
    return choices
