"""A folder of LeRobot datasets read as one (what ``data generate libero_rollouts`` writes: one dataset
per task, ``<root>/<task name>/``): episodes in the order of the sorted folder names, each carrying the
folder it came from in ``meta["dataset"]``. Folders without a ``.complete`` marker where their siblings
have one (a task still being written) are left out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lawm_eval.data.episode import Episode
from lawm_eval.errors import LawmEvalError


def dataset_folders(root: Path) -> list[Path]:
    """The LeRobot datasets directly under ``root`` (only the finished ones when any is marked finished)."""
    folders = sorted(p for p in root.iterdir() if (p / "meta" / "info.json").is_file()) if root.is_dir() else []
    finished = [p for p in folders if (p / ".complete").exists()]
    return finished or folders


class DatasetCollection:
    def __init__(self, root: str | Path, camera: str | None = None):
        from lawm_eval.data.lerobot import LeRobotDataset

        self.root = Path(root)
        folders = dataset_folders(self.root)
        if not folders:
            raise LawmEvalError(f"{self.root}: no LeRobot dataset folders inside")
        self.parts = [LeRobotDataset(folder, camera=camera) for folder in folders]
        cameras = {tuple(part.cameras) for part in self.parts}
        if len(cameras) > 1:
            raise LawmEvalError(f"{self.root}: its datasets record different cameras ({sorted(cameras)})")
        self.index = [(p, i) for p, part in enumerate(self.parts) for i in range(len(part))]

    @property
    def cameras(self) -> list[str]:
        return self.parts[0].cameras

    @property
    def camera(self) -> str:
        return self.parts[0].camera

    def describe(self) -> str:
        return (f"{len(self.parts)} LeRobot datasets in {self.root} ({len(self)} episodes; the first: "
                f"{self.parts[0].describe()})")

    def __len__(self) -> int:
        return len(self.index)

    def lengths(self) -> list[int]:
        return [n for part in self.parts for n in part.lengths()]

    def episode(self, i: int) -> Episode:
        if not 0 <= i < len(self):
            raise IndexError(f"episode {i} out of range 0..{len(self) - 1}")
        part, j = self.index[i]
        episode = self.parts[part].episode(j)
        episode.meta = {**episode.meta, "dataset": self.parts[part].root.name}
        return episode

    def __iter__(self) -> Iterator[Episode]:
        for i in range(len(self)):
            yield self.episode(i)
