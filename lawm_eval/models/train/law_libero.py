"""Train LAW on LIBERO, an evaluator for ``suite=libero_imagined suite.world_model=law_libero``:

    python -m lawm_eval.models.train law_libero

``law``'s recipe (RSSM + latent actions + imitation jointly, then the action encoder fine-tuned
through the RSSM on real actions; ``lawm_eval/models/train/law.py``) on the libero_object demos
that ``lawm_libero`` learns from, through the same ``visual_ae_libero``: one transition is one
executed chunk of 8 LIBERO actions (56-D), windows of 3 transitions, initial states 28-29 held out.
"""

from __future__ import annotations

import time

from lawm_eval.data.recipes import ensure_dataset
from lawm_eval.models.train import libero_world_models as libero
from lawm_eval.models.train.data import encode_frames
from lawm_eval.models.train.law import CONFIG, train_law
from lawm_eval.models.train.libero_bc import load_demos
from lawm_eval.models.zoo import load_autoencoder

NAME = "law_libero"
STEPS = 3000  # per stage, as law


def main(steps: int = STEPS) -> dict:
    tic = time.monotonic()
    train_eps, held_eps = libero.split(load_demos(ensure_dataset(libero.DATASET), 64))
    autoencoder = load_autoencoder(libero.AUTOENCODER)
    data = libero.strided_windows(train_eps, [encode_frames(autoencoder, e.frames) for e in train_eps], window=3)
    held = libero.thinned(libero.strided_windows(held_eps, [encode_frames(autoencoder, e.frames) for e in held_eps],
                                                 window=3))
    config = {**CONFIG, "action_dim": 7 * libero.STRIDE, "frame_controller": False}  # as trained before law had one
    return train_law(NAME, config, data, held, libero.DATASET, autoencoder, steps,
                     {"data_seconds": round(time.monotonic() - tic, 1)})
