"""Simulator environments: Python environments of their own for simulators (and model runtimes) whose
pins cannot share lawm-eval's (the RoboTwin 2.0 runtime pins torch 2.8.0 and sapien 3.0.0b1; LeRobot
0.4.4 needs torch < 2.11).

``lawm-eval env setup <name>`` creates one under ``$LAWM_EVAL_CACHE/envs/<name>`` (a venv with the
pinned requirements from PyPI) and writes ``lawm-env.json`` beside it: the requirements it was built
from and the installed versions of the distributions records name. ``lawm-eval env status`` lists
them. The harness talks to a simulator there through ``sim_client`` (a child process).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lawm_eval.errors import ConfigError, LawmEvalError, did_you_mean
from lawm_eval.paths import cache_dir

MARKER = "lawm-env.json"


class EnvironmentMissing(LawmEvalError):
    """A simulator environment that was not set up (or was set up from other requirements)."""


@dataclass(frozen=True)
class SimEnvironment:
    name: str
    description: str
    requirements: tuple[str, ...]  # pinned, installed with pip from PyPI
    python: str  # the minor version the requirements need, e.g. "3.11"
    distributions: tuple[str, ...]  # versions recorded in lawm-env.json (and so in every record)

    @property
    def path(self) -> Path:
        return cache_dir() / "envs" / self.name

    @property
    def python_path(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def marker_path(self) -> Path:
        return self.path / MARKER

    def marker(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.marker_path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def ready(self) -> bool:
        marker = self.marker()
        return (marker is not None and marker.get("requirements") == list(self.requirements)
                and self.python_path.exists())

    def versions(self) -> dict[str, str]:
        """The installed versions of ``distributions`` (from lawm-env.json)."""
        return dict((self.marker() or {}).get("versions", {}))

    def versions_of(self, distributions: tuple[str, ...] | list[str]) -> dict[str, str]:
        """The recorded version of each of ``distributions`` ("not installed" when absent)."""
        installed = self.versions()
        return {dist: installed.get(dist, "not installed") for dist in distributions}

    def require(self) -> Path:
        """The environment's Python, or one line naming the command that creates it."""
        if self.ready():
            return self.python_path
        built = self.marker()
        why = "was built from other requirements" if built else "is not set up"
        raise EnvironmentMissing(f"the '{self.name}' simulator environment {why} ({self.path}): "
                                 f"run 'lawm-eval env setup {self.name}'")


ENVIRONMENTS: dict[str, SimEnvironment] = {
    env.name: env
    for env in (
        SimEnvironment(
            "libero",
            "LIBERO 0.1.1 on robosuite 1.4.0 and MuJoCo 3.3.7, for a lawm-eval environment without them",
            ("libero==0.1.1", "robosuite==1.4.0", "mujoco==3.3.7", "h5py>=3.8", "pyyaml>=6"),
            "3.11",
            ("libero", "robosuite", "mujoco", "bddl", "numpy"),
        ),
        SimEnvironment(
            "lerobot",
            "LeRobot 0.4.4 with its LIBERO extra (torch 2.10, hf-libero 0.1.4), for model=lerobot and lerobot-eval",
            ("lerobot[libero]==0.4.4",),
            "3.11",
            ("lerobot", "torch", "hf-libero", "robosuite", "mujoco", "numpy"),
        ),
        SimEnvironment(
            "robodesk",
            "RoboDesk 1.0.0 on dm-control 1.0.34 and MuJoCo 3.3.7 (pillow < 10), for the VP² RoboDesk suite",
            ("robodesk==1.0.0", "dm-control==1.0.34", "mujoco==3.3.7", "pillow<10", "numpy<2"),
            "3.11",
            ("robodesk", "dm-control", "mujoco", "pillow", "numpy"),
        ),
        SimEnvironment(
            "robotwin",
            "RoboTwin 2.0 runtime (rlinf-robotwin-runtime 0.1.3: SAPIEN 3.0.0b1, mplib 0.2.1, torch 2.8.0)",
            ("rlinf-robotwin-runtime==0.1.3",),
            "3.11",
            ("rlinf-robotwin-runtime", "sapien", "mplib", "torch", "numpy"),
        ),
    )
}


def get_environment(name: str) -> SimEnvironment:
    if name not in ENVIRONMENTS:
        raise ConfigError(f"unknown simulator environment '{name}'{did_you_mean(name, ENVIRONMENTS)}")
    return ENVIRONMENTS[name]


def find_python(version: str) -> str:
    """A Python interpreter of ``version`` (this one, or ``python<version>`` on PATH)."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        raise EnvironmentMissing(f"no Python {version} on PATH (python{version}); the environment's "
                                 "requirements need it")
    return found


def installed_versions(python: Path, distributions: tuple[str, ...]) -> dict[str, str]:
    code = ("import importlib.metadata as m, json, sys\n"
            "out = {}\n"
            "for d in sys.argv[1:]:\n"
            "    try: out[d] = m.version(d)\n"
            "    except m.PackageNotFoundError: out[d] = 'not installed'\n"
            "print(json.dumps(out))")
    done = subprocess.run([str(python), "-I", "-c", code, *distributions], capture_output=True, text=True,
                          check=True, timeout=120)
    return json.loads(done.stdout)


def setup(name: str, force: bool = False, progress: Callable[[str], None] = print) -> SimEnvironment:
    """Create (or re-create) the environment ``name``: venv, pinned requirements, lawm-env.json."""
    env = get_environment(name)
    if env.ready() and not force:
        progress(f"{name}: ready in {env.path}")
        return env
    base = find_python(env.python)  # before anything is removed
    if env.path.exists():
        shutil.rmtree(env.path)
    env.path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    progress(f"{name}: creating a venv with {base} in {env.path}")
    made = subprocess.run([base, "-m", "venv", str(env.path)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        why = (made.stderr.strip().splitlines() or [str(made.returncode)])[-1]
        raise EnvironmentMissing(f"'{name}' environment: python -m venv failed ({why}); on Debian/Ubuntu install "
                                 f"python{env.python}-venv")
    progress(f"{name}: pip install {' '.join(env.requirements)} (several GB on a first install)")
    pip = [str(env.python_path), "-m", "pip", "install", "-q", "--disable-pip-version-check", *env.requirements]
    done = subprocess.run(pip, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
                          env={**os.environ, "PIP_NO_INPUT": "1"})
    if done.returncode != 0:
        tail = [line for line in done.stdout.splitlines() if line.strip() and not line.startswith("WARNING")]
        raise EnvironmentMissing(f"'{name}' environment: pip install failed: {tail[-1] if tail else done.returncode}")
    try:
        versions = installed_versions(env.python_path, env.distributions)
    except (subprocess.SubprocessError, ValueError) as exc:
        raise EnvironmentMissing(f"'{name}' environment: its Python does not run ({exc})") from None
    marker = {"name": name, "requirements": list(env.requirements), "python": base, "versions": versions,
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "setup_seconds": round(time.monotonic() - start, 1)}
    env.marker_path.write_text(json.dumps(marker, indent=2) + "\n")
    progress(f"{name}: ready in {env.path} ({marker['setup_seconds']:.0f} s)")
    return env


def status() -> list[tuple[str, str, str]]:
    """(name, ready | missing | stale, what) for every known environment."""
    rows = []
    for env in ENVIRONMENTS.values():
        if env.ready():
            versions = ", ".join(f"{k} {v}" for k, v in env.versions().items())
            rows.append((env.name, "ready", f"{env.path} ({versions})"))
        else:
            rows.append((env.name, "stale" if env.marker() else "missing", f"{env.path}: {env.description}"))
    return rows
