"""Real-shaped datasets for the tests: lawm-eval's generated clips re-laid-out the way real robot
datasets are — non-square, higher resolution, two cameras, LeRobot v2.1 or v3.0.

The main camera ``exterior`` is 192×320 (a DROID-platform clip's size): the generated 64×64 frame
scaled to 192×192 sits in the middle of a textured 320-wide frame, so a centre crop recovers the
scene. The second camera ``wrist`` is 120×160: a zoomed crop of the same frame. Navigation clips
keep their poses as ``observation.state`` (x, y, yaw) and NWM-style (dx, dy, dyaw) actions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

EXTERIOR = (192, 320)
WRIST = (120, 160)


def exterior_view(frames: np.ndarray, size: tuple[int, int] = EXTERIOR) -> np.ndarray:
    """(T,64,64,3) → (T,H,W,3): the frame scaled to H×H, centred between textured side bands."""
    from PIL import Image

    height, width = size
    rng = np.random.default_rng(0)
    band = rng.integers(40, 90, size=(height, width, 3), dtype=np.uint8)  # a static background texture
    out = np.repeat(band[None], len(frames), axis=0)
    left = (width - height) // 2
    for t, frame in enumerate(frames):
        out[t, :, left : left + height] = np.asarray(Image.fromarray(frame).resize((height, height), Image.BICUBIC))
    return out


def wrist_view(frames: np.ndarray, size: tuple[int, int] = WRIST) -> np.ndarray:
    """(T,64,64,3) → (T,h,w,3): the central 48×48 region zoomed to h×w (another aspect ratio)."""
    from PIL import Image

    height, width = size
    return np.stack([np.asarray(Image.fromarray(f[8:56, 8:56]).resize((width, height), Image.BILINEAR)) for f in frames])


def write_real_shaped(source: str | Path, out: str | Path, version: str, episodes: int | None = None) -> Path:
    """Re-write the dataset at ``source`` (a generated LeRobot or RECON-layout dataset) as a
    two-camera, non-square LeRobot ``version`` dataset at ``out``."""
    from lawm_eval.data.episode import Episode
    from lawm_eval.data.formats import open_dataset
    from lawm_eval.data.lerobot import write_lerobot

    dataset = open_dataset(source)
    count = len(dataset) if episodes is None else min(episodes, len(dataset))
    clips = [dataset.episode(i) for i in range(count)]
    relaid = [Episode(exterior_view(ep.frames), ep.actions, ep.states, task=ep.task or "navigate", fps=ep.fps)
              for ep in clips]
    return write_lerobot(out, relaid, fps=clips[0].fps, image_key="exterior", version=version,
                         extra_cameras={"wrist": [wrist_view(ep.frames) for ep in clips]}, episodes_per_file=3)
