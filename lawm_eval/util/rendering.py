"""Off-screen MuJoCo rendering in this process: one place that prepares it."""

from __future__ import annotations

import os


def prepare_offscreen_rendering() -> None:
    """Ask MuJoCo for EGL unless the user chose a backend (``MUJOCO_GL``; PyOpenGL follows it for egl and
    osmesa), and load triton first if it is here.

    Without a GPU, EGL and OSMesa are Mesa's llvmpipe, which loads LLVM into the process. torch's first optimiser
    later imports triton, whose own LLVM then crashed the process (a segfault); loaded before Mesa's, it does not.
    """
    backend = os.environ.setdefault("MUJOCO_GL", "egl")
    if backend in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", backend)
    try:
        import triton  # noqa: F401  (0.1 s; only its shared library's load order matters)
    except Exception:  # noqa: BLE001 - absent or broken: nothing to order
        pass
