"""The skip policy of tests/conftest.py: a skip is a clear skip locally and a failure under CI
(``CI=true``) or with ``LAWM_EVAL_NO_SKIP=1``, so an extra that failed to install cannot silently
drop tests. Checked by running pytest on small test files in a subprocess, with and without CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import NO_SKIP_VARS, REPO

SKIPPING = '''
import pytest
from lawm_eval import extras

extras.EXTRA_MODULES["fake_extra"] = ("surely_missing_module_xyz",)


def test_passes():
    pass


def test_skips_at_run_time():
    pytest.skip("no frobnicator here")


@pytest.mark.skipif(True, reason="condition says no")
def test_skipif():
    pass


@pytest.mark.extra("fake_extra")
def test_needs_a_missing_extra():
    pass


@pytest.mark.extra("data")
def test_needs_an_installed_extra():
    pass


@pytest.mark.xfail(strict=True, reason="known bug")
def test_expected_failure():
    assert False
'''

MODULE_SKIP = '''
import pytest

pytest.importorskip("surely_missing_module_xyz")


def test_never_collected():
    pass
'''


def run_pytest(tmp_path: Path, name: str, source: str, **env: str) -> subprocess.CompletedProcess:
    """Run pytest on one file next to a copy of our conftest.py, with the repository's pytest settings."""
    shutil.copy(REPO / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / name).write_text(source)
    full_env = {k: v for k, v in os.environ.items() if k not in NO_SKIP_VARS}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-c", str(REPO / "pyproject.toml"),
         "--rootdir", str(tmp_path), str(tmp_path / name)],
        cwd=tmp_path, env={**full_env, "COLUMNS": "1000", **env}, capture_output=True, text=True, timeout=120,
    )


def test_skips_are_skips_locally_with_their_reason(tmp_path):
    done = run_pytest(tmp_path, "test_skipping.py", SKIPPING, CI="false")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed, 3 skipped, 1 xfailed" in done.stdout, done.stdout
    assert "no frobnicator here" in done.stdout and "condition says no" in done.stdout
    assert ("test test_needs_a_missing_extra needs the 'fake_extra' extra (module 'surely_missing_module_xyz' "
            "not found): pip install \"lawm-eval[fake_extra]\"") in done.stdout


@pytest.mark.parametrize("env", [{"CI": "true"}, {"LAWM_EVAL_NO_SKIP": "1"}])
def test_under_ci_every_skip_fails_with_its_reason(tmp_path, env):
    done = run_pytest(tmp_path, "test_skipping.py", SKIPPING, **env)
    assert done.returncode == 1, done.stdout + done.stderr
    # a skip in the test body fails the test; a skipif/extra marker fails its setup (an error)
    assert "1 failed, 2 passed, 1 xfailed, 2 errors" in done.stdout, done.stdout
    for line in ("FAILED test_skipping.py::test_skips_at_run_time - skipped: no frobnicator here",
                 "ERROR test_skipping.py::test_skipif - skipped: condition says no",
                 "ERROR test_skipping.py::test_needs_a_missing_extra - skipped: test test_needs_a_missing_extra "
                 "needs the 'fake_extra' extra"):
        assert line in done.stdout, done.stdout
    var, value = next(iter(env.items()))
    assert f"skips are failures here ({var}={value})" in done.stdout


def test_a_module_level_importorskip_is_a_skip_locally_and_a_failure_under_ci(tmp_path):
    local = run_pytest(tmp_path, "test_module_skip.py", MODULE_SKIP)
    assert local.returncode == pytest.ExitCode.NO_TESTS_COLLECTED and "1 skipped" in local.stdout, local.stdout
    strict = run_pytest(tmp_path, "test_module_skip.py", MODULE_SKIP, CI="true")
    assert strict.returncode != 0, strict.stdout
    assert "1 error" in strict.stdout and "could not import 'surely_missing_module_xyz'" in strict.stdout, strict.stdout
    assert "skips are failures here (CI=true)" in strict.stdout
