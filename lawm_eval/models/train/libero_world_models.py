"""Train the LIBERO world models that imagine episodes for ``suite=libero_imagined`` (the world model as
a policy evaluator), on the oracle's libero_object demos (recipe ``libero_object_demos``).

    python -m lawm_eval.models.train lawm_libero

0. ``visual_ae_libero``: the shared autoencoder fine-tuned on the demos' agentview frames (128² as
   recorded, resized to its 64²);
1. ``lawm_libero``: LaWM (posterior IDM, AdaLN decoder, state head on (state, latent)) whose
   transition spans ``STRIDE`` recorded steps (one executed 8-action chunk, LaWM's "subgoal horizon =
   one action chunk"), then its adapter: real actions (the ``STRIDE`` 7-D actions, 56-D) → the IDM's
   latent, which is how a policy drives it. Deviation from the paper's one-step teacher-forced loss
   (Eq. 4): it trains with ``train_world(rollout=True)``, the one-step loss plus a 3-transition rollout
   term, because an imagined LIBERO episode chains ~35 transitions on its own predictions; with the
   one-step loss alone (and 4-step transitions) its open-loop prediction fell below copy-last's after a
   few transitions (docs/protocols/libero_imagined.md).

Every episode of the recipe is training data (the 13 in which the oracle failed too: a world model learns
dynamics, not success) except those from initial states ``HELD_OUT_INITS`` (the BC policy's and the
judge's held-out split). Held-out numbers: one-step token MSE (copy-last, GT latent, adapter), the
open-loop ``ROLLOUT``-transition rollout from real actions in tokens and as decoded PSNR against the true
frames, beside copy-last's.
"""

from __future__ import annotations

import copy
import time
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from lawm_eval.data.recipes import ensure_dataset
from lawm_eval.models.lawm import LaWM
from lawm_eval.models.train.artifacts import baseline_dir, save_golden
from lawm_eval.models.train.data import Transitions, encode_frames, windows
from lawm_eval.models.train.evaluate import FIXTURE_FRAMES, FIXTURE_WINDOWS, finish, fixture_path
from lawm_eval.models.train.libero_bc import HELD_OUT_INITS, DemoEpisode, load_demos
from lawm_eval.models.train.loop import train
from lawm_eval.models.train.visual_ae import autoencoder_golden, reconstruction_loss, save_fine_tuned
from lawm_eval.models.visual import VisualAutoencoder
from lawm_eval.models.zoo import load_autoencoder

DATASET = "libero_object_demos"
AUTOENCODER, NAME = "visual_ae_libero", "lawm_libero"
STRIDE = 8  # recorded steps per transition: one executed chunk (openvla-oft executes 8 of each)
CONFIG = {"dim": 64, "latent_dim": 16, "action_dim": 7 * STRIDE, "state_dim": 8, "depth": 2, "horizon": 1}
AE_STEPS, WORLD_STEPS = 1500, 3000
TRAIN_WINDOW = 3  # transitions per training window: the one-step loss plus the rollout term over them
ROLLOUT = 8  # held-out open-loop transitions (64 recorded steps: eight executed chunks)


def split(episodes: list[DemoEpisode]) -> tuple[list[DemoEpisode], list[DemoEpisode]]:
    """(training, held out) by initial state; failed episodes are kept (they are dynamics too)."""
    return ([e for e in episodes if e.meta["init_state"] not in HELD_OUT_INITS],
            [e for e in episodes if e.meta["init_state"] in HELD_OUT_INITS])


# -- 0. the autoencoder --------------------------------------------------------------------------
def train_autoencoder(train_eps: list[DemoEpisode], held_eps: list[DemoEpisode], steps: int) -> VisualAutoencoder:
    frames = torch.from_numpy(np.concatenate([e.frames for e in train_eps]))  # (N,64,64,3) uint8
    held = torch.from_numpy(np.concatenate([e.frames for e in held_eps])[::7][:512])
    torch.manual_seed(0)
    model = copy.deepcopy(load_autoencoder()).train()
    curve = train(model.parameters(), partial(reconstruction_loss, model, frames), steps, lr=1e-3, log_every=50)
    save_fine_tuned(AUTOENCODER, model, held, curve, "autoencoder (LIBERO demos)", DATASET)
    return model


# -- windows -------------------------------------------------------------------------------------
def strided_windows(episodes: list[DemoEpisode], tokens: list[torch.Tensor], window: int) -> Transitions:
    """Every window of ``window`` transitions of ``STRIDE`` recorded steps: x (N,W+1,16,32),
    a (N,W,56), s (N,W+1,8); the task index follows the sorted instructions."""
    tasks = sorted({e.task for e in episodes})
    return windows(tokens, [torch.from_numpy(e.actions) for e in episodes], [torch.from_numpy(e.states) for e in episodes],
                   [tasks.index(e.task) for e in episodes], DATASET, window, STRIDE)


def thinned(windows_: Transitions) -> Transitions:
    """Every STRIDE-th window (the held-out ones: fewer, less alike)."""
    return Transitions(*(t[::STRIDE] for t in (windows_.x, windows_.a, windows_.s, windows_.task)), DATASET)


def write_fixture(held_eps: list[DemoEpisode]) -> None:
    """The golden batch: 8 held-out windows of 4 frames ``STRIDE`` steps apart (64²), their 56-D
    actions and 8-D states, from fixed positions of the first 8 held-out episodes."""
    frames, actions, states = [], [], []
    span = (FIXTURE_FRAMES - 1) * STRIDE
    for i, episode in enumerate(held_eps[:FIXTURE_WINDOWS]):
        t = 20 + 10 * i
        frames.append(episode.frames[t:t + span + 1:STRIDE])
        actions.append(episode.actions[t:t + span].reshape(FIXTURE_FRAMES - 1, STRIDE * 7))
        states.append(episode.states[t:t + span + 1:STRIDE])
    path = fixture_path(DATASET)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, frames=np.stack(frames), actions=np.stack(actions), states=np.stack(states))


@torch.no_grad()
def rollout_numbers(model: LaWM, autoencoder: VisualAutoencoder, held: Transitions) -> dict[str, float]:
    """Open-loop ``ROLLOUT``-transition rollouts from real actions on the held-out windows: token MSE
    and decoded PSNR against the true frames, and copy-last's."""
    x, a = held.x, held.a  # (N,R+1,16,32), (N,R,56)
    predicted = model.rollout(x[:, :1], model.to_latent(a, x[:, :-1]))  # (N,R,16,32)

    def psnr(tokens: torch.Tensor) -> float:
        """Against the true frames as the autoencoder shows them, decoded a few windows at a time."""
        errors = [F.mse_loss(autoencoder.decode(tokens[i:i + 32]).clamp(0, 1),
                             autoencoder.decode(x[i:i + 32, 1:]).clamp(0, 1), reduction="sum")
                  for i in range(0, len(x), 32)]
        return float(10 * torch.log10(tokens.shape[0] * tokens.shape[1] * 3 * 64 * 64 / sum(errors)))

    copy_last = x[:, :1].expand_as(x[:, 1:])
    return {"rollout8_controller_mse": float(F.mse_loss(predicted, x[:, 1:])),
            "rollout8_copy_last_mse": float(F.mse_loss(copy_last, x[:, 1:])),
            "rollout8_controller_psnr": psnr(predicted), "rollout8_copy_last_psnr": psnr(copy_last)}


def main(steps: int = WORLD_STEPS, ae_steps: int = AE_STEPS, reuse_autoencoder: bool = False) -> dict:
    """Both checkpoints (``reuse_autoencoder``: keep an existing ``visual_ae_libero``, which this
    script trained deterministically)."""
    from lawm_eval.models.train.lawm import train_world

    tic = time.monotonic()
    train_eps, held_eps = split(load_demos(ensure_dataset(DATASET), 64))
    write_fixture(held_eps)
    if not (reuse_autoencoder and (baseline_dir(AUTOENCODER) / "model.pt").exists()):
        train_autoencoder(train_eps, held_eps, ae_steps)
        load_autoencoder.cache_clear()
    autoencoder = load_autoencoder(AUTOENCODER)
    save_golden(AUTOENCODER, autoencoder_golden(autoencoder, (DATASET,)))  # on the fixture just written
    tokens = [encode_frames(autoencoder, e.frames) for e in train_eps]
    held_tokens = [encode_frames(autoencoder, e.frames) for e in held_eps]
    data = strided_windows(train_eps, tokens, window=TRAIN_WINDOW)
    model, curves = train_world(steps, CONFIG, data, rollout=True)
    model.eval()

    extra = {**rollout_numbers(model, autoencoder, thinned(strided_windows(held_eps, held_tokens, ROLLOUT))),
             "training_windows": len(data), "train_seconds": round(time.monotonic() - tic, 1)}
    return finish(NAME, model, CONFIG, curves, ("loss", "recon", "rollout", "kl", "state"),
                  thinned(strided_windows(held_eps, held_tokens, window=3)), DATASET, autoencoder, extra)
