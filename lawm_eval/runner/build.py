"""Build a run's parts from its resolved config: the suite, the model bundle, the planner."""

from __future__ import annotations

from typing import Any

from lawm_eval.bundle import ModelBundle, make_bundle
from lawm_eval.catalog import registries, suite_manifest
from lawm_eval.errors import ConfigError, LawmEvalError
from lawm_eval.extras import require_extra
from lawm_eval.registry import import_target
from lawm_eval.suites.base import Suite
from lawm_eval.suites.manifest import SuiteManifest
from lawm_eval.types import RunConfig


def build_suite(config: RunConfig) -> Suite:
    manifest: SuiteManifest = suite_manifest(config.suite.name, config.suite.options.get("version"))
    suite_cls = import_target(manifest.protocol)
    return suite_cls(manifest, config.suite_params)


def build_model(config: RunConfig, suite: Suite) -> ModelBundle:
    """Call the model's factory (``model.factory``; for plugin models without a config file, the
    registered target) with the model config's keys, and check the bundle against the suite."""
    model_cfg = config.model.to_dict()
    name = config.model.name
    entry = registries()["model"].entry(name)
    factory = model_cfg.get("factory")
    if factory is None or factory == entry.target:
        factory = registries()["model"].get(name)  # names the pip extra when its module is missing
    bundle = make_bundle(model_cfg, suite, factory=factory)
    suite.check_model(bundle)
    suite.check_inputs(bundle)
    return bundle


def build_planner(config: RunConfig, suite: Suite) -> Any:
    if config.planner is None:
        return None
    name, planner_cfg = config.planner.name, dict(config.planner.options)
    planner_cls = registries()["planner"].get(name)
    action_dim = getattr(suite, "action_dim", None)
    if action_dim is None:
        raise LawmEvalError(f"suite '{suite.name}' does not state its action_dim, which planners need")
    try:
        return planner_cls(action_dim=action_dim, **planner_cfg)
    except TypeError as exc:
        raise ConfigError(f"planner '{name}': {exc}") from None


def build_executor(config: RunConfig) -> Any:
    """The executor, after checking that its extra (Ray) is installed: ``validate`` sees it too."""
    entry = registries()["executor"].entry(config.executor.name)
    if entry.extra:
        require_extra(entry.extra, f"executor '{config.executor.name}'")
    executor_cls = registries()["executor"].get(config.executor.name)
    try:
        return executor_cls(**config.executor.to_dict())
    except TypeError as exc:
        raise ConfigError(f"executor '{config.executor.name}': {exc}") from None
