"""LIBERO's hdf5 demonstration format (robomimic layout), read and written with h5py.

    data (attrs: env_args JSON, problem_info JSON, bddl_file_name, total)
      demo_<i> (attrs: num_samples, init_state)
        actions (T,7)   states (T,D) flattened MuJoCo state   rewards (T,)   dones (T,)
        obs/agentview_rgb (T,H,W,3) uint8   obs/eye_in_hand_rgb   obs/ee_pos (T,3)   obs/ee_ori (T,3)
        obs/gripper_states (T,2)   obs/joint_states (T,7)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lawm_eval.data.episode import Episode
from lawm_eval.errors import LawmEvalError
from lawm_eval.extras import require_extra


def write_libero_demos(path: str | Path, demos: list[dict[str, Any]], env_args: dict[str, Any],
                       problem_info: dict[str, Any], bddl_file_name: str) -> Path:
    """Each demo: {'actions', 'states', 'rewards', 'dones', 'obs': {name: array}}."""
    require_extra("data", "writing LIBERO hdf5 demos")
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        data = f.create_group("data")
        data.attrs["env_args"] = json.dumps(env_args)
        data.attrs["problem_info"] = json.dumps(problem_info)
        data.attrs["bddl_file_name"] = bddl_file_name
        total = 0
        for i, demo in enumerate(demos):
            group = data.create_group(f"demo_{i}")
            n = len(demo["actions"])
            group.attrs["num_samples"] = n
            if "init_state" in demo:
                group.attrs["init_state"] = demo["init_state"]
            for key in ("actions", "states", "rewards", "dones"):
                if key in demo:
                    group.create_dataset(key, data=np.asarray(demo[key]))
            obs = group.create_group("obs")
            for name, value in demo["obs"].items():
                obs.create_dataset(name, data=np.asarray(value), compression="gzip" if value.dtype == np.uint8 else None)
            total += n
        data.attrs["total"] = total
    return path


class LiberoDemos:
    """Demos of one LIBERO hdf5 file; frames from ``image_key`` (default agentview_rgb)."""

    def __init__(self, path: str | Path, camera: str | None = None):
        require_extra("data", "reading LIBERO hdf5 demos")
        import h5py

        self.path = Path(path)
        self.image_key = camera if camera is None or camera.endswith("_rgb") else f"{camera}_rgb"
        self.image_key = self.image_key or "agentview_rgb"
        if not self.path.is_file():
            raise LawmEvalError(f"no LIBERO demo file at {self.path}")
        with h5py.File(self.path, "r") as f:
            if "data" not in f:
                raise LawmEvalError(f"{self.path} has no 'data' group (not a LIBERO/robomimic demo file)")
            self.demo_names = sorted(f["data"].keys(), key=lambda k: int(k.split("_")[-1]))
            attrs = f["data"].attrs
            self.problem_info = json.loads(attrs.get("problem_info", "{}"))
            self.env_args = json.loads(attrs.get("env_args", "{}"))
            self.bddl_file_name = attrs.get("bddl_file_name", "")
            first = f["data"][self.demo_names[0]]["obs"] if self.demo_names else {}
            self.cameras = [k[: -len("_rgb")] for k in first if k.endswith("_rgb")]
        if self.cameras and self.camera not in self.cameras:
            raise LawmEvalError(f"{self.path}: no camera '{self.camera}' (cameras: {', '.join(self.cameras)})")

    @property
    def camera(self) -> str:
        return self.image_key[: -len("_rgb")]

    def describe(self) -> str:
        return f"LIBERO demo file {self.path} ({len(self)} demos at 20 fps, camera '{self.camera}')"

    @property
    def language(self) -> str:
        return self.problem_info.get("language_instruction", "")

    def __len__(self) -> int:
        return len(self.demo_names)

    def lengths(self) -> list[int]:
        import h5py

        with h5py.File(self.path, "r") as f:
            return [int(f["data"][name]["actions"].shape[0]) for name in self.demo_names]

    def episode(self, i: int) -> Episode:
        import h5py

        with h5py.File(self.path, "r") as f:
            demo = f["data"][self.demo_names[i]]
            obs = demo["obs"]
            if self.image_key not in obs:
                raise LawmEvalError(f"{self.path}:{self.demo_names[i]} has no obs/{self.image_key}")
            frames = np.asarray(obs[self.image_key], dtype=np.uint8)
            actions = np.asarray(demo["actions"], dtype=np.float32)
            parts = [np.asarray(obs[k], dtype=np.float32) for k in ("ee_pos", "ee_ori", "gripper_states") if k in obs]
            states = np.concatenate(parts, axis=1) if parts else None
        return Episode(frames, actions, states, task=self.language, fps=20.0,
                       meta={"demo": self.demo_names[i], "file": self.path.name})

    def __iter__(self) -> Iterator[Episode]:
        return (self.episode(i) for i in range(len(self)))
