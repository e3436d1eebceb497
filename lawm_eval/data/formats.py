"""Open any supported dataset by looking at what is on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lawm_eval.errors import LawmEvalError


def detect_format(path: str | Path) -> str:
    path = Path(path)
    if (path / "meta" / "info.json").is_file():
        return "lerobot"
    if path.is_file() and path.suffix in (".hdf5", ".h5"):
        return "libero_hdf5"
    if path.is_dir() and any((p / "traj_data.pkl").is_file() for p in path.iterdir() if p.is_dir()):
        return "recon"
    if path.is_dir() and any((p / "meta" / "info.json").is_file() for p in path.iterdir() if p.is_dir()):
        return "lerobot_collection"
    raise LawmEvalError(
        f"{path}: not a LeRobot dataset (meta/info.json), a folder of them, a LIBERO hdf5 file, or a "
        "RECON-style folder (trajectory folders with traj_data.pkl)"
    )


def open_dataset(path: str | Path, camera: str | None = None, **kwargs: Any) -> Any:
    """A dataset object with ``len()``, ``lengths()``, ``episode(i)``, iteration over Episodes,
    ``cameras``, ``camera`` (the one read: ``camera``, or the dataset's first) and ``describe()``."""
    kwargs["camera"] = camera
    kind = detect_format(path)
    if kind == "lerobot":
        from lawm_eval.data.lerobot import LeRobotDataset

        return LeRobotDataset(path, **kwargs)
    if kind == "lerobot_collection":
        from lawm_eval.data.collection import DatasetCollection

        return DatasetCollection(path, **kwargs)
    if kind == "libero_hdf5":
        from lawm_eval.data.libero_hdf5 import LiberoDemos

        return LiberoDemos(path, **kwargs)
    from lawm_eval.data.recon import ReconDataset

    return ReconDataset(path, **kwargs)
