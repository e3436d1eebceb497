"""Rebuild the bundled checkpoints:  python -m lawm_eval.models.train <name> [...] | all

Generates the datasets into $LAWM_EVAL_CACHE/data if needed (`lawm-eval data generate`), trains on
CPU with fixed seeds and one thread, and writes baselines/<name>/{model.pt, metrics.json,
golden.json, curve.json} and docs/training/<name>.png. `fixtures` (the golden batches) and
`visual_ae` must exist before the others. Which models exist, and which script trains each, comes
from the `bundled:` blocks of configs/model/<name>.yaml.
"""

from __future__ import annotations

import importlib
import inspect
import json
import time
from collections.abc import Callable

from lawm_eval.errors import OneLineParser

# Not runnable models, trained first: the golden batches and the shared autoencoder. Every other
# checkpoint is a model whose configs/model/<name>.yaml has a `bundled:` block naming its script,
# or one of the ARTEFACTS, networks the suites use that are no models (trained last).
PREFIX = ["fixtures", "visual_ae"]
ARTEFACTS = {"libero_judge": "lawm_eval.models.train.libero_judge"}  # the imagined LIBERO episodes' success judge


def bundled_scripts() -> dict[str, str]:
    """Bundled model name -> its training script module, from the model config files."""
    from lawm_eval.models.specs import bundled_specs

    return {name: spec.bundled.script for name, spec in bundled_specs().items()}


def script_main(script: str) -> Callable[..., dict]:
    return importlib.import_module(script).main


def one_per_call(script: str) -> bool:
    """A script whose main takes the model's name trains one model per call (lam_variants); any
    other trains, in one call, every model that names it (lawm also writes lawam)."""
    return "name" in inspect.signature(script_main(script)).parameters


def written_together(name: str) -> list[str]:
    """The checkpoints one training run for ``name`` writes."""
    scripts = bundled_scripts()
    if name not in scripts or one_per_call(scripts[name]):
        return [name]
    return sorted(n for n, script in scripts.items() if script == scripts[name])


def training_order() -> list[str]:
    """PREFIX, then one name per training run (the model named like its script, when one run
    writes several), each after the runs that write what its ``bundled.after`` names."""
    from lawm_eval.models.specs import bundled_specs

    specs = bundled_specs()
    runs: dict[str, list[str]] = {}  # run name -> the models it writes
    for name, script in bundled_scripts().items():
        if one_per_call(script):
            runs[name] = [name]
        elif not any(name in group for group in runs.values()):
            group = written_together(name)
            own = script.rsplit(".", 1)[-1]
            runs[own if own in group else group[0]] = group
    writer = {model: run for run, group in runs.items() for model in group}
    needs = {run: {writer[d] for m in group for d in specs[m].bundled.after if writer.get(d, run) != run}
             for run, group in runs.items()}
    order: list[str] = []
    while len(order) < len(runs):
        ready = [run for run in runs if run not in order and needs[run] <= set(order)]
        if not ready:
            raise SystemExit(f"bundled 'after' dependencies form a cycle among: {sorted(set(runs) - set(order))}")
        order.append(ready[0])
    return list(PREFIX) + order + list(ARTEFACTS)


def run(name: str, steps: int | None) -> dict:
    kwargs = {"steps": steps} if steps else {}
    if name == "fixtures":
        from lawm_eval.models.train.evaluate import write_fixture

        return {dataset: str(write_fixture(dataset)) for dataset in ("franka", "navigation")}
    if name == "visual_ae":
        from lawm_eval.models.train.visual_ae import main

        return main(**kwargs)
    if name in ARTEFACTS:
        return script_main(ARTEFACTS[name])(**kwargs)
    scripts = bundled_scripts()
    if name not in scripts:
        raise SystemExit(f"unknown checkpoint '{name}'; choose from: "
                         f"{', '.join(PREFIX + sorted(scripts) + list(ARTEFACTS))}, all")
    main = script_main(scripts[name])
    return main(name, **kwargs) if one_per_call(scripts[name]) else main(**kwargs)


def cli() -> None:
    parser = OneLineParser(prog="python -m lawm_eval.models.train", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", help="checkpoints to rebuild: fixtures, visual_ae, a bundled model "
                                                 "(lawm-eval ls models) or 'all'")
    parser.add_argument("--steps", type=int, default=None, help="override the training steps (quick checks only)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    names = training_order() if args.names == ["all"] else args.names
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

    for each in written_together(name):
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
        "Held-out episodes of the training recipes (franka: the last 10 of 120; navigation: the last 6 of 60;",
        "robodesk: the last 7 of 126; bfa: the last 22 of 330), mean-squared error in the frozen autoencoder's",
        "token space; `lam_nav` is on navigation data, the `*_robodesk` models on RoboDesk data in",
        "`visual_ae_robodesk`'s token space, the `*_bfa*` models on BFA data in `visual_ae_bfa`'s, one step being",
        "5 recorded steps (a 125-D action chunk), the `*_to_franka` models and `eac_wm_s_franka` on Franka data in",
        "`visual_ae_bfa`'s (each trained in its own process, its pretraining included), and `lawm_libero` and the `*_libero` models on the LIBERO demos",
        "(initial states 28-29 of libero_object_demos held out; every 8th held-out window) in `visual_ae_libero`'s,",
        "one step being 8 recorded actions (one executed chunk, 56-D). The 1-step columns predict from one",
        "frame, also for the `*_history` models (their last-step errors with 3 frames of context:",
        "`results/history_context/held_out.json`).",
        "",
        "train (s): wall seconds of the last training run that wrote the checkpoint, on the 2-core machine, often",
        "beside other jobs. One run may write several checkpoints (`lawm` writes `lawam`); where one of them was",
        "rebuilt alone later (`lawm` on 2026-12-02 and 2026-12-03, its world model and adapter only), its row shows that run;",
        "`law`'s third stage (the frame-reading controller, 151 s) was added on 2026-12-03 to its committed first two",
        "stages (1,241 s), and its row shows their sum. The `*_to_franka` models were rebuilt on 2026-12-05 with their",
        "pretraining and adaptation in two runs (the pretraining cached by the first), on an AMD EPYC machine; their",
        "rows show the sum (pretraining about 2,300 s for LAC-WM and 1,062 s for EAC-WM, side by side).",
        "`visual_ae_robodesk` and `visual_ae_libero` are fine-tuned by the runs that write the `*_robodesk` models and",
        "`lawm_libero`, whose rows include them. `visual_ae` and `vla_flow` were trained before times were recorded;",
        "rebuilt on 2026-12-06 in a clone, one thread each beside three other jobs, they took 968 s and 46 s.",
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
