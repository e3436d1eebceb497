"""One generic registry for suites, models, planners, metrics and executors.

Entries are lazy: a target given as ``"package.module:attr"`` is imported only when the entry is
used, so listing names (``lawm-eval ls``) never imports a simulator. Third-party packages add
entries through the entry-point group ``lawm_eval.plugins``; each entry point is named
``<kind>.<name>`` and points at ``module:attr``, for example::

    [project.entry-points."lawm_eval.plugins"]
    "model.my_wm" = "my_pkg.lawm:build_my_wm"
    "suite.my_suite" = "my_pkg.lawm:MANIFEST_PATH"
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from lawm_eval.errors import LawmEvalError, MissingDependencyError, UnknownNameError

T = TypeVar("T")

PLUGIN_GROUP = "lawm_eval.plugins"
KINDS = ("suite", "model", "planner", "metric", "executor")


@dataclass(frozen=True)
class Entry:
    """One registered name. ``target`` is an object or a lazy ``module:attr`` string."""

    name: str
    target: Any
    description: str = ""
    extra: str | None = None  # the pip extra that provides the target's dependencies
    source: str = "lawm-eval"  # the distribution that registered it
    meta: dict[str, Any] = field(default_factory=dict)


def import_target(target: str) -> Any:
    """Import ``package.module:attr`` (attr may be dotted) and return the attribute."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise LawmEvalError(f"bad import target '{target}': expected 'package.module:attr'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise LawmEvalError(f"'{module_name}' has no attribute '{attr}' (from target '{target}')") from None
    return obj


class Registry(Generic[T]):
    """Names of one kind mapped to lazily resolved objects."""

    def __init__(self, kind: str, resolve: Callable[[Entry], T] | None = None):
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._resolved: dict[str, T] = {}
        self._resolve = resolve or _resolve_import

    def register(
        self,
        name: str,
        target: Any = None,
        *,
        description: str = "",
        extra: str | None = None,
        source: str = "lawm-eval",
        overwrite: bool = False,
        **meta: Any,
    ) -> Any:
        """Register ``target`` under ``name``; without a target, return a decorator."""
        if target is None:

            def decorator(obj: Any) -> Any:
                self.register(name, obj, description=description, extra=extra, source=source,
                              overwrite=overwrite, **meta)
                return obj

            return decorator
        if name in self._entries and not overwrite:
            old = self._entries[name]
            raise LawmEvalError(f"{self.kind} '{name}' is registered twice ({old.source} and {source})")
        self._entries[name] = Entry(name, target, description, extra, source, dict(meta))
        self._resolved.pop(name, None)
        return target

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> Iterator[Entry]:
        return (self._entries[n] for n in self.names())

    def entry(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._entries) from None

    def get(self, name: str) -> T:
        """The resolved object for ``name`` (imported on first use, then cached)."""
        if name not in self._resolved:
            entry = self.entry(name)
            self._resolved[name] = self._resolve(entry)
        return self._resolved[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)


def _resolve_import(entry: Entry) -> Any:
    if not isinstance(entry.target, str):
        return entry.target
    try:
        return import_target(entry.target)
    except ModuleNotFoundError as exc:
        if entry.extra and not (exc.name or "").startswith("lawm_eval"):
            raise MissingDependencyError(f"{entry.name}", entry.extra, exc.name) from exc
        raise


def plugin_entry_points() -> list[tuple[str, str, str, str]]:
    """(kind, name, target, distribution) for every ``lawm_eval.plugins`` entry point."""
    from importlib.metadata import entry_points

    found = []
    for ep in entry_points(group=PLUGIN_GROUP):
        kind, sep, name = ep.name.partition(".")
        if not sep or kind not in KINDS or not name:
            raise LawmEvalError(
                f"plugin entry point '{ep.name}' must be named '<kind>.<name>' with kind in {', '.join(KINDS)}"
            )
        dist = ep.dist.name if ep.dist is not None else "unknown"
        found.append((kind, name, ep.value, dist))
    return found
