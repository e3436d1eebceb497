"""The Garrido et al. models trained with the paper's world-model loss (a droid_planning diagnosis).

Garrido et al. train the world model on next-frame prediction with an L1 error (§3, the prediction loss
L_t = ||s_{t+1} - p(s_{0:t}, z_t)||_1; App. A adds the latent regulariser L_z) and teacher forcing (§4, App. A).
The bundled one-frame models (``lam_noisy``, ``lam_sparse``, ``lam_discrete``; ``lam_nav`` on the navigation
clips, for recon_planning) add a 3-step rollout term to a one-step MSE, and ``lam_noisy_history`` trains
teacher-forced with an MSE. This script trains a bundled recipe
with the paper's loss instead (``--distance l1``, teacher-forced over the 4-frame windows, no rollout term) and
everything else as bundled: data, steps, regulariser weights, controller, seeds. Our L1 is the mean absolute
error over token elements, several times our MSE, so with the same weights the regulariser weighs relatively
less. Nothing bundled changes: the checkpoints go to the cache, and plan with

    python scripts/garrido_paper_loss.py --models lam_noisy lam_noisy_history
    lawm-eval run suite=droid_planning model=<name> model.checkpoint=<the path it prints>   # recon_planning for lam_nav
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lawm_eval.errors import OneLineParser
from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.train import lam_variants as recipe
from lawm_eval.models.train.data import transitions
from lawm_eval.models.train.evaluate import evaluate_held_out
from lawm_eval.models.train.loop import step_count
from lawm_eval.models.train.losses import DISTANCES
from lawm_eval.models.zoo import load_autoencoder
from lawm_eval.paths import cache_dir

MODELS = tuple(recipe.VARIANTS)


def checkpoint_file(name: str, distance: str, seed: int, steps: int | None = None) -> Path:
    """Where ``name``'s checkpoint goes in the cache; ``steps`` (world-model steps) named unless the bundled ones."""
    budget = "" if steps is None or steps == recipe.bundled_steps(name) else f"_steps{steps}"
    return cache_dir() / "checkpoints" / "garrido_paper_loss" / f"{name}_{distance}_seed{seed}{budget}.pt"


def seed_number(text: str) -> int:
    """An argparse type: a seed, 0 (the bundled checkpoints') or more."""
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a seed (0 or more)")
    return seed


def main() -> None:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=["lam_noisy", "lam_noisy_history"])
    parser.add_argument("--distance", choices=sorted(DISTANCES), default="l1",
                        help="the world model's error, teacher-forced (default l1, the paper's)")
    parser.add_argument("--seed", type=seed_number, default=0, help="initialisation and batches (0: the bundled ones)")
    parser.add_argument("--steps", type=step_count, default=None,
                        help="world-model steps, the controller gets half (default: the bundled recipe's)")
    args = parser.parse_args()
    autoencoder = load_autoencoder()
    splits = {}  # dataset -> (training, held-out) windows, as the bundled recipes read them
    print("| model | loss | seed | one-step MSE: IDM latent / controller / copy last | 3-step controller rollout | "
          "train (s) | checkpoint |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        dataset = recipe.VARIANTS[name][1]
        if dataset not in splits:
            splits[dataset] = tuple(transitions(dataset, autoencoder, window=3, split=split) for split in ("train", "held_out"))
        data, held = splits[dataset]
        start = time.perf_counter()
        model, config, _ = recipe.fit_bundled(name, data, args.steps, args.seed, distance=args.distance, rollout=False)
        seconds = time.perf_counter() - start
        metrics = evaluate_held_out(model, held)
        steps = args.steps or recipe.bundled_steps(name)
        path = save_model(checkpoint_file(name, args.distance, args.seed, steps), name, model, config,
                          {"metrics": metrics, "distance": args.distance, "rollout": False, "seed": args.seed,
                           "world_model_steps": steps, "train_seconds": seconds})
        print(f"| `{name}` | {args.distance}, teacher-forced | {args.seed} | {metrics['gt_latent_mse']:.5f} / "
              f"{metrics['controller_mse']:.5f} / {metrics['copy_last_mse']:.5f} | {metrics['rollout_controller_mse']:.5f} | "
              f"{seconds:.0f} | {path} |", flush=True)


if __name__ == "__main__":
    main()
