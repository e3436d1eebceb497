"""The simulator-backed generators (robosuite Franka, MuJoCo navigation): deterministic by seed,
physically consistent records. Marked `sim`; they run in CI (robosuite/mujoco install here)."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytestmark = [pytest.mark.sim, pytest.mark.extra("sim")]


def test_franka_clips_are_deterministic_and_actions_are_state_deltas():
    from lawm_eval.data.generate.franka import FrankaConfig, FrankaScene, record_episode, wrap

    scene = FrankaScene(FrankaConfig(frames=6))
    try:
        first, again = record_episode(scene, 7), record_episode(scene, 7)
        other = record_episode(scene, 8)
    finally:
        scene.close()
    assert np.array_equal(first.frames, again.frames) and np.array_equal(first.states, again.states)
    assert not np.array_equal(first.states, other.states)
    deltas = np.diff(first.states, axis=0)
    deltas[:, 3:6] = wrap(deltas[:, 3:6])
    assert np.allclose(first.actions[:-1], deltas, atol=1e-6)
    assert first.frames.shape == (6, 64, 64, 3) and first.frames.std() > 10
    assert np.abs(deltas[:, :3]).max() > 0.01  # the arm moved


def test_franka_scenes_built_apart_record_the_same_clip():
    """robosuite draws the cube's size from numpy's global generator when the scene is built: a scene of the
    same seed built later (here after numpy's generator moved on; or in another process) is the same scene."""
    from lawm_eval.data.generate.franka import FrankaConfig, FrankaScene, record_episode

    clips = []
    for _ in range(2):
        np.random.uniform(size=5)  # whatever ran before
        scene = FrankaScene(FrankaConfig(frames=4), seed=3)
        try:
            clips.append(record_episode(scene, 7))
        finally:
            scene.close()
    assert np.array_equal(clips[0].states, clips[1].states) and np.array_equal(clips[0].frames, clips[1].frames)


def test_navigation_is_deterministic_and_poses_integrate_the_actions(tmp_path):
    from lawm_eval.data.generate.navigation import NavigationConfig, generate_navigation
    from lawm_eval.data.recon import ReconDataset

    config = NavigationConfig(frames=10)
    generate_navigation(tmp_path / "a", 2, seed=3, config=config, progress=False)
    generate_navigation(tmp_path / "b", 2, seed=3, config=config, progress=False)
    a, b = ReconDataset(tmp_path / "a").episode(1), ReconDataset(tmp_path / "b").episode(1)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.states, b.states)
    x, y, yaw = a.states[0]
    for t in range(len(a) - 1):  # re-integrate the local-frame actions
        dx, dy, dyaw = a.actions[t]
        x, y = x + dx * np.cos(yaw) - dy * np.sin(yaw), y + dx * np.sin(yaw) + dy * np.cos(yaw)
        yaw = yaw + dyaw
    assert np.allclose([x, y], a.states[-1, :2], atol=1e-4)
    assert len({frame.tobytes() for frame in a.frames}) > 5  # the view changes as it drives


def last_line_of(script: str) -> str:
    """What a fresh Python process running ``script`` printed last; it must exit cleanly (a segfault is -11)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_recipe_generation_runs_apart_so_torch_optimisers_still_load(tmp_path):
    """Rendering on a CPU machine loads Mesa's LLVM; torch's first optimiser then imports triton, whose LLVM
    crashed the process (a segfault). A recipe is generated in a child process, so its caller stays clean."""
    out = tmp_path / "franka"
    script = (
        "import os, torch\n"
        "from pathlib import Path\n"
        "from lawm_eval.data.recipes import generate_apart\n"
        f"generate_apart({{'kind': 'franka', 'episodes': 1, 'seed': 3}}, Path({str(out)!r}))\n"
        "torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))])\n"
        "maps = Path(f'/proc/{os.getpid()}/maps').read_text()\n"
        "print('renderer here' if 'libLLVM' in maps or 'libEGL' in maps else 'clean')\n"
    )
    assert last_line_of(script) == "clean"
    from lawm_eval.data.formats import open_dataset

    assert (out / ".complete").exists() and len(open_dataset(out)) == 1


def test_recipe_generation_errors_come_back_as_one_line(tmp_path):
    from lawm_eval.data.recipes import generate_apart
    from lawm_eval.errors import LawmEvalError

    with pytest.raises(LawmEvalError, match=r"^unknown dataset kind 'nope' \(known: franka"):
        generate_apart({"kind": "nope"}, tmp_path / "x")
    assert not (tmp_path / "x" / ".complete").exists()


def test_rendering_in_this_process_leaves_torch_optimisers_working():
    """The generators' scenes render in their caller's process too (these tests, a notebook): triton is loaded
    before Mesa's LLVM (util/rendering.py), so a torch optimiser made afterwards does not crash the process."""
    script = (
        "from lawm_eval.data.generate.franka import FrankaConfig, FrankaScene, record_episode\n"
        "scene = FrankaScene(FrankaConfig(frames=2))\n"
        "record_episode(scene, 0)\n"
        "import torch\n"
        "torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))])\n"
        "print('optimiser made')\n"
    )
    assert last_line_of(script) == "optimiser made"


def test_offscreen_rendering_keeps_the_users_backend_and_matches_pyopengl_to_it(monkeypatch):
    from lawm_eval.util.rendering import prepare_offscreen_rendering

    for chosen, pyopengl in ((None, "egl"), ("osmesa", "osmesa"), ("glfw", None)):
        monkeypatch.delenv("PYOPENGL_PLATFORM", raising=False)
        if chosen is None:
            monkeypatch.delenv("MUJOCO_GL", raising=False)
        else:
            monkeypatch.setenv("MUJOCO_GL", chosen)
        prepare_offscreen_rendering()
        assert os.environ["MUJOCO_GL"] == (chosen or "egl") and os.environ.get("PYOPENGL_PLATFORM") == pyopengl
