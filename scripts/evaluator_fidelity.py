"""How well each world model evaluates LIBERO policies, with the simulator as ground truth.

    python scripts/evaluator_fidelity.py [--trials 3] [--tasks 0 1 ...] [--world-models copy_last ...]

For every policy of the image-reading population (``POLICIES``: the bundled behaviour-cloning policy,
its training snapshots, noisy versions of it, the LaWAM policy, and the no-skill baselines) it runs the same trials
(initial states 0..N-1 of the libero_object tasks) twice: in the simulator (``suite=libero_object``) and
imagined by each world model (``suite=libero_imagined suite.world_model=W``). From the paired outcomes
it writes results/evaluator_fidelity/:

- ``fidelity.md`` / ``fidelity.csv``: per world model, Pearson and Spearman correlation of the imagined
  and real success rates, MMRV, pairwise ranking accuracy and per-episode agreement, each with a paired
  bootstrap interval over trials (``lawm_eval.metrics.ranking.fidelity``); the same ranking metrics
  for a graded imagined score, the judge's highest score in each episode (it can still rank policies
  when every imagined episode fails); the wall time of the imagined and the real episodes (both
  serial, one episode at a time: bit-reproducible records); and the world model's open-loop video
  prediction on held-out demos (PSNR, SSIM, LPIPS: perception beside functionality);
- ``rates.csv``: every policy's real and imagined success rate and mean judge peak;
- ``scatter_<world model>.png``: imagined against real success rate, one point per policy;
- ``judge_on_real.json``: the success judge's precision and recall on the real episodes' videos
  (``save_video=all``), against the simulator's outcomes.

Resumable: finished runs are reused from $LAWM_EVAL_CACHE/evaluator_fidelity/ (run ids carry a hash of
the policy's checkpoint and of the world model's).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from lawm_eval.config import compose_config
from lawm_eval.errors import OneLineParser
from lawm_eval.metrics.ranking import fidelity, spearman
from lawm_eval.models.train.libero_bc import SNAPSHOTS, snapshot_path
from lawm_eval.paths import cache_dir
from lawm_eval.runner.records import RecordStore
from lawm_eval.runner.run import run_evaluation
from lawm_eval.util.seeding import stable_seed

OUT = Path(__file__).resolve().parent.parent / "results" / "evaluator_fidelity"
POLICIES = {
    "libero_bc": ["model=libero_bc"],
    **{f"libero_bc_step{step}": ["model=libero_bc", f"model.checkpoint={snapshot_path(step)}"] for step in SNAPSHOTS},
    **{f"libero_bc_noise{noise}": ["model=noisy_policy", "model.base=libero_bc", f"model.noise={noise}"]
       for noise in (0.05, 0.1, 0.2, 0.3, 0.6)},
    "lawam_libero": ["model=lawam_libero"],
    "noop": ["model=noop"],
    "random": ["model=random"],
}
WORLD_MODELS = ["copy_last", "lawm_libero", "law_libero", "cola_world", "cola_two_stage"]  # cola_*: their LIBERO adaptations
METRICS = ("pearson", "spearman", "mmrv", "pairwise_accuracy", "episode_agreement")
VIDEO = {"psnr": "PSNR", "ssim": "SSIM", "lpips": "LPIPS (lower is better)"}


def resolved(world_model: str) -> str:
    """The model the imagined suite builds for ``world_model``: its LIBERO adaptation when it has one
    (``cola_world`` -> ``cola_world_libero``), else itself."""
    from lawm_eval.models.zoo import adapted_name
    from lawm_eval.suites.libero_imagined import ImaginedLiberoSuite

    return adapted_name(world_model, ImaginedLiberoSuite.domain)


def files_hash(overrides: list[str], world_model: str | None) -> int:
    """A hash of the files a run reads (the policy's checkpoints and autoencoders; the world model's,
    its LIBERO adaptation's when it has one, the judge and the proprio model when imagined), so that a
    retrained one gets new runs."""
    from lawm_eval.models.libero_proprio import proprio_path
    from lawm_eval.models.specs import model_spec
    from lawm_eval.models.zoo import checkpoint_path
    from lawm_eval.util.hashing import file_sha256

    files = [o.split("=", 1)[1] for o in overrides if o.startswith("model.checkpoint=")]
    names = [o.split("=", 1)[1] for o in overrides if o.startswith(("model=", "model.base="))]
    if world_model is not None:
        names.append(resolved(world_model))
        files += [str(checkpoint_path("libero_judge")), str(proprio_path())]
    bundled = [model_spec(name).bundled for name in names]
    files += [str(checkpoint_path(name)) for name, spec in zip(names, bundled) if spec is not None]
    files += [str(checkpoint_path(spec.autoencoder)) for spec in bundled if spec is not None]
    return stable_seed(*(file_sha256(f) for f in sorted(set(files)) if Path(f).is_file())) % 10**6


def outcomes(name: str, overrides: list[str], world_model: str | None, trials: int, tasks: list[int] | None,
             runs: Path) -> tuple[dict[tuple[str, int], bool], dict[tuple[str, int], float], float, Path]:
    """(task, trial) → success, (task, trial) → the judge's highest score in the episode (imagined runs;
    empty for real ones), the wall time per episode and the run's folder, of one policy in the
    simulator (``world_model`` None) or imagined by ``world_model``, serially (side by side, the batch
    a world-model call shares moves the judge's scores in the third decimal, which can flip an episode
    at the threshold; serial runs give the same records every time). The wall time is the run's own (its
    ``wall.json``, written when it ran to the end in one go; else the mean of its episodes')."""
    import time

    chosen = [] if tasks is None else [f"suite.tasks=[{','.join(map(str, tasks))}]"]
    tag = "all" if tasks is None else "-".join(map(str, tasks))
    where = ["suite=libero_object", "save_video=all"] if world_model is None else [  # real videos: the judge's test
        "suite=libero_imagined", f"suite.world_model={world_model}"]
    mode = "real" if world_model is None else f"{world_model}-serial"  # a side-by-side run is not resumed as one
    run_id = f"{mode}-{name}-t{tag}-n{trials}-h{files_hash(overrides, world_model)}"
    fresh = not (runs / run_id).exists()
    start = time.perf_counter()
    outcome = run_evaluation(compose_config([*where, *overrides, f"suite.trials_per_task={trials}", *chosen,
                                             f"run_id={run_id}", f"results_dir={runs}"]))
    records = list(RecordStore(outcome.run_dir).records.values())
    wall_file = outcome.run_dir / "wall.json"
    if fresh:
        wall_file.write_text(json.dumps({"seconds": time.perf_counter() - start, "episodes": len(records)}) + "\n")
    wall = json.loads(wall_file.read_text()) if wall_file.exists() else None
    per_episode = wall["seconds"] / wall["episodes"] if wall else float(np.mean([r.wall_time_s for r in records]))
    result = {(r.spec.task, int(r.info["init_state"])): bool(r.success) for r in records}
    peaks = {(r.spec.task, int(r.info["init_state"])): float(r.info["judge_peak"]) for r in records
             if "judge_peak" in r.info}
    return result, peaks, per_episode, outcome.run_dir


def judge_on_real(run_dirs: list[Path]) -> dict[str, float]:
    """The success judge on the real episodes' agentview videos (resized to its 64²), against the
    simulator's outcome of the same episodes: episode-level precision, recall and accuracy (an episode
    is judged successful when any frame scores above the threshold, as in imagination). Episodes that
    ended in an error, or have no video, are left out."""
    from lawm_eval.inputs import adapt_images
    from lawm_eval.models.libero_judge import load_judge
    from lawm_eval.util.video import read_mp4

    judge = load_judge()
    pairs = []
    for run_dir in run_dirs:
        for record in RecordStore(run_dir).records.values():
            if record.error or record.success is None or "video" not in record.info:
                continue
            frames = adapt_images(read_mp4(run_dir / record.info["video"]), (64, 64), "center_crop")
            pairs.append((bool(record.success), judge.judge_episode(frames, record.info["language"])[0]))
    if not pairs:
        raise SystemExit("no real episode with a video to judge")
    real, judged = np.array(pairs, dtype=bool).T
    tp = float(np.sum(real & judged))
    return {"episodes": len(pairs), "real_successes": int(real.sum()), "judged_successes": int(judged.sum()),
            "precision": tp / max(int(judged.sum()), 1), "recall": tp / max(int(real.sum()), 1),
            "accuracy": float(np.mean(real == judged))}


def video_metrics(world_model: str, actions: int = 160, starts: tuple[int, ...] = (0, 40, 80),
                  reencode: bool = True) -> dict[str, float]:
    """The world model's open-loop video prediction on the held-out demos (initial states 28-29 of
    the libero_object_demos recipe, which no LIBERO model trained on): from the real frame at each
    start, the next ``actions`` recorded actions imagined as the suite imagines them
    (``Imagination.open_loop``; ``reencode`` as the suite's default), decoded and compared with the
    recorded frames at 64² at every transition (PSNR, SSIM, LPIPS): the "perception" beside the
    evaluator's fidelity. Every world model is scored over the same actions, whatever its stride."""
    import torch

    from lawm_eval.bundle import make_bundle
    from lawm_eval.data.recipes import ensure_dataset
    from lawm_eval.metrics.image import lpips, psnr, ssim
    from lawm_eval.models.specs import model_spec
    from lawm_eval.models.train.libero_bc import HELD_OUT_INITS, load_demos
    from lawm_eval.suites.imagination import Imagination

    world = make_bundle(model_spec(resolved(world_model)).config)
    stride = (world.inputs.action_dim or 7) // 7
    if actions % stride:
        raise SystemExit(f"{actions} actions are no whole number of {world_model}'s {stride}-action transitions")
    imagination = Imagination(world, judge=None, proprio=None, action_stride=stride, reencode=reencode)
    predicted, truth = [], []
    for episode in load_demos(ensure_dataset("libero_object_demos"), 64):
        if episode.meta["init_state"] not in HELD_OUT_INITS:
            continue
        for t in starts:
            if t + actions >= len(episode.frames):
                continue
            predicted.append(imagination.open_loop(episode.frames[t], episode.actions[t:t + actions]))
            truth.append(episode.frames[t + stride:t + actions + 1:stride])
    pred = torch.from_numpy(np.concatenate(predicted)).permute(0, 3, 1, 2).float() / 255  # (M,3,64,64)
    real = torch.from_numpy(np.concatenate(truth)).permute(0, 3, 1, 2).float() / 255
    return {"psnr": float(psnr(pred, real).mean()), "ssim": float(ssim(pred, real).mean()),
            "lpips": float(lpips(pred, real).mean()), "frames": len(pred), "actions": actions}


def scatter(path: Path, world_model: str, real: dict[str, float], imagined: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.plot([0, 1], [0, 1], color="0.7", lw=1)
    for name in real:
        ax.scatter(real[name], imagined[name], s=18)
        ax.annotate(name.replace("libero_bc", "bc"), (real[name], imagined[name]), fontsize=6,
                    xytext=(3, 2), textcoords="offset points")
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("real success rate (LIBERO simulator)")
    ax.set_ylabel(f"imagined success rate ({world_model})")
    ax.set_title(f"{world_model} as a policy evaluator", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=3, help="initial states per task (0..N-1)")
    parser.add_argument("--tasks", type=int, nargs="*", default=None, help="task indices (default all)")
    parser.add_argument("--policies", nargs="*", choices=list(POLICIES), default=list(POLICIES))
    parser.add_argument("--world-models", nargs="*", default=WORLD_MODELS)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--runs", type=Path, default=cache_dir() / "evaluator_fidelity")
    parser.add_argument("--real-only", action="store_true",
                        help="only run the policies in the simulator (to fill the run cache from several processes)")
    args = parser.parse_args(argv)
    if not args.real_only and (not args.world_models or len(args.policies) < 2):
        parser.error("name at least one world model and two policies")
    real, wall, real_dirs = {}, {}, {}
    for name in args.policies:
        real[name], _, wall[("real", name)], real_dirs[name] = outcomes(name, POLICIES[name], None, args.trials,
                                                                        args.tasks, args.runs)
        print(f"real {name}: {np.mean(list(real[name].values())):.3f}", flush=True)
    if args.real_only:
        return 0
    keys = sorted(next(iter(real.values())))
    real_matrix = np.array([[real[p][k] for k in keys] for p in args.policies], float)  # (P, K)
    rows, rates = [], {p: {"real": real_matrix[i].mean()} for i, p in enumerate(args.policies)}
    args.out.mkdir(parents=True, exist_ok=True)
    for world_model in args.world_models:
        imagined, peaks = {}, {}
        for name in args.policies:
            imagined[name], peaks[name], wall[(world_model, name)], _ = outcomes(
                name, POLICIES[name], world_model, args.trials, args.tasks, args.runs)
            print(f"{world_model} {name}: {np.mean(list(imagined[name].values())):.3f} (mean judge peak "
                  f"{np.mean(list(peaks[name].values())):.3f})", flush=True)
        matrix = np.array([[imagined[p][k] for k in keys] for p in args.policies], float)
        peak_matrix = np.array([[peaks[p][k] for k in keys] for p in args.policies], float)  # (P, K)
        video = video_metrics(world_model)
        timing = {"imagined_s_per_episode": np.mean([wall[(world_model, p)] for p in args.policies]),
                  "real_s_per_episode": np.mean([wall[("real", p)] for p in args.policies])}
        # the imagined success (the protocol's score), and the judge's highest score per episode (a graded
        # score: it can rank policies whose imagined episodes all fail)
        for score, evaluated in (("success", matrix), ("judge peak", peak_matrix)):
            values = fidelity(evaluated, real_matrix)
            if score != "success":
                values["episode_agreement"] = {"value": np.nan, "ci_low": np.nan, "ci_high": np.nan}
            rows.append({"world_model": world_model, "score": score, **{f"video_{k}": v for k, v in video.items()},
                         **{f"{m}{s}": values[m][v] for m in METRICS
                            for s, v in (("", "value"), ("_low", "ci_low"), ("_high", "ci_high"))}, **timing})
        for i, p in enumerate(args.policies):
            rates[p][world_model] = matrix[i].mean()
            rates[p][f"{world_model} peak"] = peak_matrix[i].mean()
        scatter(args.out / f"scatter_{world_model}.png", world_model, {p: rates[p]["real"] for p in args.policies},
                {p: rates[p][world_model] for p in args.policies})
    judge = judge_on_real(list(real_dirs.values()))
    write_tables(args, keys, rows, rates, judge)
    return 0


def perception_vs_functionality(rows: list[dict]) -> list[str]:
    """Across the world models: Spearman correlation of each open-loop video metric with each fidelity
    metric of the imagined success (the "perception vs functionality" question); Markdown lines."""
    rows = [r for r in rows if r["score"] == "success"]
    if len(rows) < 3:
        return []
    lines = [f"Perception against functionality: Spearman correlation, over the {len(rows)} world models, of "
             "their open-loop video metric with their fidelity as evaluators (imagined success; a world model "
             "whose imagined rates are all equal counts with Pearson and Spearman 0: it ranks nothing):", "",
             "| video metric | " + " | ".join(METRICS) + " |", "|---|" + "---|" * len(METRICS)]
    for key, label in VIDEO.items():
        video = np.array([r[f"video_{key}"] for r in rows])  # (W,)
        cells = [spearman(video, np.nan_to_num(np.array([r[m] for r in rows], float))) for m in METRICS]
        lines.append(f"| {label} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return ["", *lines]


def write_tables(args: argparse.Namespace, keys: list, rows: list[dict], rates: dict[str, dict[str, float]],
                 judge: dict[str, float]) -> None:
    out = args.out
    with open(out / "fidelity.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(out / "rates.csv", "w", newline="") as f:
        writer = csv.writer(f)
        columns = [c for w in args.world_models for c in (w, f"{w} peak")]
        writer.writerow(["policy", "real", *columns])
        writer.writerows([p, f"{r['real']:.3f}", *(f"{r[c]:.3f}" for c in columns)] for p, r in rates.items())
    lines = [f"# World models as LIBERO policy evaluators ({len(args.policies)} policies × {len(keys)} trials: "
             f"libero_object, initial states 0..{args.trials - 1})", "",
             "| world model | imagined score | Pearson | Spearman | MMRV (lower is better) | pairwise accuracy "
             "| episode agreement | s / imagined episode | s / real episode | open-loop PSNR / SSIM / LPIPS |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        cells = ["–" if np.isnan(row[m]) else f"{row[m]:.2f} [{row[m + '_low']:.2f}, {row[m + '_high']:.2f}]"
                 for m in METRICS]
        lines.append(f"| `{row['world_model']}` | {row['score']} | {' | '.join(cells)} | {row['imagined_s_per_episode']:.1f} "
                     f"| {row['real_s_per_episode']:.1f} | {row['video_psnr']:.2f} / {row['video_ssim']:.3f} / "
                     f"{row['video_lpips']:.3f} |")
    lines += perception_vs_functionality(rows)
    lines += ["", "Success rates (real, and imagined by each world model) and each world model's mean judge peak:", "",
              "| policy | real | " + " | ".join(c.replace(" peak", ": judge peak") for c in columns) + " |",
              "|---|---|" + "---|" * len(columns)]
    lines += [f"| `{p}` | {r['real']:.3f} | " + " | ".join(f"{r[c]:.3f}" for c in columns) + " |"
              for p, r in rates.items()]
    lines += ["", f"The judge on the {judge['episodes']} real episodes' videos ({judge['real_successes']} successes in "
              f"the simulator, {judge['judged_successes']} judged): precision {judge['precision']:.2f}, recall "
              f"{judge['recall']:.2f}, accuracy {judge['accuracy']:.2f}."]
    (out / "judge_on_real.json").write_text(json.dumps(judge, indent=2) + "\n")
    (out / "fidelity.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out}/fidelity.md, fidelity.csv, rates.csv and the scatter plots")


if __name__ == "__main__":
    raise SystemExit(main())
