"""LAC-WM vs EAC-WM vs EAC-WM-S after adaptation to the Franka arm, held out of pretraining, against how much
Franka data the adaptation gets (LAC-WM Table 1's comparison, with `droid_planning` added as a closed-loop check).

For each model of ``lawm_eval/models/train/franka_held_out.py`` and each amount of target data (the first 1, 3 or
11 Franka training episodes, or all 110: the bundled checkpoints), the held-out one- and 3-step token MSE through
the model's controller (real actions) and `droid_planning` v3 with CEM on its 64 clips: Δxyz, paired against the
zero-action plan and against EAC-WM-S trained on the same data.

    python scripts/held_out_embodiment.py                 # trains what is missing, resumes finished runs
    python scripts/held_out_embodiment.py --episodes 1 3  # some data sizes only
    python scripts/held_out_embodiment.py --episodes 1 3 --skip 50   # another draw: episodes 51-53
    python scripts/held_out_embodiment.py --episodes 3 --strategies  # + Table 5's fine-tuning strategies
    python scripts/held_out_embodiment.py --pretrain-steps 3600 --adapt-steps 3600   # the recipe bundled until 2026-12-05

Checkpoints of the smaller data sizes (and of any recipe other than the bundled one) and the runs go to
$LAWM_EVAL_CACHE (checkpoints/franka_held_out/, held_out_embodiment/runs/); the table and the plot to
results/held_out_embodiment/ (a file name with ``_pre<N>``/``_adapt<N>`` for another recipe).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import torch

from lawm_eval.config import compose_config
from lawm_eval.errors import OneLineParser
from lawm_eval.metrics.stats import t_interval
from lawm_eval.models.train import franka_held_out
from lawm_eval.models.train.loop import step_count
from lawm_eval.paths import cache_dir
from lawm_eval.runner.records import RecordStore
from lawm_eval.runner.run import run_evaluation


class Steps(NamedTuple):
    """A recipe's training steps: pretraining (LAC-WM, EAC-WM) and adaptation (EAC-WM-S's training too)."""

    pretrain: int
    adapt: int

    def suffix(self) -> str:
        """How these steps name a checkpoint, a run and a table ("" for the bundled recipe)."""
        return franka_held_out.recipe_suffix(pretrain_steps=self.pretrain, adapt_steps=self.adapt)


BUNDLED = Steps(franka_held_out.PRETRAIN_STEPS, franka_held_out.ADAPT_STEPS)
EPISODES = (1, 3, 11, None)  # None: all 110 training episodes (the bundled checkpoints)
SCRATCH = "eac_wm_s_franka"
OUT = Path("results/held_out_embodiment")


def label(episodes: int | None, skip: int = 0) -> str:
    return "all" if episodes is None else f"{episodes}" + (f"_after{skip}" if skip else "")


def checkpoint(name: str, episodes: int | None, skip: int = 0, steps: Steps = BUNDLED) -> Path:
    """The model's checkpoint for this much Franka data and these steps, trained first if missing."""
    path = franka_held_out.checkpoint_file(name, episodes, skip, pretrain_steps=steps.pretrain, adapt_steps=steps.adapt)
    if not path.exists():
        franka_held_out.main(names=(name,), target_episodes=episodes, skip_episodes=skip,
                             pretrain_steps=steps.pretrain, adapt_steps=steps.adapt)
    return path


def held_out_metrics(name: str, episodes: int | None, skip: int, steps: Steps) -> dict:
    payload = torch.load(checkpoint(name, episodes, skip, steps), weights_only=True)
    return payload["extra"]["metrics"]


def plan(name: str, episodes: int | None, skip: int, steps: Steps) -> dict[int, dict[str, float]]:
    """droid_planning v3 on all its clips: each episode's metrics, by episode index (resumes a finished run)."""
    run_id = f"{name}_{label(episodes, skip)}{steps.suffix()}"
    model = franka_held_out.STRATEGIES.get(name, (name,))[0]  # a strategy ablation runs as the model it varies
    outcome = run_evaluation(compose_config([
        "suite=droid_planning", f"model={model}", f"model.checkpoint={checkpoint(name, episodes, skip, steps)}",
        f"run_id={run_id}", f"results_dir={cache_dir() / 'held_out_embodiment' / 'runs'}"]))
    return {r.episode_idx: r.metrics for r in RecordStore(outcome.run_dir).records.values()}


def interval(values: list[float]) -> list[float]:
    mean, low, high = t_interval(values)
    return [round(mean, 4), round(low, 4), round(high, 4)]


def row(name: str, episodes: int | None, skip: int, scratch: dict[int, dict[str, float]] | None,
        steps: Steps = BUNDLED) -> tuple[dict, dict]:
    episodes_metrics = plan(name, episodes, skip, steps)
    order = sorted(episodes_metrics)
    xyz = [episodes_metrics[i]["delta_xyz"] for i in order]
    result = {"model": name, "target_episodes": label(episodes), **held_out_metrics(name, episodes, skip, steps),
              "delta_xyz": interval(xyz),
              "delta_xyz_vs_zero": interval([x - episodes_metrics[i]["delta_xyz@zero"] for x, i in zip(xyz, order)]),
              "episodes": len(xyz)}
    if scratch is not None:
        result["delta_xyz_vs_eac_wm_s"] = interval([x - scratch[i]["delta_xyz"] for x, i in zip(xyz, order)])
    return result, episodes_metrics


def cell(r: dict, key: str) -> str:
    """'mean [low, high]' of an interval column (signed for differences), '–' where absent."""
    if key not in r:
        return "–"
    mean, low, high = r[key]
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]" if "_vs_" in key else f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def markdown(rows: list[dict]) -> str:
    lines = ["| Franka episodes | model | 1-step MSE (copy-last {:.5f}) | 3-step MSE (copy-last {:.5f}) | droid_planning Δxyz (m) "
             "| vs zero plan | vs EAC-WM-S, same data |".format(rows[0]["copy_last_mse"], rows[0]["rollout_copy_last_mse"]),
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['target_episodes']} | `{r['model']}` | {r['controller_mse']:.5f} | "
                     f"{r['rollout_controller_mse']:.5f} | {cell(r, 'delta_xyz')} | {cell(r, 'delta_xyz_vs_zero')} | "
                     f"{cell(r, 'delta_xyz_vs_eac_wm_s')} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    """Held-out one-step MSE and droid_planning Δxyz against the Franka episodes the adaptation saw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    sizes = sorted({r["target_episodes"] for r in rows}, key=lambda s: 110 if s == "all" else int(s))
    x = [110 if s == "all" else int(s) for s in sizes]
    for name in franka_held_out.NAMES:
        mine = {r["target_episodes"]: r for r in rows if r["model"] == name}
        left.plot(x, [mine[s]["controller_mse"] for s in sizes], marker="o", label=name)
        right.errorbar(x, [mine[s]["delta_xyz"][0] for s in sizes],
                       yerr=[[mine[s]["delta_xyz"][0] - mine[s]["delta_xyz"][1] for s in sizes],
                             [mine[s]["delta_xyz"][2] - mine[s]["delta_xyz"][0] for s in sizes]],
                       marker="o", capsize=3, label=name)
    left.axhline(rows[0]["copy_last_mse"], color="grey", linestyle="--", label="copy last")
    zero = [r for r in rows if r["model"] == SCRATCH][0]
    right.axhline(zero["delta_xyz"][0] - zero["delta_xyz_vs_zero"][0], color="grey", linestyle="--",
                  label="zero-action plan")
    for axis, title in ((left, "held-out 1-step MSE (controller)"), (right, "droid_planning Δxyz (m), 64 clips")):
        axis.set_xscale("log")
        axis.set_xlabel("Franka training episodes in the adaptation (110 = all)")
        axis.set_title(title)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, nargs="+", help="Franka episodes (default: 1 3 11 and all)")
    parser.add_argument("--skip", type=int, default=0, help="take them after the first K episodes (another draw)")
    parser.add_argument("--strategies", action="store_true",
                        help="add LAC-WM's fine-tuning-strategy ablations (A.6, Table 5) to the table")
    parser.add_argument("--pretrain-steps", type=step_count, default=BUNDLED.pretrain,
                        help=f"pretraining steps (the bundled recipe's: {BUNDLED.pretrain})")
    parser.add_argument("--adapt-steps", type=step_count, default=BUNDLED.adapt,
                        help=f"adaptation steps, EAC-WM-S's training too (the bundled recipe's: {BUNDLED.adapt})")
    args = parser.parse_args(argv)
    steps = Steps(args.pretrain_steps, args.adapt_steps)
    torch.set_num_threads(1)
    sizes = tuple(args.episodes) if args.episodes else EPISODES
    rows = []
    for episodes in sizes:
        scratch_row, scratch = row(SCRATCH, episodes, args.skip, None, steps)
        names = [*franka_held_out.NAMES, *(franka_held_out.STRATEGIES if args.strategies else ())]
        rows += [row(name, episodes, args.skip, scratch, steps)[0] for name in names if name != SCRATCH]
        rows.append(scratch_row)
    OUT.mkdir(parents=True, exist_ok=True)
    stem = ((f"franka_after{args.skip}" if args.skip else "franka") + ("_strategies" if args.strategies else "")
            + steps.suffix())
    (OUT / f"{stem}.json").write_text(json.dumps(rows, indent=2) + "\n")
    (OUT / f"{stem}.md").write_text(markdown(rows))
    if not args.episodes:
        plot(rows, OUT / f"{stem}.png")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
