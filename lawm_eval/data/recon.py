"""NWM's processed RECON layout: one folder per trajectory holding numbered frames and poses.

    <root>/<trajectory>/0.jpg, 1.jpg, ...      frames at 4 fps
    <root>/<trajectory>/traj_data.pkl          {"position": (T,2) float, "yaw": (T,) float}

Actions are derived as NWM does: the displacement to the next pose expressed in the current
robot frame and the yaw change, (dx, dy, dyaw), wrapped to (−π, π].
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from lawm_eval.data.episode import Episode
from lawm_eval.errors import LawmEvalError
from lawm_eval.safe_pickle import load_pickle

FPS = 4.0


def wrap_angle(angle: np.ndarray) -> np.ndarray:
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi


def relative_actions(position: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """(T,2), (T,) → (T,3): row t is the move from pose t to t+1 in the frame of pose t
    (the last row repeats zeros)."""
    delta = np.diff(position, axis=0)  # (T-1, 2) world frame
    c, s = np.cos(yaw[:-1]), np.sin(yaw[:-1])
    local = np.stack([c * delta[:, 0] + s * delta[:, 1], -s * delta[:, 0] + c * delta[:, 1]], axis=1)
    dyaw = wrap_angle(np.diff(yaw))[:, None]
    actions = np.concatenate([local, dyaw], axis=1)
    return np.concatenate([actions, np.zeros((1, 3))], axis=0).astype(np.float32)


def write_trajectory(folder: str | Path, frames: np.ndarray, position: np.ndarray, yaw: np.ndarray) -> Path:
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{i}.jpg", quality=95)
    with open(folder / "traj_data.pkl", "wb") as f:
        pickle.dump({"position": np.asarray(position, dtype=np.float64), "yaw": np.asarray(yaw, dtype=np.float64)}, f)
    return folder


class ReconDataset:
    """Trajectories in NWM's layout; ``names`` restricts (and orders) them, like its split files."""

    cameras = ["front"]  # NWM's processed RECON keeps the one front camera
    camera = "front"

    def __init__(self, root: str | Path, names: Sequence[str] | None = None, camera: str | None = None):
        self.root = Path(root)
        if camera not in (None, "front"):
            raise LawmEvalError(f"{self.root}: RECON-style datasets have one camera, 'front' (got '{camera}')")
        if not self.root.is_dir():
            raise LawmEvalError(f"no RECON-style dataset at {self.root}")
        found = sorted(p.name for p in self.root.iterdir() if (p / "traj_data.pkl").is_file())
        if names is not None:
            missing = sorted(set(names) - set(found))
            if missing:
                raise LawmEvalError(f"{self.root}: trajectories not found: {', '.join(missing[:5])}")
            found = list(names)
        if not found:
            raise LawmEvalError(f"{self.root} has no trajectory folders with traj_data.pkl")
        self.names = found

    def __len__(self) -> int:
        return len(self.names)

    def describe(self) -> str:
        return f"RECON-style dataset {self.root} ({len(self)} trajectories at {FPS:g} fps)"

    def lengths(self) -> list[int]:
        return [len(self.poses(i)[0]) for i in range(len(self))]

    def poses(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        data = load_pickle(self.root / self.names[i] / "traj_data.pkl")
        if not isinstance(data, dict) or "position" not in data or "yaw" not in data:
            raise LawmEvalError(f"{self.names[i]}/traj_data.pkl must hold 'position' and 'yaw'")
        position = np.asarray(data["position"], dtype=np.float64)[:, :2]
        yaw = np.asarray(data["yaw"], dtype=np.float64).reshape(-1)
        return position, yaw

    def episode(self, i: int) -> Episode:
        from PIL import Image

        folder = self.root / self.names[i]
        position, yaw = self.poses(i)
        count = len(position)
        frames = np.stack([np.asarray(Image.open(folder / f"{t}.jpg").convert("RGB")) for t in range(count)])
        states = np.concatenate([position, yaw[:, None]], axis=1).astype(np.float32)
        return Episode(frames, relative_actions(position, yaw), states, task=self.names[i], fps=FPS,
                       meta={"trajectory": self.names[i]})

    def __iter__(self) -> Iterator[Episode]:
        return (self.episode(i) for i in range(len(self)))
