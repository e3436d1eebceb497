"""``model=custom``: load a user's model factory by import path, without any registration.

    lawm-eval run suite=point_mass model=custom model.target=my_pkg.models:make_wm \
        model.params.hidden=256

The factory is called with ``params`` as keyword arguments (plus ``suite=`` if it takes one)
and may return a ModelBundle, a dict of parts, or one object with the interface methods.
"""

from __future__ import annotations

from typing import Any

from lawm_eval.errors import ConfigError, LawmEvalError
from lawm_eval.registry import import_target


def build_custom_model(suite: Any, target: str, params: dict[str, Any] | None = None) -> Any:
    from lawm_eval.runner.build import call_factory

    try:
        factory = import_target(target)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"model.target '{target}': module '{exc.name}' not found") from exc
    except LawmEvalError as exc:
        raise ConfigError(f"model.target: {exc}") from exc
    if not callable(factory):
        raise ConfigError(f"model.target '{target}' is a {type(factory).__name__}, not a callable factory")
    return call_factory(factory, suite, dict(params or {}), target)
