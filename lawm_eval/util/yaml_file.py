"""Reading the project's YAML files (manifests, model configs) as mappings, with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lawm_eval.errors import ConfigError, LawmEvalError


def read_mapping(path: str | Path, what: str, error: type[LawmEvalError] = ConfigError) -> dict[str, Any]:
    """The YAML mapping in ``path``; ``error`` (one line naming ``what`` and the file) if it cannot be read."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"cannot read {what} {path}: {exc}") from None
    if not isinstance(data, dict):
        raise error(f"{what} {path} is not a mapping")
    return data
