"""Shared fixtures: composing configs into a temporary results folder, running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
