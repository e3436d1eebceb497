"""docs/walkthrough.md works verbatim: its commands, read from the page, run in order against the
example package examples/tinywm, installed offline (no dependencies, no build isolation) into a
temporary folder on PYTHONPATH — which is how `pip install -e` exposes it: importable, with its
lawm_eval.plugins entry points. The LIBERO run (simulator) is left out; the LIBERO validate runs
where the libero extra and scene files are installed."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "walkthrough.md"
EXAMPLE = REPO / "examples" / "tinywm"
INSTALL = "pip install -e examples/tinywm"

pytestmark = pytest.mark.slow


def page_commands() -> list[str]:
    """The commands of the walkthrough: its indented lines that start with `pip install` or `lawm-eval`."""
    commands = []
    for line in PAGE.read_text().splitlines():
        if line.startswith("    ") and line.strip().startswith(("lawm-eval ", "pip install ")):
            commands.append(line.strip())
    return commands


def lawm_eval_command() -> list[str]:
    """The `lawm-eval` console script of this environment (as a user runs it), else `python -m`."""
    script = Path(sys.executable).parent / "lawm-eval"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lawm_eval.cli"]


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    """(run(command) -> CompletedProcess, workdir): the example installed, commands run from a fresh folder."""
    root = tmp_path_factory.mktemp("walkthrough")
    source = root / "tinywm"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = root / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                           "--quiet", "--target", str(site), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    workdir = root / "work"
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    env.pop("LAWM_EVAL_DEBUG", None)

    def run(command: str) -> subprocess.CompletedProcess:
        assert command.startswith("lawm-eval "), command
        args = command.split()[1:]
        return subprocess.run(lawm_eval_command() + args, cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=600)

    return run, workdir


def test_the_page_lists_the_commands_this_test_runs():
    commands = page_commands()
    assert commands[0] == INSTALL
    names = [c.split()[1] + " " + next((a for a in c.split()[2:] if a.startswith("suite=")), "") for c in commands[1:]]
    assert names == ["ls ", "validate suite=point_mass", "run suite=point_mass", "run suite=point_mass", "report ",
                     "validate suite=libero_spatial", "run suite=libero_spatial"]


def test_the_point_mass_walkthrough(walkthrough):
    run, workdir = walkthrough
    page = PAGE.read_text()
    commands = [c for c in page_commands()[1:] if "libero" not in c]

    ls = run(commands[0])
    assert ls.returncode == 0, ls.stderr
    listed = {line.split()[0]: line for line in ls.stdout.splitlines() if line.startswith("  ")}
    for name in ("tinywm", "tinywm_policy"):
        assert listed[name].split(None, 1)[1] == "plugin from tinywm"
        assert listed[name] in page  # the page shows the lines as printed

    validate = run(commands[1])
    assert validate.returncode == 0, validate.stderr
    assert validate.stdout.splitlines()[0] in page
    assert validate.stdout.startswith("ok: suite point_mass v1 (16 episodes), model tinywm (parts: encoder, "
                                      "world_model, controller)")

    for command, run_id in zip(commands[2:4], ("tinywm_demo", "tinywm_custom")):
        done = run(command)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"run {run_id}: 4 episodes run, 0 already recorded, 0 errors")
        assert "| tinywm † | cem | 4 | 0 | 1.000 [0.510, 1.000] |" in done.stdout  # every goal reached
        assert run_id != "tinywm_demo" or done.stdout.splitlines()[0] in page  # the page shows the first
        assert "Traceback" not in done.stderr and "%|" not in done.stderr  # executor.progress=off

    report = run(commands[4])
    assert report.returncode == 0, report.stderr
    with open(workdir / "results" / "report" / "leaderboard.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["run_id"], r["model"], r["success_rate"]) for r in rows) == [
        ("tinywm_custom", "tinywm", "1.0"), ("tinywm_demo", "tinywm", "1.0")]
    for name in ("point_mass.md", "point_mass.csv", "point_mass.png", "leaderboard.md"):
        assert (workdir / "results" / "report" / name).is_file()


@pytest.mark.extra("libero")
def test_the_libero_policy_validates_without_the_simulator(walkthrough):
    from lawm_eval import assets
    from lawm_eval.errors import AssetError

    try:
        assets.require("libero_assets")
    except AssetError as exc:
        pytest.skip(str(exc))
    run, _ = walkthrough
    command = next(c for c in page_commands() if c.startswith("lawm-eval validate suite=libero_spatial"))
    done = run(command)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == ("ok: suite libero_spatial v2 (500 episodes), model tinywm_policy "
                                           "(parts: policy), planner none, executor serial")
    assert done.stdout.splitlines()[0] in PAGE.read_text()
