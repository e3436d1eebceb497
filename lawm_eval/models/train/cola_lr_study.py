"""CoLA-World's codebook collapse against the end-to-end learning rate, with and without warm-up.

The bundled recipe (``cola_world.py``) trains every phase at lr 1e-3; its run ended with 2-3 codes in
use, warm-up or not, against the paper's Fig. 2 (warm-up is what prevents the collapse). The paper
fine-tunes at 7.5e-5 (App. B.3). This study asks whether the learning rate of the end-to-end phase is
what narrows our codebook, over several seeds: from the bundled recipe's pretrained world model
(the same seeds), for each end-to-end lr, CoLA-World with its warm-up (trunk frozen for the first
``WARM_STEPS``, lr 1e-3) and the no-warm-up control (the same phases and learning rates, the trunk
training from the first step), each over the same 3,000 steps, then the GT-LAM adapter; ``--recipes from
scratch`` adds the paper's other control, the same phases with a randomly initialised world model; ``--seeds``
repeats it with other initialisations and batch orders (seed 0 is the bundled recipe's).

    python -m lawm_eval.models.train.cola_lr_study [--lrs 1e-4 3e-4 1e-3] [--seeds 0 1 2] [--recipes ...] [--save DIR]

merges its rows into ``baselines/cola_world/lr_study.json`` (final held-out codebook statistics, one-step
MSE with GT-LAM and adapter latents, the curves; a row per lr, recipe and seed, so seeds can run in
separate processes) and plots them all into ``docs/training/cola_codebook_lr.png``. Nothing bundled
changes.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import torch

from lawm_eval.errors import OneLineParser
from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.cola_world import CoLAWorld
from lawm_eval.models.train.artifacts import REPO_DOCS, baseline_dir
from lawm_eval.models.train.cola_world import (
    CONFIG,
    LAM_STEPS,
    WARM_STEPS,
    WM_STEPS,
    adapter_accuracy,
    cola,
    freeze_lam,
    pretrained_world,
    train_adapter,
)
from lawm_eval.models.train.data import transitions
from lawm_eval.models.train.evaluate import evaluate_held_out
from lawm_eval.models.zoo import load_autoencoder

LEARNING_RATES = (1e-4, 3e-4, 1e-3)  # end-to-end phase; the paper's is 7.5e-5 (App. B.3)
# recipe -> (the trunk frozen in the first WARM_STEPS, the world model pretrained); "from scratch" is the
# paper's other control (Fig. 2's green curve: a randomly initialised world model joined to the fresh LAM)
RECIPES = {"warm-up": (True, True), "no warm-up": (False, True), "from scratch": (False, False)}
DEFAULT_RECIPES = ("warm-up", "no warm-up")


def untrained_world() -> torch.nn.Module:
    """The world model of the bundled config at its initialisation (seed 0), for the "from scratch" control."""
    torch.manual_seed(0)
    return CoLAWorld(**CONFIG).world


def codes_used(stats: dict) -> float:
    """Codes in use of one held-out codebook record (``codebook_usage``)."""
    return stats["utilisation"] * stats["codes"]


def checkpoint_name(lr: float, recipe: str, seed: int) -> str:
    return f"cola_world_lr{lr:g}_{recipe.replace(' ', '_')}_s{seed}.pt"


def study(lrs: tuple[float, ...] = LEARNING_RATES, seeds: tuple[int, ...] = (0,),
          recipes: tuple[str, ...] = DEFAULT_RECIPES, budget: int = LAM_STEPS + WM_STEPS,
          save: Path | None = None) -> list[dict]:
    """One row per (lr, recipe, seed): the final held-out codebook statistics, the one-step MSEs and the curve;
    ``save``: a folder for each model's checkpoint (``model=cola_world model.checkpoint=<file>`` runs it)."""
    torch.set_num_threads(1)
    autoencoder = load_autoencoder()
    data = transitions("franka", autoencoder, window=1)
    held = transitions("franka", autoencoder, window=1, split="held_out")
    held_windows = transitions("franka", autoencoder, window=3, split="held_out")
    world = pretrained_world(data)
    rows = []
    for seed, lr, recipe in itertools.product(seeds, lrs, recipes):
        freeze, pretrained = RECIPES[recipe]
        start = time.perf_counter()
        model, _, usage = cola(world if pretrained else untrained_world(), data, held, WARM_STEPS, budget,
                               e2e_lr=lr, freeze_trunk=freeze, seed=seed)
        train_adapter(freeze_lam(model), data)
        model.eval()
        if save is not None:
            save_model(Path(save) / checkpoint_name(lr, recipe, seed), "cola_world", model, CONFIG,
                       {"lr_study": {"e2e_lr": lr, "recipe": recipe, "seed": seed}})
        errors = evaluate_held_out(model, held_windows)
        rows.append({"e2e_lr": lr, "recipe": recipe, "seed": seed, "final": usage[-1],
                     "gt_latent_mse": errors["gt_latent_mse"], "controller_mse": errors["controller_mse"],
                     "copy_last_mse": errors["copy_last_mse"], "adapter_code_accuracy": adapter_accuracy(model, held),
                     "seconds": round(time.perf_counter() - start, 1), "curve": usage})
        print(f"lr {lr:g} {recipe} seed {seed}: codes used {codes_used(usage[-1]):.0f}, "
              f"GT-LAM {errors['gt_latent_mse']:.5f}, adapter {errors['controller_mse']:.5f}", flush=True)
    return rows


def plot(rows: list[dict], file: str = "cola_codebook_lr.png") -> None:
    """Codes in use over training: one panel per end-to-end lr, a colour per recipe, a line per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lrs = sorted({row["e2e_lr"] for row in rows})
    fig, axes = plt.subplots(1, len(lrs), figsize=(4 * len(lrs), 3.2), sharey=True, squeeze=False)
    for ax, lr in zip(axes[0], lrs):
        for i, recipe in enumerate(RECIPES):  # the same colour per recipe in every panel
            for j, row in enumerate(r for r in rows if r["e2e_lr"] == lr and r["recipe"] == recipe):
                curve = row["curve"]
                ax.plot([p["step"] for p in curve], [codes_used(p) for p in curve], color=f"C{i}",
                        lw=1, alpha=0.8, label=recipe if j == 0 else None)
        ax.axvline(WARM_STEPS, color="0.8", lw=1, ls="--")
        ax.set_title(f"end-to-end lr {lr:g}", fontsize=9)
        ax.set_xlabel("step (after pretraining)")
    axes[0][0].set_ylabel("codes used of 32 (held out)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    REPO_DOCS.mkdir(parents=True, exist_ok=True)
    fig.savefig(REPO_DOCS / file, dpi=100)
    plt.close(fig)


def row_key(row: dict) -> tuple[float, str, int]:
    return row["e2e_lr"], row["recipe"], row["seed"]


def main(lrs: tuple[float, ...] = LEARNING_RATES, seeds: tuple[int, ...] = (0,),
         recipes: tuple[str, ...] = DEFAULT_RECIPES, save: Path | None = None) -> list[dict]:
    new = study(lrs, seeds, recipes, save=save)
    path = baseline_dir("cola_world") / "lr_study.json"
    done = {row_key(row) for row in new}
    old = json.loads(path.read_text()) if path.exists() else []
    rows = sorted([row for row in old if row_key(row) not in done] + new, key=row_key)
    path.write_text(json.dumps(rows, indent=1) + "\n")
    plot(rows)
    return rows


if __name__ == "__main__":
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lrs", type=float, nargs="+", default=list(LEARNING_RATES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES), default=list(DEFAULT_RECIPES))
    parser.add_argument("--save", type=Path, help="a folder for the trained models' checkpoints")
    args = parser.parse_args()
    main(tuple(args.lrs), tuple(args.seeds), tuple(args.recipes), args.save)
