"""Suite manifests: versioned, data-only YAML files holding a protocol's constants and sources."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lawm_eval.errors import ConfigError
from lawm_eval.interfaces import MODEL_PARTS
from lawm_eval.util.yaml_file import read_mapping

_REQUIRED = ("name", "version", "protocol", "description", "params")
_PLANNER_MODES = ("required", "optional", "none")


@dataclass(frozen=True)
class SuiteManifest:
    name: str
    version: str
    protocol: str  # "module:Class" of the Suite implementation
    description: str
    params: Mapping[str, Any]  # protocol constants; every one is a config key suite.<key>
    requires: tuple[str, ...] = ()  # model parts the suite needs
    planner: str = "none"  # required | optional | none
    default_planner: str | None = None
    planners: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # sizes per planner
    extras: tuple[str, ...] = ()
    simulators: tuple[str, ...] = ()  # distributions whose versions every record carries
    assets: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)
    # a text, or {text:, when: {param: [values]}}: a deviation only while every named parameter has one
    # of its values (e.g. the data deviation holds only while suite.dataset is a generated recipe)
    deviations: tuple[str | Mapping[str, Any], ...] = ()
    path: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "") -> SuiteManifest:
        where = path or data.get("name", "suite manifest")
        missing = [k for k in _REQUIRED if k not in data]
        if missing:
            raise ConfigError(f"{where}: manifest lacks {', '.join(missing)}")
        known = set(cls.__dataclass_fields__) - {"path"}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{where}: unknown manifest fields {', '.join(sorted(unknown))}")
        bad_parts = set(data.get("requires", ())) - set(MODEL_PARTS)
        if bad_parts:
            raise ConfigError(f"{where}: unknown model parts {', '.join(sorted(bad_parts))}")
        if data.get("planner", "none") not in _PLANNER_MODES:
            raise ConfigError(f"{where}: planner must be one of {', '.join(_PLANNER_MODES)}")
        if not isinstance(data["params"], Mapping):
            raise ConfigError(f"{where}: params must be a mapping")
        values = dict(data)
        for key in ("requires", "extras", "simulators", "assets", "metrics", "deviations"):
            values[key] = tuple(values.get(key) or ())
        for item in values["deviations"]:
            check_deviation(item, data["params"], where)
        return cls(path=path, **values)

    def deviations_for(self, params: Mapping[str, Any]) -> list[str]:
        """The standing deviations that hold for these parameter values."""
        texts = []
        for item in self.deviations:
            if isinstance(item, str):
                texts.append(item)
            elif all(params.get(key) in list(values) for key, values in item["when"].items()):
                texts.append(item["text"])
        return texts

    def with_path(self) -> str:
        return self.path or f"<{self.name} {self.version}>"


def check_deviation(item: Any, params: Mapping[str, Any], where: str) -> None:
    if isinstance(item, str):
        return
    if not isinstance(item, Mapping) or set(item) != {"text", "when"} or not isinstance(item["when"], Mapping):
        raise ConfigError(f"{where}: a deviation is a text or a mapping with exactly 'text' and 'when'")
    unknown = [key for key in item["when"] if key not in params]
    if unknown:
        raise ConfigError(f"{where}: deviation 'when' names unknown parameter(s) {', '.join(unknown)}")
    if not all(isinstance(v, (list, tuple)) for v in item["when"].values()):
        raise ConfigError(f"{where}: deviation 'when' values must be lists of parameter values")


def load_manifest(path: str | Path) -> SuiteManifest:
    return SuiteManifest.from_dict(read_mapping(path, "suite manifest"), str(path))


def latest_manifest_file(folder: Path) -> Path | None:
    """The highest ``v<k>.yaml`` in a suite folder."""
    versions = []
    for file in folder.glob("v*.yaml"):
        match = re.fullmatch(r"v(\d+)", file.stem)
        if match:
            versions.append((int(match.group(1)), file))
    return max(versions)[1] if versions else None


def check_params(defaults: Mapping[str, Any], values: Mapping[str, Any], where: str) -> None:
    """Each value must have its default's type (an int is accepted for a float; None is free)."""
    for key, value in values.items():
        if key not in defaults:
            continue
        default = defaults[key]
        if default is None or value is None:
            continue
        expected: tuple[type, ...]
        if isinstance(default, bool):
            expected = (bool,)
        elif isinstance(default, (int, float)):
            expected = (int, float) if isinstance(default, float) else (int,)
        elif isinstance(default, str):
            expected = (str,)
        elif isinstance(default, (list, tuple)):
            expected = (list, tuple)
        elif isinstance(default, Mapping):
            expected = (Mapping,)
        else:
            continue
        if isinstance(value, bool) and bool not in expected:
            ok = False
        else:
            ok = isinstance(value, expected)
        if not ok:
            raise ConfigError(
                f"{where}.{key} must be a {type(default).__name__} like its default {default!r}, got {value!r}"
            )
