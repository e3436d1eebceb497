"""History context in the bundled world models. Garrido et al.: `lam_noisy_history` (3 frames, frame-causal,
teacher-forced as the paper's §4) against the same recipe reading one frame, and the bundled `lam_noisy`
(one frame, one-step + 3-step rollout loss). The one-frame control is trained here with the history model's
loss and budget (7,200 world-model + 3,600 controller steps), cached in $LAWM_EVAL_CACHE/checkpoints/history/.
LAC-WM: `lac_wm_history` (the FDM's temporal attention over 3 frames, A.5) against the bundled `lac_wm` and
against its matched control: the same A.5 schedule (stage 1's last quarter and stages 2-3 on 4-frame windows,
teacher-forced) with an FDM that reads one frame, also cached there. CoLA-World: `cola_world_history` and
`cola_two_stage_history` against `cola_world` and `cola_two_stage`.

    python scripts/history_context.py            # train the controls if needed, then evaluate every model
    python scripts/history_context.py --seed=1   # lam_noisy_history and its control again from seed 1 (cached)

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
from lawm_eval.models.cola_world import CoLAWorld
from lawm_eval.models.lac_wm import LACWM
from lawm_eval.models.lam_base import LatentActionWorldModel
from lawm_eval.models.lam_variants import RegularisedLAM
from lawm_eval.models.train.data import transitions
from lawm_eval.models.train.lac_wm import train_lac_wm
from lawm_eval.models.train.lam_variants import STEPS, train_variant
from lawm_eval.models.zoo import checkpoint_path, load_autoencoder
from lawm_eval.paths import cache_dir
from lawm_eval.rollouts import rollout_actions

OUT = Path(__file__).resolve().parents[1] / "results" / "history_context"


def history_checkpoints() -> Path:
    """Where the controls and the ``--seed=N`` runs are cached."""
    return cache_dir() / "checkpoints" / "history"


def control_path(method: str = "lam_noisy") -> Path:
    name = {"lam_noisy": "lam_noisy_one_frame_teacher_forced", "lac_wm": "lac_wm_one_frame_a5_schedule"}[method]
    return history_checkpoints() / f"{name}.pt"


def seed_paths(seed: int) -> dict[str, Path]:
    """``lam_noisy_history`` and its one-frame control trained from another ``seed``."""
    folder = history_checkpoints() / f"seed{seed}"
    return {"lam_noisy_history": folder / "lam_noisy_history.pt", "lam_noisy": folder / "lam_noisy_one_frame_teacher_forced.pt"}


def train_seed(seed: int) -> None:
    """The Garrido comparison again from ``seed``: the history model and its control, the same recipe and budget."""
    torch.set_num_threads(1)
    windows = transitions("franka", load_autoencoder(), window=3)
    for method, history in (("lam_noisy_history", 3), ("lam_noisy", 1)):
        path = seed_paths(seed)[method]
        if path.exists():
            continue
        start = time.time()
        model, config, _ = train_variant("noisy", windows, STEPS["lam_noisy_history"], history_frames=history,
                                         rollout=False, seed=seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_model(path, method, model.eval(), config, {"train_seconds": time.time() - start, "seed": seed})


def train_control(method: str = "lam_noisy") -> None:
    """The one-frame control of ``lam_noisy_history`` (``method`` lam_noisy) or of ``lac_wm_history`` (lac_wm)."""
    torch.set_num_threads(1)
    autoencoder = load_autoencoder()
    windows = transitions("franka", autoencoder, window=3)
    start = time.time()
    if method == "lam_noisy":
        model, config, _ = train_variant("noisy", windows, STEPS["lam_noisy_history"], rollout=False)
    else:
        model, config, _ = train_lac_wm(1, transitions("franka", autoencoder, window=1), windows, a5_schedule=True)
    control_path(method).parent.mkdir(parents=True, exist_ok=True)
    save_model(control_path(method), method, model.eval(), config, {"train_seconds": time.time() - start})


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


def evaluated_models() -> dict[str, tuple[str, Path, type]]:
    """label -> (method, checkpoint, network): the bundled models, the cached controls, and each ``--seed=N``
    pair whose two checkpoints are both trained."""
    models = {"lam_noisy": ("lam_noisy", checkpoint_path("lam_noisy"), RegularisedLAM),
              "one frame, teacher-forced": ("lam_noisy", control_path(), RegularisedLAM),
              "lam_noisy_history": ("lam_noisy_history", checkpoint_path("lam_noisy_history"), RegularisedLAM),
              "lac_wm": ("lac_wm", checkpoint_path("lac_wm"), LACWM),
              "lac_wm_history": ("lac_wm_history", checkpoint_path("lac_wm_history"), LACWM),
              "lac_wm, one frame, A.5 schedule": ("lac_wm", control_path("lac_wm"), LACWM),
              **{name: (name, checkpoint_path(name), CoLAWorld) for name in
                 ("cola_two_stage", "cola_two_stage_history", "cola_world", "cola_world_history")}}
    for folder in sorted(history_checkpoints().glob("seed*")):
        paths = seed_paths(seed := int(folder.name[len("seed"):]))
        if all(path.exists() for path in paths.values()):
            models[f"lam_noisy_history, seed {seed}"] = ("lam_noisy_history", paths["lam_noisy_history"], RegularisedLAM)
            models[f"one frame, teacher-forced, seed {seed}"] = ("lam_noisy", paths["lam_noisy"], RegularisedLAM)
    return models


def evaluate() -> dict:
    torch.set_num_threads(1)
    held = transitions("franka", load_autoencoder(), window=3, split="held_out")
    models = evaluated_models()
    results = {}
    for label, (method, path, network) in models.items():
        model = load_model(path, method, network)[0]
        results[label] = {"history_frames": model.history_frames, **held_out_errors(model, held.x, held.a)}
    results["windows"] = len(held)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "held_out.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    seeds = [int(arg.split("=", 1)[1]) for arg in sys.argv if arg.startswith("--seed=")]
    for seed in seeds:
        train_seed(seed)
    if seeds:
        sys.exit(0)
    for method in ("lam_noisy", "lac_wm"):
        if f"--train-control={method}" in sys.argv or not control_path(method).exists():
            train_control(method)
    if "--train-only" not in sys.argv:
        print(json.dumps(evaluate(), indent=2))
