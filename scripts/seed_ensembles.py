"""More training seeds of a bundled world model, for planning with seed ensembles.

    python scripts/seed_ensembles.py lawm --seed=1        # trains seed 1 of lawm (cached), prints the run
    python scripts/seed_ensembles.py lam_noisy --seed=1 --seed=2
    python scripts/seed_ensembles.py lam_nav --seed=1 --seed=2   # the navigation model, for recon_planning

Each seed is the bundled recipe (same data, steps and stages) with another initialisation and batch
order (seed 0 is the bundled checkpoint). The checkpoints go to
``$LAWM_EVAL_CACHE/checkpoints/seeds/<model>/seed<N>.pt``; the printed command plans with the bundled
checkpoint and every cached seed as one ``model=ensemble`` (lawm_eval/models/ensemble.py) on the suite the
model plans on (``droid_planning``; ``recon_planning`` for ``lam_nav``). Measured numbers: docs/models.md,
"Planning with several models at once".
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import torch

from lawm_eval.bundle import load_checkpoint
from lawm_eval.errors import OneLineParser
from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.train.data import transitions
from lawm_eval.models.zoo import load_autoencoder
from lawm_eval.paths import cache_dir

MODELS = ("lawm", "law", "lam_noisy", "lam_noisy_history", "lam_nav")
SUITE = {"lam_nav": "recon_planning"}  # the suite each model's ensemble plans on (default droid_planning)


def seed_path(model: str, seed: int) -> Path:
    return cache_dir() / "checkpoints" / "seeds" / model / f"seed{seed}.pt"


def fit(model: str, seed: int) -> tuple[torch.nn.Module, dict]:
    """(network, config): ``model``'s bundled recipe from ``seed``."""
    if model == "lawm":
        from lawm_eval.models.train.lawm import CONFIG, STEPS, train_world

        return train_world(STEPS, seed=seed)[0], CONFIG  # its own one-transition windows, as train_lawm
    from lawm_eval.models.train.lam_variants import VARIANTS, fit_bundled

    dataset = VARIANTS[model][1] if model in VARIANTS else "franka"
    data = transitions(dataset, load_autoencoder(), window=3)
    if model == "law":
        from lawm_eval.models.train.law import CONFIG, STEPS, fit_law

        return fit_law(CONFIG, data, STEPS, seed=seed)[0], CONFIG
    network, config, _ = fit_bundled(model, data, seed=seed)
    return network, config


def recipe_config(model: str) -> dict | None:
    """The config ``model``'s bundled recipe trains with, where it is fixed before training (``lawm``, ``law``)."""
    if model == "lawm":
        from lawm_eval.models.train.lawm import CONFIG
    elif model == "law":
        from lawm_eval.models.train.law import CONFIG
    else:
        return None
    return CONFIG


def train_seed(model: str, seed: int) -> Path:
    """Seed ``seed`` of ``model``'s bundled recipe, saved once (a cached file is reused unless the recipe's config
    has changed since, e.g. ``law``'s frame-reading controller: then it refuses, naming the file to delete)."""
    path = seed_path(model, seed)
    expected = recipe_config(model)
    if path.exists() and expected is not None and load_checkpoint(path).get("config") != expected:
        raise SystemExit(f"{path} was trained with an earlier {model} recipe (another config); delete it to train "
                         f"seed {seed} again")
    if not path.exists():
        torch.set_num_threads(1)
        start = time.time()
        network, config = fit(model, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_model(path, model, network.eval(), config, {"train_seconds": time.time() - start, "seed": seed})
    return path


def cached_seeds(model: str) -> list[Path]:
    """The cached seeds of ``model``, in seed order."""
    return sorted(seed_path(model, 1).parent.glob("seed*.pt"), key=lambda path: int(path.stem[len("seed"):]))


def ensemble_command(model: str) -> str:
    """The planning run of the bundled checkpoint with every cached seed of ``model``."""
    seeds = cached_seeds(model)
    if not seeds:
        return f"no cached seed of {model} yet: python scripts/seed_ensembles.py {model} --seed=1"
    members = ",".join([model] * (1 + len(seeds)))
    checkpoints = ",".join(["null", *map(str, seeds)])
    return (f"lawm-eval run suite={SUITE.get(model, 'droid_planning')} model=ensemble "
            f"{shlex.quote(f'model.members=[{members}]')} {shlex.quote(f'model.checkpoints=[{checkpoints}]')}")


def main() -> None:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("--seed", type=int, action="append", default=[], help="a seed ≥ 1 to train (repeatable)")
    args = parser.parse_args()
    if any(seed < 1 for seed in args.seed):
        parser.error("--seed: seed 0 is the bundled checkpoint; train seeds ≥ 1")
    for seed in args.seed:
        print(f"{args.model} seed {seed}: {train_seed(args.model, seed)}", flush=True)
    print(ensemble_command(args.model))


if __name__ == "__main__":
    main()
