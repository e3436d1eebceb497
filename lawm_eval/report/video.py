"""Write an episode's frames as mp4 (imageio-ffmpeg, when installed) or animated GIF (Pillow)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np


def write_video(frames: np.ndarray, stem: Path, fps: int = 10) -> Path:
    """frames (T,H,W,3) uint8 → ``stem.mp4`` or ``stem.gif``; returns the path written."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"video frames must be (T,H,W,3), got {frames.shape}")
    frames = frames.astype(np.uint8, copy=False)
    stem.parent.mkdir(parents=True, exist_ok=True)
    if importlib.util.find_spec("imageio") and importlib.util.find_spec("imageio_ffmpeg"):
        import imageio.v2 as imageio

        path = stem.with_suffix(".mp4")
        # macro_block_size=1 keeps odd sizes (e.g. 32x32 stays 32x32) instead of resizing
        with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1, quality=8) as writer:
            for frame in frames:
                writer.append_data(frame)
        return path
    from PIL import Image

    path = stem.with_suffix(".gif")
    images = [Image.fromarray(frame) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return path
