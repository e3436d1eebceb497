"""The wheel carries configs, manifests and baselines; a non-editable install finds them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

from conftest import REPO


def test_every_code_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in (REPO / "lawm_eval").rglob("__init__.py")
    }
    assert on_disk <= listed, f"add to pyproject.toml packages: {sorted(on_disk - listed)}"


@pytest.mark.slow
def test_wheel_contents_and_non_editable_install(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheel_dir), str(REPO)], check=True, capture_output=True)
    (wheel,) = wheel_dir.glob("lawm_eval-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("lawm_eval/configs/config.yaml", "lawm_eval/configs/model/linear.yaml",
                     "lawm_eval/configs/executor/serial.yaml", "lawm_eval/manifests/point_mass/v1.yaml",
                     "lawm_eval/cli.py"):
        assert expected in names
    assert not any(n.startswith(("tests/", "configs/", "suites/")) for n in names)

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = ("import lawm_eval.paths as p, lawm_eval.config as c; "
            "print(p.data_dir('configs')); print(c.compose_config(['suite.episodes=2']).suite_params['episodes'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    config_dir, episodes = out.stdout.split()
    assert Path(config_dir).is_relative_to(site) and episodes == "2"
    ls = subprocess.run([sys.executable, "-m", "lawm_eval.cli", "ls", "suites"], cwd=tmp_path, env=env,
                        capture_output=True, text=True)
    assert ls.returncode == 0 and "point_mass v1" in ls.stdout
