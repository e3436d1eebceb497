"""Where the packaged data folders are, in a source checkout and after a (non-editable) install.

The repository keeps ``configs/``, ``suites/`` and ``baselines/`` at its top level; the wheel
installs them as ``lawm_eval/configs``, ``lawm_eval/manifests`` and ``lawm_eval/baselines``.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_SOURCE_NAMES = {"configs": "configs", "manifests": "suites", "baselines": "baselines"}


def data_dir(name: str) -> Path:
    """The folder for ``configs``, ``manifests`` or ``baselines``."""
    installed = PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    source = PACKAGE_DIR.parent / _SOURCE_NAMES[name]
    if source.is_dir():
        return source
    raise FileNotFoundError(f"lawm-eval's '{name}' folder is missing from the installation ({installed})")


def cache_dir() -> Path:
    """``$LAWM_EVAL_CACHE`` or ``~/.cache/lawm-eval``: converted weights and fetched assets."""
    root = os.environ.get("LAWM_EVAL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lawm-eval"
    )
    return Path(root)
