"""Video files: H.264 mp4 through the ffmpeg binary that imageio-ffmpeg ships (no system ffmpeg
needed), an animated GIF (Pillow) where that is not installed. One writer for episode videos and
dataset videos."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from lawm_eval.extras import require_extra

VISUALLY_LOSSLESS_CRF = 10


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"video frames must be (T,H,W,3), got {frames.shape}")
    return frames.astype(np.uint8, copy=False)


def write_mp4(frames: np.ndarray, path: Path, fps: float, crf: int = VISUALLY_LOSSLESS_CRF) -> None:
    """(T,H,W,3) uint8 → H.264 yuv444p mp4 at constant quality (crf 10: visually lossless)."""
    require_extra("data", "writing mp4 videos")
    import imageio.v2 as imageio

    frames = _check_frames(frames)
    path.parent.mkdir(parents=True, exist_ok=True)
    # macro_block_size=1 keeps odd sizes (e.g. 33x33 stays 33x33) instead of resizing
    with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1, pixelformat="yuv444p",
                            ffmpeg_params=["-crf", str(crf)], ffmpeg_log_level="error") as writer:
        for frame in frames:
            writer.append_data(np.ascontiguousarray(frame))


def read_mp4(path: Path, start: int = 0, count: int | None = None) -> np.ndarray:
    """An mp4 → (T,H,W,3) uint8: frames ``start`` .. ``start + count`` (all from ``start`` when
    ``count`` is None), decoded in order (files holding many episodes are read up to the last one)."""
    require_extra("data", "reading mp4 videos")
    import imageio.v2 as imageio

    frames = []
    with imageio.get_reader(path, format="ffmpeg") as reader:
        for i, frame in enumerate(reader):
            if i < start:
                continue
            if count is not None and len(frames) >= count:
                break
            frames.append(np.asarray(frame))
    if not frames:
        raise ValueError(f"{path}: no frames from index {start}")
    return np.stack(frames)


def write_video(frames: np.ndarray, stem: Path, fps: float = 10) -> Path:
    """An episode's frames (T,H,W,3) uint8 → ``stem.mp4`` (``write_mp4``) or, without imageio-ffmpeg,
    ``stem.gif``; returns the path written."""
    frames = _check_frames(frames)
    if importlib.util.find_spec("imageio") and importlib.util.find_spec("imageio_ffmpeg"):
        path = stem.with_suffix(".mp4")
        write_mp4(frames, path, fps)
        return path
    from PIL import Image

    stem.parent.mkdir(parents=True, exist_ok=True)
    path = stem.with_suffix(".gif")
    images = [Image.fromarray(frame) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return path
