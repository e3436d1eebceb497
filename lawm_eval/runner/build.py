"""Build a run's parts from its resolved config: the suite, the model bundle, the planner."""

from __future__ import annotations

import inspect
from typing import Any

from lawm_eval.bundle import ModelBundle, as_bundle, file_sha256
from lawm_eval.catalog import registries
from lawm_eval.errors import ConfigError, LawmEvalError
from lawm_eval.registry import import_target
from lawm_eval.suites.base import Suite
from lawm_eval.suites.manifest import SuiteManifest

NO_PLANNER = "none"


def suite_params(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config["suite"].items() if k not in ("name", "version")}


def build_suite(config: dict[str, Any]) -> Suite:
    manifest: SuiteManifest = registries()["suite"].get(config["suite"]["name"])
    suite_cls = import_target(manifest.protocol)
    return suite_cls(manifest, suite_params(config))


def call_factory(factory: Any, suite: Suite, params: dict[str, Any], name: str) -> Any:
    """Call a model factory with its params, passing ``suite=`` when it accepts one."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    kwargs = dict(params)
    if signature is not None:
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        if "suite" in signature.parameters or accepts_any:
            kwargs["suite"] = suite
        unknown = [k for k in params if k not in signature.parameters and not accepts_any]
        if unknown:
            known = [p for p in signature.parameters if p != "suite"]
            raise ConfigError(
                f"model '{name}' has no parameter(s) {', '.join(unknown)} (it takes: {', '.join(known) or 'none'})"
            )
    return factory(**kwargs)


def build_model(config: dict[str, Any], suite: Suite) -> ModelBundle:
    model_cfg = dict(config["model"])
    name = model_cfg.pop("name")
    factory = registries()["model"].get(name)
    bundle = as_bundle(call_factory(factory, suite, model_cfg, name), name)
    if bundle.checkpoint and not bundle.checkpoint_sha256:
        bundle.checkpoint_sha256 = file_sha256(bundle.checkpoint)
    suite.check_model(bundle)
    return bundle


def build_planner(config: dict[str, Any], suite: Suite) -> Any:
    planner_cfg = dict(config["planner"])
    name = planner_cfg.pop("name")
    if name == NO_PLANNER:
        return None
    planner_cls = registries()["planner"].get(name)
    action_dim = getattr(suite, "action_dim", None)
    if action_dim is None:
        raise LawmEvalError(f"suite '{suite.name}' does not state its action_dim, which planners need")
    try:
        return planner_cls(action_dim=action_dim, **planner_cfg)
    except TypeError as exc:
        raise ConfigError(f"planner '{name}': {exc}") from None
