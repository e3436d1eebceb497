"""What a model consumes (its input contract) and how a suite adapts observations to it.

A model declares its inputs in its config file (``inputs:`` in ``configs/model/<name>.yaml``), or
its factory sets ``ModelBundle.inputs`` (a ``ModelInputs`` or a plain dict); a model that declares
nothing receives observations as recorded. Suites refuse, before the first episode, a model whose
declaration they cannot meet (``Suite.check_inputs``), adapt images with ``adapt_images`` and
record what the model was given in every record (``EpisodeRecord.contract``).

Resize methods (all on uint8 RGB, with PIL, the library the reference scripts use):

- ``resize``: the whole frame to (h, w), bilinear; the aspect ratio is not kept.
- ``center_crop``: the largest centred crop with the aspect ratio of (h, w), then ``resize``.
- ``resize_with_pad``: keep the aspect ratio, fit inside (h, w) bilinearly, pad with black to
  (h, w), centred (openpi ``image_tools.resize_with_pad``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from lawm_eval.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import torch

RESIZE_METHODS = ("resize", "center_crop", "resize_with_pad")
OBSERVATIONS = ("image", "state")


@dataclass(frozen=True)
class ModelInputs:
    """A model's declared input contract; None means "any" (the suite's own choice)."""

    observation: str | None = None  # image | state: what the encoder (or policy) reads
    image_size: tuple[int, int] | None = None  # (height, width) the model reads; None: as recorded
    resize: str = "resize"  # how frames of another size are adapted (RESIZE_METHODS)
    max_context_frames: int | None = None  # the most observed frames the model accepts
    state_dim: int | None = None  # size of the proprioceptive/recorded state it reads
    action_dim: int | None = None  # size of the real actions its controller (or policy) uses
    camera: str | None = None  # the camera it was trained on, when a dataset has several
    gripper: str | None = None  # its actions' gripper convention: LIBERO GRIPPER_CONVENTIONS, DROID data.droid.GRIPPER_UNITS

    @classmethod
    def from_value(cls, value: Any, where: str) -> ModelInputs:
        """A ModelInputs from None, a ModelInputs or a mapping; anything else is a ConfigError."""
        if value is None:
            return cls()
        if isinstance(value, ModelInputs):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: inputs must be a mapping, got {type(value).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown inputs key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        data = dict(value)
        if data.get("observation") not in (None, *OBSERVATIONS):
            raise ConfigError(f"{where}: inputs.observation must be one of {', '.join(OBSERVATIONS)}")
        if data.get("resize", "resize") not in RESIZE_METHODS:
            raise ConfigError(f"{where}: inputs.resize must be one of {', '.join(RESIZE_METHODS)}")
        size = data.get("image_size")
        if size is not None:
            if isinstance(size, int):
                size = (size, size)
            if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
                raise ConfigError(f"{where}: inputs.image_size must be [height, width], got {value['image_size']!r}")
            data["image_size"] = (int(size[0]), int(size[1]))
        for key in ("max_context_frames", "state_dim", "action_dim"):
            if data.get(key) is not None and (not isinstance(data[key], int) or data[key] < 1):
                raise ConfigError(f"{where}: inputs.{key} must be a positive integer, got {data[key]!r}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.image_size is not None:
            data["image_size"] = list(self.image_size)
        return data

    def delivered_size(self, recorded: tuple[int, int]) -> tuple[int, int]:
        """The (height, width) the model receives for frames recorded at ``recorded``."""
        return self.image_size or (int(recorded[0]), int(recorded[1]))


def adapt_images(frames: np.ndarray, size: tuple[int, int] | None, method: str = "resize") -> np.ndarray:
    """(..., H, W, 3) uint8 → (..., h, w, 3) uint8 by ``method``; unchanged when ``size`` is None or
    already (H, W)."""
    import numpy as np

    if method not in RESIZE_METHODS:
        raise ConfigError(f"resize method must be one of {', '.join(RESIZE_METHODS)}, got '{method}'")
    frames = np.asarray(frames)
    if size is None or tuple(frames.shape[-3:-1]) == tuple(size):
        return frames
    lead = frames.shape[:-3]
    flat = frames.reshape(-1, *frames.shape[-3:])
    out = np.stack([_adapt_one(frame, size, method) for frame in flat])
    return out.reshape(*lead, size[0], size[1], 3)


def _adapt_one(frame: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    import numpy as np
    from PIL import Image

    height, width = size
    image = Image.fromarray(np.ascontiguousarray(frame))
    if method == "center_crop":
        h, w = frame.shape[:2]
        scale = min(h / height, w / width)  # the largest box of the target's aspect ratio
        crop_h, crop_w = round(height * scale), round(width * scale)
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        image = image.crop((left, top, left + crop_w, top + crop_h))
    if method == "resize_with_pad":
        h, w = frame.shape[:2]
        ratio = max(w / width, h / height)
        new_h, new_w = int(h / ratio), int(w / ratio)
        resized = image.resize((new_w, new_h), resample=Image.BILINEAR)
        canvas = Image.new(resized.mode, (width, height), 0)
        canvas.paste(resized, ((width - new_w) // 2, (height - new_h) // 2))
        return np.asarray(canvas)
    return np.asarray(image.resize((width, height), resample=Image.BILINEAR))


def images_tensor(frames: np.ndarray) -> torch.Tensor:
    """(T,H,W,3) uint8 → (1,T,3,H,W) uint8, the layout encoders read."""
    import numpy as np
    import torch

    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)[None]
