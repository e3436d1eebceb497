"""History context in the bundled world models. Garrido et al.: `lam_noisy_history` (3 frames, frame-causal,
teacher-forced as the paper's §4) against the same recipe reading one frame, and the bundled `lam_noisy`
(one frame, one-step + 3-step rollout loss). The one-frame control is trained here with the history model's
loss and budget (7,200 world-model + 3,600 controller steps), cached in $LAWM_EVAL_CACHE/checkpoints/history/.
LAC-WM: `lac_wm_history` (the FDM's temporal attention over 3 frames, A.5) against the bundled `lac_wm`.

    python scripts/history_context.py            # train the control if needed, then evaluate all five

Writes results/history_context/held_out.json: held-out Franka windows of 4 frames, the last transition
predicted with 1 and with 3 frames of context, from the IDM's latents and from real actions, and the 3-step
controller rollout from one frame."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from lawm_eval.models.checkpoint import load_model, save_model
from lawm_eval.models.lac_wm import LACWM
from lawm_eval.models.lam_base import LatentActionWorldModel
from lawm_eval.models.lam_variants import RegularisedLAM
from lawm_eval.models.train.data import transitions
from lawm_eval.models.train.lam_variants import STEPS, train_variant
from lawm_eval.models.zoo import checkpoint_path, load_autoencoder
from lawm_eval.paths import cache_dir
from lawm_eval.planners.objectives import rollout_actions

OUT = Path(__file__).resolve().parents[1] / "results" / "history_context"


def control_path() -> Path:
    return cache_dir() / "checkpoints" / "history" / "lam_noisy_one_frame_teacher_forced.pt"


def train_control() -> None:
    torch.set_num_threads(1)
    data = transitions("franka", load_autoencoder(), window=3)
    start = time.time()
    model, config, _ = train_variant("noisy", data, STEPS["lam_noisy_history"], rollout=False)
    control_path().parent.mkdir(parents=True, exist_ok=True)
    save_model(control_path(), "lam_noisy", model.eval(), config, {"train_seconds": time.time() - start})


def mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(F.mse_loss(a, b))


@torch.no_grad()
def held_out_errors(model: LatentActionWorldModel, x: torch.Tensor, a: torch.Tensor) -> dict[str, float]:
    """x (N,4,16,32), a (N,3,A) held-out windows: the last transition x_2 → x_3 from 1 and from 3 frames
    of context, how much the history moves that prediction (the mean squared change from 1 to 3 frames,
    and the error with the two earlier frames taken from another window), and 3-step controller rollouts
    from x_0 (the controller fed the true frames, and, as the planners do, the imagined ones)."""
    idm = model.infer(x[:, 2:])  # (N,1,L)
    control = model.to_latent(a[:, 2:], x[:, 2:3])  # (N,1,L)
    out = {"copy_last_last_step": mse(x[:, 2], x[:, 3])}
    for k in (1, 3):
        out[f"idm_last_step_context_{k}"] = mse(model.step(x[:, 3 - k : 3], idm)[:, 0], x[:, 3])
        out[f"controller_last_step_context_{k}"] = mse(model.step(x[:, 3 - k : 3], control)[:, 0], x[:, 3])
    out["idm_last_step_change_1_to_3_frames"] = mse(model.step(x[:, :3], idm), model.step(x[:, 2:3], idm))
    other_history = torch.cat([x[:, :2].roll(1, dims=0), x[:, 2:3]], dim=1)  # another window's earlier frames
    out["idm_last_step_other_history"] = mse(model.step(other_history, idm)[:, 0], x[:, 3])
    out["rollout_controller_true_frames"] = mse(model.rollout(x[:, :1], model.to_latent(a, x[:, :-1])), x[:, 1:])
    out["rollout_controller_imagined_frames"] = mse(rollout_actions(model, model, x[:, :1], a), x[:, 1:])
    out["rollout_copy_last"] = mse(x[:, :1].expand_as(x[:, 1:]), x[:, 1:])
    return out


def evaluate() -> dict:
    torch.set_num_threads(1)
    held = transitions("franka", load_autoencoder(), window=3, split="held_out")
    models = {"lam_noisy": ("lam_noisy", checkpoint_path("lam_noisy"), RegularisedLAM),
              "one frame, teacher-forced": ("lam_noisy", control_path(), RegularisedLAM),
              "lam_noisy_history": ("lam_noisy_history", checkpoint_path("lam_noisy_history"), RegularisedLAM),
              "lac_wm": ("lac_wm", checkpoint_path("lac_wm"), LACWM),
              "lac_wm_history": ("lac_wm_history", checkpoint_path("lac_wm_history"), LACWM)}
    results = {}
    for label, (method, path, network) in models.items():
        model = load_model(path, method, network)[0]
        results[label] = {"history_frames": model.history_frames, **held_out_errors(model, held.x, held.a)}
    results["windows"] = len(held)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "held_out.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    if "--train-control" in sys.argv or not control_path().exists():
        train_control()
    print(json.dumps(evaluate(), indent=2))
