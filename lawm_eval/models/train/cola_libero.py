"""Adapt CoLA-World and its two-stage baseline to LIBERO as the paper adapts them to its downstream
domains (CoLA-World §4.4, App. C.2; LIBERO is one of them, Table 3), so that ``suite=libero_imagined
suite.world_model=cola_world`` (or ``cola_two_stage``) imagines LIBERO episodes through them:

    python -m lawm_eval.models.train cola_world_libero

From each Franka checkpoint, its LAM (IDM + codebook) frozen: the adapter, a 2-layer MLP from one
executed chunk of real LIBERO actions (8 × 7 = 56-D, one transition, as ``lawm_libero``) to the GT-LAM
code indices (cross-entropy, 1K steps × 64), then the world model fine-tuned on GT-LAM latents (3K
steps × 16); both read through ``visual_ae_libero`` (``python -m lawm_eval.models.train lawm_libero``
trains it). Data: the libero_object demos of ``libero_world_models`` (initial states 28-29 held out).
"""

from __future__ import annotations

from lawm_eval.data.recipes import ensure_dataset
from lawm_eval.models.train import libero_world_models as libero
from lawm_eval.models.train.cola_robodesk import WM_STEPS, adapt
from lawm_eval.models.train.data import encode_frames
from lawm_eval.models.train.libero_bc import load_demos
from lawm_eval.models.zoo import load_autoencoder

SOURCES = {"cola_two_stage_libero": "cola_two_stage", "cola_world_libero": "cola_world"}  # adapted <- Franka


def main(steps: int = WM_STEPS) -> dict:
    """``steps`` world-model steps (the adapter a third of them)."""
    train_eps, held_eps = libero.split(load_demos(ensure_dataset(libero.DATASET), 64))
    autoencoder = load_autoencoder(libero.AUTOENCODER)
    data = libero.strided_windows(train_eps, [encode_frames(autoencoder, e.frames) for e in train_eps], window=1)
    held = libero.thinned(libero.strided_windows(held_eps, [encode_frames(autoencoder, e.frames) for e in held_eps],
                                                 window=3))
    return {name: adapt(name, source, data, held, autoencoder, steps, libero.DATASET, 7 * libero.STRIDE)
            for name, source in SOURCES.items()}
