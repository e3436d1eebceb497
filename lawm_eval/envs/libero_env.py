"""LIBERO adapter: makes the PyPI ``libero`` package run offline and headless, then builds tasks.

``prepare()`` must run before anything imports ``libero``: it writes the config file LIBERO reads
(so it never asks a question on stdin), points LIBERO at the scene assets that ``lawm-eval assets
fetch libero`` placed in the cache (so it never downloads), and selects EGL rendering.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lawm_eval.errors import LawmEvalError
from lawm_eval.extras import require_extra
from lawm_eval.paths import cache_dir
from lawm_eval.util.files import replace_atomically
from lawm_eval.util.rendering import prepare_offscreen_rendering

DUMMY_ACTION = [0.0] * 6 + [-1.0]  # the reference scripts' wait action: no motion, gripper open
# the policy's observation key -> robosuite camera (its image is obs[f"{camera}_image"]), as both
# reference scripts read them (openvla-oft libero_utils.py:35, 42; openpi main.py:115-116)
CAMERAS = {"image": "agentview", "wrist_image": "robot0_eye_in_hand"}
_PREPARED: dict[str, Any] = {}


def config_dir() -> Path:
    return cache_dir() / "libero_config"


def log_path() -> Path:
    """Where LIBERO's and robosuite's own prints go (task orders, macro-file warnings)."""
    return config_dir() / "libero.log"


@contextlib.contextmanager
def third_party_output() -> Iterator[None]:
    """Send what LIBERO and robosuite print to ``log_path()`` instead of the user's terminal. The
    log handlers robosuite creates at import keep writing there."""
    if "log" not in _PREPARED:
        config_dir().mkdir(parents=True, exist_ok=True)
        _PREPARED["log"] = open(log_path(), "a", buffering=1)  # noqa: SIM115 - open for the process' life
    log = _PREPARED["log"]
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield


def prepare() -> Any:
    """Configure and import LIBERO once per process; returns the ``libero.libero`` module."""
    if "module" in _PREPARED:
        return _PREPARED["module"]
    require_extra("libero", "the LIBERO suites")
    from lawm_eval.assets import require

    assets = require("libero_assets")
    prepare_offscreen_rendering()
    spec = importlib.util.find_spec("libero.libero")
    if spec is None or not spec.submodule_search_locations:
        raise LawmEvalError('the libero package has no libero.libero module: pip install "lawm-eval[libero]"')
    root = Path(next(iter(spec.submodule_search_locations)))
    folder = config_dir()
    write_config(folder, {"benchmark_root": str(root), "bddl_files": str(root / "bddl_files"),
                          "init_states": str(root / "init_files"), "datasets": str(cache_dir() / "libero_datasets"),
                          "assets": str(assets)})
    os.environ["LIBERO_CONFIG_PATH"] = str(folder)
    with third_party_output():
        import libero.libero as libero_module
        import libero.libero.benchmark  # noqa: F401 - imports robosuite, which prints its macro warnings
        import libero.libero.envs  # noqa: F401

    libero_module._assets_path_cache = str(assets)  # the local scene files, never the Hub
    _PREPARED["module"] = libero_module
    return libero_module


def write_config(folder: Path, config: dict[str, str]) -> None:
    """LIBERO's ``config.yaml`` in ``folder``, replaced in one step (a temporary file renamed) and only
    when it changes: processes starting side by side read it while others write it, and a half-written
    file reads as an empty config inside LIBERO's import."""
    import yaml

    path = folder / "config.yaml"
    text = yaml.safe_dump(config)
    if path.is_file() and path.read_text() == text:
        return
    replace_atomically(path, lambda temporary: temporary.write_text(text))


@dataclass(frozen=True)
class TaskInfo:
    index: int
    name: str
    language: str
    bddl_file: str


def benchmark_tasks(benchmark: str) -> tuple[Any, list[TaskInfo]]:
    libero_module = prepare()
    from libero.libero import benchmark as benchmarks

    available = benchmarks.get_benchmark_dict()
    if benchmark not in available:
        from lawm_eval.errors import did_you_mean

        raise LawmEvalError(f"unknown LIBERO benchmark '{benchmark}'{did_you_mean(benchmark, available)}")
    with third_party_output():  # get_benchmark prints the task order
        suite = available[benchmark]()
    bddl_root = Path(libero_module.get_libero_path("bddl_files"))
    tasks = []
    for i in range(suite.n_tasks):
        task = suite.get_task(i)
        tasks.append(TaskInfo(i, task.name, task.language, str(bddl_root / task.problem_folder / task.bddl_file)))
    return suite, tasks


def make_env(task: TaskInfo, image_size: int, cameras: Sequence[str], seed: int) -> Any:
    """The task's environment: with ``cameras`` (robosuite names; the reference scripts render
    ``CAMERAS``, agentview and wrist) rendered at ``image_size`` square (``OffScreenRenderEnv``), or,
    with no cameras, without any rendering when the policy reads no images (``ControlEnv``: the same physics, much faster —
    tests/test_libero.py compares them). Rendering dominates a step on CPU (EGL software: ~0.1 s per
    camera and frame, whatever its size, against ~0.04 s of physics), so a recorder that keeps only the
    agentview renders only it, and so does the suite for a policy that declares it reads only that camera. ``env.seed(seed)`` once, as openpi does per task (openvla-oft seeds 0)."""
    prepare()
    from libero.libero.envs.env_wrapper import ControlEnv, OffScreenRenderEnv

    with third_party_output():
        if cameras:
            env = OffScreenRenderEnv(bddl_file_name=task.bddl_file, camera_heights=image_size,
                                     camera_widths=image_size, camera_names=list(cameras))
        else:
            env = ControlEnv(bddl_file_name=task.bddl_file, use_camera_obs=False, has_offscreen_renderer=False,
                             has_renderer=False)
    env.seed(seed)
    return env


def quat_to_axis_angle(quat_xyzw: np.ndarray) -> np.ndarray:
    """robosuite's quaternion (x, y, z, w) → axis-angle (3,), as openpi builds the state."""
    q = np.asarray(quat_xyzw, dtype=float)
    w = np.clip(q[3], -1.0, 1.0)
    den = np.sqrt(1.0 - w * w)
    if np.isclose(den, 0.0):
        return np.zeros(3)
    return q[:3] * 2.0 * np.arccos(w) / den


def settle(env: Any, initial_state: np.ndarray, wait_steps: int) -> dict[str, Any]:
    """Start an episode as the reference scripts do: reset, load the stored initial state, then
    ``wait_steps`` dummy actions while the objects settle (``done`` ignored); the observation after.
    Nobody reads the frames before the last step, so the cameras render only in that one
    (``cameras_off``; tests/test_libero.py checks the observation is bit-identical)."""
    if wait_steps == 0:
        env.reset()
        return env.set_init_state(initial_state)
    with cameras_off(env):
        env.reset()
        env.set_init_state(initial_state)
        for _ in range(wait_steps - 1):
            env.step(DUMMY_ACTION)
    raw, _, _, _ = env.step(DUMMY_ACTION)
    return raw


@contextlib.contextmanager
def cameras_off(env: Any) -> Iterator[None]:
    """The environment's camera observables disabled (no rendering) inside the block. robosuite
    restarts an observable's sampling clock when it is enabled again, which would move the substep
    its next frame is taken at; so each camera gets back the clock of the end-effector observable,
    which kept running at the same rate: the next frames are those of cameras that never stopped.
    An environment without robosuite's observables (no cameras, a test double) is left as it is."""
    robot_env = getattr(env, "env", None)
    observables = getattr(robot_env, "_observables", {})  # robosuite has no public getter for the sampling clock
    names = [name for name in observables if name.endswith("_image") and observables[name].is_enabled()]
    for name in names:
        if observables[name]._sampling_timestep != observables["robot0_eef_pos"]._sampling_timestep:
            raise LawmEvalError(f"LIBERO camera {name} samples at another rate than the robot state")
    for name in names:
        robot_env.modify_observable(name, "enabled", False)
    try:
        yield
    finally:
        clock = observables.get("robot0_eef_pos")
        for name in names:
            robot_env.modify_observable(name, "enabled", True)
            camera = observables[name]
            camera._time_since_last_sample, camera._sampled = clock._time_since_last_sample, clock._sampled
            camera._current_delay = clock._current_delay


def policy_state(raw: dict[str, Any]) -> np.ndarray:
    """The suites' 8-D state (openpi's LIBERO state): end-effector position, axis-angle and the two
    gripper joint positions."""
    return np.concatenate([raw["robot0_eef_pos"], quat_to_axis_angle(raw["robot0_eef_quat"]),
                           raw["robot0_gripper_qpos"]]).astype(np.float32)


def rotate_180(image: np.ndarray) -> np.ndarray:
    """The reference scripts' image convention: flip both axes (robosuite renders upside down);
    openvla-oft libero_utils.py:36, 43, openpi main.py:115-116 (``img[::-1, ::-1]``)."""
    return np.ascontiguousarray(image[::-1, ::-1])
