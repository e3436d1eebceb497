"""One recorded episode in memory, whatever format it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Episode:
    """frames (T,H,W,3) uint8; actions (T,A) float32 where actions[t] leads from frame t to t+1
    (the last row has no successor, LeRobot's convention of one row per frame); states (T,S)."""

    frames: np.ndarray
    actions: np.ndarray
    states: np.ndarray | None = None
    task: str = ""
    fps: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3 or self.frames.dtype != np.uint8:
            raise ValueError(f"frames must be (T,H,W,3) uint8, got {self.frames.shape} {self.frames.dtype}")
        if len(self.actions) != len(self.frames):
            raise ValueError(f"{len(self.frames)} frames but {len(self.actions)} action rows")
        if self.states is not None and len(self.states) != len(self.frames):
            raise ValueError(f"{len(self.frames)} frames but {len(self.states)} state rows")

    def __len__(self) -> int:
        return len(self.frames)
