"""mp4 encode/decode with the ffmpeg binary that imageio-ffmpeg ships (no system ffmpeg needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lawm_eval.extras import require_extra


def write_mp4(frames: np.ndarray, path: Path, fps: float) -> None:
    """(T,H,W,3) uint8 → H.264 yuv444p mp4 at constant quality (crf 10: visually lossless)."""
    require_extra("data", "writing mp4 videos")
    import imageio.v2 as imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1, pixelformat="yuv444p",
                            ffmpeg_params=["-crf", "10"], ffmpeg_log_level="error") as writer:
        for frame in frames:
            writer.append_data(np.ascontiguousarray(frame))


def read_mp4(path: Path) -> np.ndarray:
    """An mp4 → (T,H,W,3) uint8."""
    require_extra("data", "reading mp4 videos")
    import imageio.v2 as imageio

    with imageio.get_reader(path, format="ffmpeg") as reader:
        return np.stack([np.asarray(frame) for frame in reader])
