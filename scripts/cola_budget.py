"""CoLA-World and its two-stage baseline trained at a multiple of the bundled budget (a droid_planning diagnosis).

The bundled recipes (``lawm_eval/models/train/cola_world.py``: action-free pretraining 2,000 steps, then
LAM 1,500 + WM 1,500 against warm-up 400 + end to end 2,600) scaled by ``--scale`` in every phase, the paper's
adapters (GT-LAM code classifiers, 1,000 steps) after them, as the bundled models get theirs; ``cola_world_no_warmup``
is the paper's Fig. 2 ablation (joint from the pretrained world model, no warm-up). Each model pretrains
its own world model with the recipe's seeds, so the models can train in separate processes side by side. Nothing bundled
changes: the checkpoints go to the cache, and plan with

    python scripts/cola_budget.py --scale 3 --models cola_world      # and cola_two_stage in a second process
    lawm-eval run suite=droid_planning model=cola_world model.checkpoint=<the path it prints>
    python scripts/cola_budget.py --scale 3 --plot    # the three models' codebook curves, docs/training/cola_codebook_x3.png
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from lawm_eval.bundle import load_checkpoint
from lawm_eval.errors import CheckpointError, LawmEvalError, OneLineParser
from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.cola_world import CoLAWorld
from lawm_eval.models.train import cola_world as recipe
from lawm_eval.models.train.data import Transitions, transitions
from lawm_eval.models.train.evaluate import lam_errors
from lawm_eval.models.zoo import load_autoencoder
from lawm_eval.paths import cache_dir

MODELS = ("cola_world", "cola_two_stage", "cola_world_no_warmup")  # the last runs as model=cola_world


def budget(scale: float) -> dict[str, int]:
    """Every phase's steps at ``scale`` × the bundled recipe's (``cola_world.phase_steps``)."""
    return recipe.phase_steps(round((recipe.LAM_STEPS + recipe.WM_STEPS) * scale))


def scale_type(text: str) -> float:
    """An argparse type: a multiple of the budget that leaves every phase at least one step."""
    try:
        scale = float(text)
    except ValueError:
        scale = 0.0
    steps = budget(scale) if 0 < scale < math.inf else {}
    if not steps or min(steps.values()) < 1 or steps["total"] <= steps["lam"]:
        raise argparse.ArgumentTypeError(f"{text} is not a budget multiple that gives every phase a step")
    return scale


def trained(name: str, data: Transitions, held: Transitions, scale: float,
            adapter_steps: int = recipe.ADAPTER_STEPS) -> tuple[CoLAWorld, list[dict]]:
    """``name``'s recipe at ``scale`` × its steps, from its own pretraining, with the paper's adapter; (the model,
    its held-out codebook curve)."""
    steps = budget(scale)
    world = recipe.pretrained_world(data, steps["pretrain"])
    if name == "cola_two_stage":
        model, _, usage = recipe.two_stage(world, data, held, steps["lam"], steps["total"] - steps["lam"])
    else:
        warm = steps["warm"] if name == "cola_world" else 0
        model, _, usage = recipe.cola(world, data, held, warm, steps["total"])
    recipe.train_adapter(recipe.freeze_lam(model), data, adapter_steps)
    return model, usage


def late_codes(usage: list[dict]) -> float:
    """Codes in use, averaged over the curve's points in the last sixth of the steps it covers (the learning-rate
    study's last 500 of 3,000; the two-stage LAM's curve covers its own stage)."""
    end = max((point["step"] for point in usage), default=0)
    late = [point["utilisation"] * point["codes"] for point in usage if point["step"] > end * 5 / 6]
    return sum(late) / len(late) if late else float("nan")


def held_out_metrics(model: CoLAWorld, held: Transitions) -> dict:
    """The codebook at the end, the adapter's code accuracy and the one-step token MSEs (copy-last, GT-LAM, adapter)."""
    return {**recipe.codebook_usage(model, held), **recipe.adapter_metrics(model, held),
            **lam_errors(model, held.x, held.a)}


def checkpoint_file(name: str, scale: float) -> Path:
    return cache_dir() / "checkpoints" / "cola_budget" / f"{name}_x{scale:g}.pt"


def plot_curves(scale: float) -> Path:
    """The paper's Fig. 2 at ``scale`` × the budget, from the three models' checkpoints in the cache."""
    curves = {}
    for name, label in recipe.CURVE_LABELS.items():
        path = checkpoint_file(name, scale)
        if not path.is_file():
            raise CheckpointError(f"no checkpoint of '{name}' at {path}: "
                                  f"python scripts/cola_budget.py --scale {scale:g} --models {name}")
        curve = load_checkpoint(path).get("extra", {}).get("codebook_curve")
        if not isinstance(curve, list):
            raise CheckpointError(f"{path} holds no codebook curve: train it again with this script")
        curves[label] = curve
    file = f"cola_codebook_x{scale:g}.png"
    recipe.plot_codebook(curves, budget(scale)["warm"], file)
    return Path("docs/training") / file


def main() -> None:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=scale_type, default=3.0, help="the multiple of the bundled budget (default 3)")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--plot", action="store_true", help="plot the trained models' codebook curves instead")
    args = parser.parse_args()
    if args.plot:
        try:
            print(plot_curves(args.scale))
        except LawmEvalError as exc:
            parser.error(str(exc))
        return
    autoencoder = load_autoencoder()
    data = transitions("franka", autoencoder, window=1)
    held = transitions("franka", autoencoder, window=1, split="held_out")
    print("| model | steps | codes used / perplexity / max usage | codes used, last sixth | adapter code accuracy | "
          "GT-LAM | adapter | copy last | checkpoint |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.models:
        model, usage = trained(name, data, held, args.scale)
        metrics = {**held_out_metrics(model, held), "late_codes": late_codes(usage)}
        method = "cola_two_stage" if name == "cola_two_stage" else "cola_world"
        path = save_model(checkpoint_file(name, args.scale), method, model, recipe.CONFIG,
                          {"metrics": metrics, "codebook_curve": usage, "budget": budget(args.scale),
                           "scale": args.scale})
        used = round(metrics["utilisation"] * metrics["codes"])
        print(f"| `{name}` | {budget(args.scale)} | {used} / {metrics['perplexity']:.1f} / {metrics['max_usage']:.2f} | "
              f"{metrics['late_codes']:.1f} | {metrics['adapter_code_accuracy']:.2f} | {metrics['gt_latent_mse']:.5f} | "
              f"{metrics['controller_mse']:.5f} | {metrics['copy_last_mse']:.5f} | {path} |", flush=True)


if __name__ == "__main__":
    main()
