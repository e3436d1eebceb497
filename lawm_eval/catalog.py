"""The registries with lawm-eval's built-in entries and every installed plugin's entries.

Built-ins are lazy ``module:attr`` strings and suite manifest paths: building the catalog reads
no simulator, Ray, Hydra or torch module. Models come from their config files
(configs/model/<name>.yaml, see ``lawm_eval.models.specs``), read with PyYAML only.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from lawm_eval.errors import ConfigError
from lawm_eval.metrics.specs import SPECS
from lawm_eval.models.specs import model_specs
from lawm_eval.paths import data_dir
from lawm_eval.registry import Entry, Registry, import_target, plugin_entry_points
from lawm_eval.suites.manifest import SuiteManifest, latest_manifest_file, load_manifest

BUILTIN_PLANNERS: dict[str, tuple[str, str]] = {
    "cem": ("lawm_eval.planners.cem:CEMPlanner", "cross-entropy method (jepa-wms and VP² variants)"),
    "mppi": ("lawm_eval.planners.mppi:MPPIPlanner", "MPPI with correlated noise (VP²)"),
    "random_shooting": ("lawm_eval.planners.random_shooting:RandomShootingPlanner",
                        "best of N random action sequences"),
    "random": ("lawm_eval.planners.random_shooting:RandomPlanner",
               "no-planning baseline: one random action sequence, the model is not queried"),
    "vla_selection": ("lawm_eval.planners.selection:SampleSelectionPlanner",
                      "top-k of a sampling policy's candidates by the world model (LAC-WM)"),
    "vla_mean": ("lawm_eval.planners.selection:VLAMeanPlanner",
                 "VLA-mean baseline: the average of a sampling policy's candidates, the model is not queried"),
    "vla_random": ("lawm_eval.planners.selection:VLARandomPlanner",
                   "VLA-random baseline: one of a sampling policy's candidates, the model is not queried"),
}

BUILTIN_EXECUTORS: dict[str, tuple[str, str, str | None]] = {
    "serial": ("lawm_eval.runner.executor:SerialExecutor", "episodes one after another in this process", None),
    "ray": ("lawm_eval.runner.ray_executor:RayExecutor", "parallel episodes on Ray actors (local or a cluster)", "ray"),
}

def _resolve_suite(entry: Entry) -> SuiteManifest:
    target = entry.target
    if isinstance(target, SuiteManifest):
        return target
    if isinstance(target, str) and target.endswith((".yaml", ".yml")):
        return load_manifest(target)
    obj: Any = import_target(target) if isinstance(target, str) else target
    if isinstance(obj, (str, Path)):
        return load_manifest(obj)
    if isinstance(obj, dict):
        return SuiteManifest.from_dict(obj, f"plugin suite {entry.name}")
    if isinstance(obj, SuiteManifest):
        return obj
    raise ConfigError(f"suite '{entry.name}' must point at a manifest path, dict or SuiteManifest")


def _suite_description(path: Path) -> str:
    """The manifest's description line, read without parsing the whole YAML."""
    for line in path.read_text().splitlines():
        if line.startswith("description:"):
            return line.split(":", 1)[1].strip()
    return ""


@lru_cache(maxsize=1)
def registries() -> dict[str, Registry]:
    """All registries by kind (built once per process)."""
    suites: Registry[SuiteManifest] = Registry("suite", resolve=_resolve_suite)
    models: Registry[Any] = Registry("model")
    planners: Registry[Any] = Registry("planner")
    metrics: Registry[Any] = Registry("metric")
    executors: Registry[Any] = Registry("executor")

    for folder in sorted(data_dir("manifests").iterdir()):
        manifest = latest_manifest_file(folder) if folder.is_dir() else None
        if manifest is not None:
            suites.register(folder.name, str(manifest), description=_suite_description(manifest),
                            version=manifest.stem)
    for spec in model_specs().values():  # configs/model/<name>.yaml: each model's single source
        models.register(spec.name, spec.factory, description=spec.description, extra=spec.extra,
                        parts=spec.parts)
    for name, (target, description) in BUILTIN_PLANNERS.items():
        planners.register(name, target, description=description)
    for name, (target, description, extra) in BUILTIN_EXECUTORS.items():
        executors.register(name, target, description=description, extra=extra)
    for name, spec in SPECS.items():  # each reported metric's spec: aggregation, direction, unit, class
        metrics.register(name, spec, description=spec.summary, extra=spec.extra)

    by_kind = {"suite": suites, "model": models, "planner": planners, "metric": metrics, "executor": executors}
    for kind, name, target, dist in plugin_entry_points():
        by_kind[kind].register(name, target, description=f"plugin from {dist}", source=dist)
    return by_kind


def suite_manifest(name: str, version: str | None = None) -> SuiteManifest:
    """The manifest of suite ``name``: its newest version, or ``version`` (``suite.version=v1`` re-runs
    an older protocol; every published version stays loadable)."""
    manifest: SuiteManifest = registries()["suite"].get(name)
    if version is None or version == manifest.version:
        return manifest
    folder = data_dir("manifests") / name
    path = folder / f"{version}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("v*.yaml")) or [manifest.version]
        raise ConfigError(f"suite '{name}' has no version '{version}' (versions: {', '.join(known)})")
    return load_manifest(path)


def model_config_names() -> set[str]:
    """Models that ship a config file configs/model/<name>.yaml."""
    return set(model_specs())
