"""Optional extras: which modules each provides, and a check that never imports them."""

from __future__ import annotations

import importlib.util

from lawm_eval.errors import MissingDependencyError

EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "metrics": ("torchvision", "lpips", "sklearn"),
    "libero": ("libero", "robosuite", "mujoco", "h5py"),
    "robodesk": ("robodesk", "dm_control", "mujoco"),
    "ray": ("ray",),
    "data": ("pyarrow", "imageio", "imageio_ffmpeg", "h5py"),
    "sim": ("robosuite", "mujoco"),
    "bfa": ("mujoco",),
    "dev": ("pytest",),
    "serve": ("msgpack", "websockets"),
}


def missing_module(extra: str) -> str | None:
    """The first module of ``extra`` that is not installed, or None (found without importing it)."""
    for module in EXTRA_MODULES.get(extra, ()):
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except (ImportError, ValueError):
            return module
    return None


def require_extra(extra: str, what: str) -> None:
    """Raise MissingDependencyError naming the pip command when ``extra`` is not installed."""
    module = missing_module(extra)
    if module is not None:
        raise MissingDependencyError(what, extra, module)
