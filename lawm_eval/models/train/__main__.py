"""Rebuild the bundled checkpoints:  python -m lawm_eval.models.train <name> [...] | all

Generates the datasets into $LAWM_EVAL_CACHE/data if needed (`lawm-eval data generate`), trains on
CPU with fixed seeds and one thread, and writes baselines/<name>/{model.pt, metrics.json,
golden.json, curve.json} and docs/training/<name>.png. `fixtures` (the golden batches) and
`visual_ae` must exist before the others.
"""

from __future__ import annotations

import argparse
import json
import time

ORDER = ["fixtures", "visual_ae", "lac_wm", "eac_wm", "lawm", "cola_world", "law", "lam_sparse", "lam_noisy",
         "lam_discrete", "lam_nav", "vla_flow"]


def run(name: str, steps: int | None) -> dict:
    kwargs = {"steps": steps} if steps else {}
    if name == "visual_ae":
        from lawm_eval.models.train.visual_ae import main
    elif name == "fixtures":
        from lawm_eval.models.train.evaluate import write_fixture

        return {dataset: str(write_fixture(dataset)) for dataset in ("franka", "navigation")}
    elif name == "lac_wm":
        from lawm_eval.models.train.lac_wm import main
    elif name == "eac_wm":
        from lawm_eval.models.train.eac_wm import main
    elif name in ("lawm", "lawam"):
        from lawm_eval.models.train.lawm import main
    elif name in ("cola_world", "cola_two_stage"):
        from lawm_eval.models.train.cola_world import main
    elif name == "law":
        from lawm_eval.models.train.law import main
    elif name.startswith("lam_"):
        from lawm_eval.models.train.lam_variants import main

        return main(name, **kwargs)
    elif name == "vla_flow":
        from lawm_eval.models.train.vla import main
    else:
        raise SystemExit(f"unknown checkpoint '{name}'; choose from: {', '.join(ORDER)}, all")
    return main(**kwargs)


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m lawm_eval.models.train", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", help=f"checkpoints to rebuild ({', '.join(ORDER)}) or 'all'")
    parser.add_argument("--steps", type=int, default=None, help="override the training steps (quick checks only)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    names = ORDER if args.names == ["all"] else args.names
    for name in names:
        start = time.perf_counter()
        result = run(name, args.steps)
        seconds = time.perf_counter() - start
        print(f"{name}: {seconds:.0f} s\n{json.dumps(result, indent=2)}", flush=True)
        if name != "fixtures" and not args.steps:
            record_time(name, seconds)
    if not args.steps:
        write_training_doc()


def record_time(name: str, seconds: float) -> None:
    from lawm_eval.paths import data_dir

    names = ["lawm", "lawam"] if name == "lawm" else ["cola_two_stage", "cola_world"] if name == "cola_world" else [name]
    for each in names:
        path = data_dir("baselines") / each / "metrics.json"
        if path.exists():
            metrics = json.loads(path.read_text())
            metrics["train_seconds_total_run"] = round(seconds, 1)
            path.write_text(json.dumps(metrics, indent=2) + "\n")


def write_training_doc() -> None:
    """docs/training.md: held-out numbers of every bundled checkpoint, from baselines/*/metrics.json."""
    from lawm_eval.models.train.artifacts import REPO_DOCS
    from lawm_eval.paths import data_dir

    world_rows, other_rows = [], []
    for path in sorted(data_dir("baselines").glob("*/metrics.json")):
        name, m = path.parent.name, json.loads(path.read_text())
        seconds = m.get("train_seconds_total_run")
        shown_time = "–" if seconds is None else f"{seconds:.0f}"
        if "copy_last_mse" in m:
            gain = 1 - m["controller_mse"] / m["copy_last_mse"]
            gt = f"{m['gt_latent_mse']:.5f}" if "gt_latent_mse" in m else "–"
            world_rows.append(f"| `{name}` | {m['copy_last_mse']:.5f} | {gt} | {m['controller_mse']:.5f} | {gain:+.0%} "
                              f"| {m['rollout_copy_last_mse']:.5f} | {m['rollout_controller_mse']:.5f} | {shown_time} |")
        else:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in m.items() if isinstance(v, float) and k != "train_seconds_total_run")
            other_rows.append(f"| `{name}` | {shown} | {shown_time} |")
    text = [
        "# Training the bundled checkpoints",
        "",
        "Written by `python -m lawm_eval.models.train ...` from `baselines/*/metrics.json` (CPU, 1 thread).",
        "Held-out episodes of the training recipes (franka: the last 10 of 120; navigation: the last 6 of 60),",
        "mean-squared error in the frozen autoencoder's token space; `lam_nav` is on navigation data.",
        "",
        "| model | copy last | GT latent, 1 step | controller, 1 step | controller vs copy | copy last, 3 steps "
        "| controller, 3 steps | train (s) |",
        "|---|---|---|---|---|---|---|---|",
        *world_rows,
        "",
        "| model | held-out numbers | train (s) |",
        "|---|---|---|",
        *other_rows,
        "",
        "Loss curves: `docs/training/<name>.png`. Times are for the whole command that trained the checkpoint",
        "(LaWM's includes the LaWAM policy, CoLA-World's the two-stage baseline); on a 2-core machine, often",
        "with another training sharing the cores, so read them as upper bounds; – : not recorded.",
    ]
    (REPO_DOCS.parent / "training.md").write_text("\n".join(text) + "\n")


if __name__ == "__main__":
    cli()
