"""Garrido et al.'s capacity sweep (Fig. 4 and Fig. 11, App. A) on lawm-eval's Franka data: the bundled
latent-action world model trained with sparse, noisy and discrete latents at several strengths, plus the
unconstrained (no regulariser) and deterministic (z ≡ 0) ends. For each model:

- capacity: the held-out one-step token MSE of the world model fed the IDM's latent (lower = more capacity);
- the held-out one-step MSE fed the controller's latent (real actions), and the 3-step controller rollout;
- droid_planning with CEM (the suite's protocol, all 64 clips): Δxyz of the final end-effector position, and its
  paired difference from the zero-action plan on the same clips.

The world model trains with the bundled checkpoints' loss by default (``--loss bundled``: MSE + the 3-step rollout
term); ``--loss paper`` trains the paper's (L1, teacher-forced, no rollout term; Garrido et al. §3-4, App. A), which at
the sweep's 1,200 steps leaves every strength within 6 % of copy-last (docs/models.md, Garrido et al.).

    python scripts/capacity_sweep.py                      # everything (resumes: finished entries are kept)
    python scripts/capacity_sweep.py --only sparse --steps 1200 --episodes 64
    python scripts/capacity_sweep.py --loss bundled --suite-version v2 --episodes 32   # as on 2026-12-01

Checkpoints and per-entry results go to $LAWM_EVAL_CACHE/capacity_sweep/<loss>/; the table and the curve to
results/capacity_sweep/<loss>/ (capacity_sweep.csv, capacity_sweep.md, capacity_curve.png).
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import torch

from lawm_eval.config import compose_config
from lawm_eval.errors import OneLineParser
from lawm_eval.metrics.aggregate import summarize
from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.train.data import transitions
from lawm_eval.models.train.evaluate import evaluate_held_out
from lawm_eval.models.train.lam_variants import STRENGTH, WEIGHTS, train_variant
from lawm_eval.models.zoo import load_autoencoder
from lawm_eval.paths import cache_dir
from lawm_eval.runner.records import RecordStore
from lawm_eval.runner.run import run_evaluation

# Strengths, from the most constrained to the freest (the paper's App. A: λ_l1 0.4 → 0.01, β 5e-3 → 1e-6,
# |C| 16 → 32768, chosen by the same rule at our loss scale: from latents that act like noise to where
# more capacity stops lowering the error).
SWEEP: dict[str, tuple[float | None, ...]] = {
    "sparse": (3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5),
    "noisy": (1e-3, 1e-4, 1e-5, 1e-6),
    "discrete": (4, 16, 64, 256),
    "none": (None,),
    "deterministic": (None,),
}
PLANNED = {"sparse": "lam_sparse", "noisy": "lam_noisy", "discrete": "lam_discrete"}  # model config per kind
LOSSES = {"paper": {"distance": "l1", "rollout": False}, "bundled": {"distance": "mse", "rollout": True}}
SUITE_VERSIONS = ("v3", "v2")  # droid_planning: v3 plans the gripper in DROID's units; v2 is the sweep of 2026-12-01
OUT = Path("results/capacity_sweep")
FIELDS = ("regulariser", "strength_name", "strength", "gt_latent_mse", "controller_mse", "rollout_controller_mse",
          "copy_last_mse", "delta_xyz", "delta_xyz_ci_low", "delta_xyz_ci_high", "delta_xyz_n", "delta_xyz_vs_zero",
          "delta_xyz_vs_zero_ci_low", "delta_xyz_vs_zero_ci_high", "train_s", "plan_s", "steps", "loss", "suite_version")
PLANNING = ("delta_xyz", "delta_xyz_ci_low", "delta_xyz_ci_high", "delta_xyz_n", "delta_xyz_vs_zero",
            "delta_xyz_vs_zero_ci_low", "delta_xyz_vs_zero_ci_high")


def entry_name(regulariser: str, strength: float | None) -> str:
    return regulariser if strength is None else f"{regulariser}_{strength:g}"


def sweep_dir(loss: str) -> Path:
    return cache_dir() / "capacity_sweep" / loss


def is_current(result: dict, regulariser: str, steps: int, episodes: int, loss: str, suite_version: str) -> bool:
    """A cached entry counts when it was trained and planned as asked (entries from before the loss and the
    suite version were recorded do not)."""
    return (result["steps"] == steps and result.get("loss") == loss
            and (regulariser not in PLANNED
                 or (result.get("delta_xyz_n") == episodes and result.get("suite_version") == suite_version)))


def run_entry(regulariser: str, strength: float | None, steps: int, episodes: int, data, held,
              loss: str = "bundled", suite_version: str = SUITE_VERSIONS[0]) -> dict:
    folder = sweep_dir(loss) / entry_name(regulariser, strength)
    done = folder / "result.json"
    if done.is_file():
        result = json.loads(done.read_text())
        if is_current(result, regulariser, steps, episodes, loss, suite_version):
            return result
    shutil.rmtree(folder / "runs", ignore_errors=True)  # the planning run of an older checkpoint must not resume
    tic = time.monotonic()
    model, config, _ = train_variant(regulariser, data, steps, strength, **LOSSES[loss])
    train_s = time.monotonic() - tic
    model.eval()
    result = {"regulariser": regulariser, "strength_name": STRENGTH.get(regulariser, "-"),
              "strength": strength if strength is not None else "", "steps": steps, "train_s": round(train_s),
              "loss": loss, **evaluate_held_out(model, held)}
    if regulariser in PLANNED:
        method = PLANNED[regulariser]
        checkpoint = save_model(folder / "model.pt", method, model, config,
                                {"capacity_sweep": {"strength": strength, "weights": WEIGHTS, "steps": steps,
                                                    **LOSSES[loss]}})
        tic = time.monotonic()
        outcome = run_evaluation(compose_config([
            "suite=droid_planning", f"suite.version={suite_version}", f"model={method}",
            f"model.checkpoint={checkpoint}", f"suite.episodes={episodes}", "suite.references=[zero]",
            f"run_id=sweep-{entry_name(regulariser, strength)}", f"results_dir={folder / 'runs'}"]))
        row = summarize(list(RecordStore(outcome.run_dir).records.values()))
        result.update({k: row[k] for k in PLANNING}, suite_version=suite_version,
                      plan_s=round(time.monotonic() - tic))
    folder.mkdir(parents=True, exist_ok=True)
    done.write_text(json.dumps(result, indent=2) + "\n")
    return result


def plot(rows: list[dict], path: Path) -> None:
    """One capacity panel per latent kind (error vs strength, the two ends as lines) and planning vs capacity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = (("sparse", "o", "λ_l1"), ("noisy", "s", "β"), ("discrete", "^", "codebook size"))
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    ends = {r["regulariser"]: r["gt_latent_mse"] for r in rows if r["regulariser"] in ("none", "deterministic")}
    copy_last = next((r["copy_last_mse"] for r in rows), None)
    for ax, (kind, marker, label) in zip(axes, kinds):
        points = [r for r in rows if r["regulariser"] == kind]
        if not points:  # a partial sweep (--only)
            ax.set_title(f"{kind} latents: not run")
            ax.axis("off")
            continue
        ax.plot([float(r["strength"]) for r in points], [r["gt_latent_mse"] for r in points], marker=marker)
        for name, value in ends.items():
            ax.axhline(value, linestyle="--", color="grey" if name == "none" else "black", label=name)
        if copy_last is not None:
            ax.axhline(copy_last, linestyle=":", color="red", label="copy last")
        ax.set_xscale("log")
        ax.set_xlabel(label + (" (more capacity →)" if kind == "discrete" else " (← more capacity)"))
        ax.set_title(f"{kind} latents")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("held-out one-step MSE, IDM latents")
    planning = axes[3]
    for kind, marker, _ in kinds:
        planned = sorted((r for r in rows if r["regulariser"] == kind and r.get("delta_xyz") not in (None, "")),
                         key=lambda r: r["gt_latent_mse"])
        if planned:
            planning.errorbar([r["gt_latent_mse"] for r in planned], [r["delta_xyz"] for r in planned],
                              yerr=[[r["delta_xyz"] - r["delta_xyz_ci_low"] for r in planned],
                                    [r["delta_xyz_ci_high"] - r["delta_xyz"] for r in planned]],
                              marker=marker, capsize=3, label=kind)
    paired = [r for r in rows if r.get("delta_xyz_vs_zero") is not None]
    if paired:  # every planned entry ran on the same clips: its Δxyz minus the paired difference is the zero plan's
        zero_plan = paired[0]["delta_xyz"] - paired[0]["delta_xyz_vs_zero"]
        planning.axhline(zero_plan, linestyle="--", color="black", label="zero-action plan")
    planning.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
    planning.set_xlabel("capacity: one-step MSE, IDM latents")
    planning.set_ylabel("droid_planning Δxyz (m)")
    planning.set_title("planning vs capacity (Fig. 11)")
    planning.legend(fontsize=7)
    fig.suptitle(f"Garrido et al.'s capacity sweep on lawm-eval's Franka data (scripts/capacity_sweep.py, "
                 f"{rows[0]['loss'] if rows else ''} loss)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(rows: list[dict]) -> str:
    """The table docs/models.md shows: one row per model, most constrained first within each kind."""
    lines = ["| latents | strength | one-step MSE, IDM latent (capacity) | one-step MSE, controller | 3-step rollout, "
             "controller | droid_planning Δxyz (m) [95% CI] | − zero plan, same clips (m) | train + plan (s) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        strength = f"{r['strength_name']} = {float(r['strength']):g}" if r["strength"] != "" else "–"
        plan = (f"{r['delta_xyz']:.3f} [{r['delta_xyz_ci_low']:.3f}, {r['delta_xyz_ci_high']:.3f}]"
                if r.get("delta_xyz") is not None else "–")
        paired = (f"{r['delta_xyz_vs_zero']:+.3f} [{r['delta_xyz_vs_zero_ci_low']:+.3f}, "
                  f"{r['delta_xyz_vs_zero_ci_high']:+.3f}]" if r.get("delta_xyz_vs_zero") is not None else "–")
        lines.append(f"| {r['regulariser']} | {strength} | {r['gt_latent_mse']:.5f} | {r['controller_mse']:.5f} | "
                     f"{r['rollout_controller_mse']:.5f} | {plan} | {paired} | {r['train_s']} + {r.get('plan_s', 0)} |")
    copy = rows[0]["copy_last_mse"] if rows else float("nan")
    return "\n".join(lines) + f"\n\nCopy-last: one-step MSE {copy:.5f}.\n"


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", choices=list(SWEEP), default=list(SWEEP))
    parser.add_argument("--steps", type=int, default=1200, help="world-model steps per model (controller: half)")
    parser.add_argument("--episodes", type=int, default=64, help="droid_planning episodes per model")
    parser.add_argument("--loss", choices=list(LOSSES), default="bundled",
                        help="the world model's loss: the paper's (L1, teacher-forced) or the bundled checkpoints'")
    parser.add_argument("--suite-version", choices=SUITE_VERSIONS, default=SUITE_VERSIONS[0],
                        help="the droid_planning version the sweep plans")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    autoencoder = load_autoencoder()
    data = transitions("franka", autoencoder, window=3)
    held = transitions("franka", autoencoder, window=3, split="held_out")
    for regulariser in args.only:
        for strength in SWEEP[regulariser]:
            result = run_entry(regulariser, strength, args.steps, args.episodes, data, held, args.loss,
                               args.suite_version)
            print(f"{entry_name(regulariser, strength)}: IDM-latent MSE {result['gt_latent_mse']:.5f}, controller "
                  f"{result['controller_mse']:.5f}, Δxyz {result.get('delta_xyz', float('nan')):.3f}", flush=True)
    rows = [json.loads(p.read_text()) for p in sorted(sweep_dir(args.loss).glob("*/result.json"))]
    rows = [r for r in rows if is_current(r, r["regulariser"], args.steps, args.episodes, args.loss, args.suite_version)]
    out = OUT / args.loss
    order = {kind: i for i, kind in enumerate(SWEEP)}
    # most constrained first: large λ_l1 or β, small codebooks
    rows.sort(key=lambda r: (order[r["regulariser"]],
                             float(r["strength"] or 0) * (1 if r["regulariser"] == "discrete" else -1)))
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "capacity_sweep.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out / "capacity_curve.png")
    (out / "capacity_sweep.md").write_text(markdown(rows))
    print(f"wrote {out}/capacity_sweep.csv, .md and capacity_curve.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
