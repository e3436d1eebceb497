"""Named datasets that lawm-eval generates itself, reproducibly, into ``$LAWM_EVAL_CACHE/data``.

Training recipes feed the bundled checkpoints (their last ``held_out`` episodes are kept for
validation); evaluation recipes use other seeds and are never trained on — the suites' default data.
A suite's ``dataset`` parameter takes a recipe name or a path to a dataset of a supported format.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from lawm_eval.errors import BlockedError, LawmEvalError
from lawm_eval.paths import cache_dir

# Folders end in the recipe's data version: franka_v2 / franka_val_v2 since the scene's cube is seeded (2026-12-04).
RECIPES = {
    "franka": {"kind": "franka", "episodes": 120, "seed": 0, "held_out": 10, "folder": "franka_v2",
               "gripper_units": "width_m"},
    "navigation": {"kind": "navigation", "episodes": 60, "seed": 0, "held_out": 6, "folder": "navigation_v1"},
    "franka_val": {"kind": "franka", "episodes": 16, "seed": 10_000, "held_out": 0, "folder": "franka_val_v2",
                   "gripper_units": "width_m"},
    "navigation_val": {"kind": "navigation", "episodes": 20, "seed": 10_000, "held_out": 0,
                       "folder": "navigation_val_v1"},
    # RoboDesk (VP²'s camera, in the robodesk simulator environment): 18 and 3 rollouts per task.
    "robodesk": {"kind": "robodesk", "episodes": 126, "seed": 0, "held_out": 7, "folder": "robodesk_v1"},
    "robodesk_val": {"kind": "robodesk", "episodes": 21, "seed": 10_000, "held_out": 0, "folder": "robodesk_val_v1"},
    # The BFA stand-in (head camera, scripted grasp-lift-place with action noise 0 / 0.5 / 1): 5 rollouts per
    # train-split object, and the two held-out splits of LAC-WM §4.4 under other seeds.
    "bfa": {"kind": "bfa", "split": "train", "episodes": 330, "seed": 0, "held_out": 22, "folder": "bfa_v2"},
    "bfa_unseen_instances": {"kind": "bfa", "split": "unseen_instances", "episodes": 44, "seed": 20_000,
                             "held_out": 0, "folder": "bfa_unseen_instances_v2"},
    "bfa_unseen_categories": {"kind": "bfa", "split": "unseen_categories", "episodes": 24, "seed": 30_000,
                              "held_out": 0, "folder": "bfa_unseen_categories_v2"},
    # LIBERO (libero_object, the scripted oracle (perturbation level 0), 128² agentview): initial states
    # 10..29 of every task, one LeRobot dataset per task; the suites' trials 0..9 stay unseen. The
    # episode limits are the libero_object suite's (suites/libero_object/v2.yaml; tests/test_recipes.py).
    "libero_object_demos": {"kind": "libero_rollouts", "benchmark": "libero_object", "first_init": 10,
                            "episodes": 20, "levels": [0], "max_steps": 280, "wait_steps": 10, "seed": 0,
                            "held_out": 0, "folder": "libero_object_demos_v1"},
}

TRAINING = ("franka", "navigation")  # the recipes the bundled checkpoints are trained on


def dataset_path(name: str) -> Path:
    return cache_dir() / "data" / RECIPES[name]["folder"]


def is_generated(name: str) -> bool:
    """False for a recipe whose dataset is not in the cache yet (anything else is a path: True)."""
    return name not in RECIPES or (dataset_path(name) / ".complete").exists()


def ensure_dataset(name: str) -> Path:
    """Generate the recipe's dataset into the cache unless it is there already."""
    path = dataset_path(name)
    if is_generated(name):
        return path
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a second process (a test worker, a parallel run) waits, then reads it
            print(f"lawm-eval: waiting for another process generating the '{name}' dataset", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_generated(name):  # the process that held the lock may have generated it meanwhile
            generate_apart(RECIPES[name], path, keep_open=(lock.fileno(),))
    return path


def generate_apart(recipe: dict, path: Path, keep_open: tuple[int, ...] = ()) -> None:
    """Generate a recipe's dataset at ``path`` in a child process (``python -m lawm_eval.data.generate``);
    ``keep_open``: file descriptors the child shares (the lock, held until the child ends too, even if its
    parent is killed first).

    The generators render with MuJoCo through EGL; on machines without a GPU that is Mesa's llvmpipe,
    which loads LLVM into the process, and torch's first optimizer then imports triton, whose own LLVM
    crashes the process (a segfault). Generating apart keeps every caller's process free of both.
    """
    with tempfile.TemporaryDirectory() as tmp:
        error_file = Path(tmp) / "error"
        command = [sys.executable, "-m", "lawm_eval.data.generate", json.dumps(recipe), str(path), str(error_file)]
        code = subprocess.run(command, check=False, pass_fds=keep_open).returncode
        if code == 0:
            return
        lines = error_file.read_text().strip().splitlines() if error_file.exists() else []
        if len(lines) > 1:
            raise BlockedError(lines)
        if lines:
            raise LawmEvalError(lines[0])
        raise LawmEvalError(f"generating the {recipe['kind']} dataset at {path} failed (its process exited with "
                            f"{code}; its output is above)")


def generate_here(recipe: dict, path: Path) -> None:
    """Generate a recipe's dataset at ``path`` in this process (the child of ``generate_apart``)."""
    kind = recipe["kind"]
    if kind == "franka":
        from lawm_eval.data.generate.franka import generate_franka

        generate_franka(path, recipe["episodes"], recipe["seed"])
    elif kind == "navigation":
        from lawm_eval.data.generate.navigation import generate_navigation

        generate_navigation(path, recipe["episodes"], recipe["seed"])
    elif kind == "robodesk":
        from lawm_eval.data.generate.robodesk import generate_dataset

        generate_dataset(path, recipe["episodes"], recipe["seed"])
    elif kind == "bfa":
        from lawm_eval.data.generate.bfa import generate_dataset as generate_bfa

        generate_bfa(path, recipe["episodes"], recipe["seed"], recipe["split"])
    elif kind == "libero_rollouts":
        from lawm_eval.data.generate.libero_rollouts import RolloutPlan, generate_libero_rollouts
        from lawm_eval.envs.libero_env import benchmark_tasks

        first = recipe["first_init"]
        plan = RolloutPlan(recipe["benchmark"], range(len(benchmark_tasks(recipe["benchmark"])[1])),
                           range(first, first + recipe["episodes"]), recipe["levels"], recipe["max_steps"],
                           recipe["wait_steps"], seed=recipe["seed"])
        generate_libero_rollouts(path, plan)
    else:
        raise LawmEvalError(f"unknown dataset kind '{kind}' (known: franka, navigation, robodesk, bfa, "
                            "libero_rollouts)")
    (path / ".complete").write_text("ok\n")


def dataset_location(spec: str) -> Path:
    """Where a recipe's dataset is (or will be) cached, or the path a spec names; nothing is generated."""
    return dataset_path(spec) if spec in RECIPES else Path(spec).expanduser()


def resolve_dataset(spec: str) -> Path:
    """A recipe name (generated on first use) or a path to an existing dataset."""
    if spec in RECIPES:
        return ensure_dataset(spec)
    path = dataset_location(spec)
    if not path.exists():
        from lawm_eval.errors import did_you_mean

        raise LawmEvalError(f"dataset '{spec}' is neither a recipe nor an existing path{did_you_mean(spec, RECIPES)}")
    return path
