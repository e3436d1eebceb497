"""The LIBERO policy population and its true success rates, from the real simulator.

    python scripts/libero_population.py [--suite libero_object] [--trials 3] [--tasks 0 1 ...]

Runs the scripted oracle at every perturbation level (`model=oracle_perturbed model.level=0..5`: action
noise, late gripper, early close, pauses; lawm_eval/models/libero_oracle.py), the learned behaviour-cloning
policy (`libero_bc`) and its training snapshots (`python -m lawm_eval.models.train libero_bc` writes
them), and the no-skill baselines (`noop`, `random`) on the same tasks and initial states (trials 0..N-1 of every task), and writes
results/libero_population/population.{md,csv} (success rate with its Wilson 95% interval, mean length,
wall time per episode) and per_task.csv. These rates are the ground truth against which a world model's
imagined evaluation of the same policies is scored (issue 17). Resumable: finished runs are reused from
$LAWM_EVAL_CACHE/libero_population/.
"""

from __future__ import annotations

import csv
from dataclasses import asdict
from pathlib import Path

from lawm_eval.config import compose_config
from lawm_eval.errors import OneLineParser
from lawm_eval.metrics.aggregate import summarize
from lawm_eval.models.libero_oracle import PERTURBATION_LEVELS
from lawm_eval.models.train.libero_bc import SNAPSHOTS, snapshot_path
from lawm_eval.models.zoo import checkpoint_path
from lawm_eval.paths import cache_dir
from lawm_eval.runner.records import RecordStore
from lawm_eval.runner.run import run_evaluation
from lawm_eval.util.hashing import file_sha256
from lawm_eval.util.seeding import stable_seed

OUT = Path(__file__).resolve().parent.parent / "results" / "libero_population"
POPULATION = {
    **{f"oracle_perturbed_{level}": ["model=oracle_perturbed", f"model.level={level}"]
       for level in range(len(PERTURBATION_LEVELS))},
    "libero_bc": ["model=libero_bc"],
    **{f"libero_bc_step{step}": ["model=libero_bc", f"model.checkpoint={snapshot_path(step)}"] for step in SNAPSHOTS},
    "noop": ["model=noop"],
    "random": ["model=random"],
}


def version_of(overrides: list[str]) -> int:
    """What a run's outcome depends on besides the suite: the perturbation ladder, or a learned
    policy's checkpoint (a changed one gets new runs)."""
    if "model=libero_bc" in overrides:
        given = [o.split("=", 1)[1] for o in overrides if o.startswith("model.checkpoint=")]
        path = Path(given[0]) if given else checkpoint_path("libero_bc")
        if not path.is_file():
            raise SystemExit(f"no checkpoint {path}: python -m lawm_eval.models.train libero_bc writes it")
        return stable_seed(file_sha256(path)) % 10**6
    return stable_seed(*(asdict(level) for level in PERTURBATION_LEVELS)) % 10**6


def describe(name: str) -> str:
    """The population table's 'policy kind' column."""
    if name.startswith("oracle_perturbed"):
        level = PERTURBATION_LEVELS[int(name.rsplit("_", 1)[1])]
        return ", ".join(f"{k} {v}" for k, v in vars(level).items() if v) or "none (the oracle)"
    if name.startswith("libero_bc"):
        step = name.removeprefix("libero_bc_step")
        return f"behaviour cloning, {step} steps" if step != name else "behaviour cloning (bundled)"
    return "–"


def measure(name: str, overrides: list[str], suite: str, trials: int, tasks: list[int] | None,
            runs: Path) -> tuple[dict, dict[str, float]]:
    """Run (or resume) one policy; its summary row and its success rate per task."""
    chosen = [] if tasks is None else [f"suite.tasks=[{','.join(map(str, tasks))}]"]
    tag = "all" if tasks is None else "-".join(map(str, tasks))
    version = version_of(overrides)
    outcome = run_evaluation(compose_config([f"suite={suite}", *overrides, f"suite.trials_per_task={trials}", *chosen,
                                             f"run_id={suite}-{name}-t{tag}-n{trials}-l{version}",
                                             f"results_dir={runs}"]))
    records = list(RecordStore(outcome.run_dir).records.values())
    row = summarize(records)
    row["wall_s_per_episode"] = sum(r.wall_time_s for r in records) / len(records)
    per_task: dict[str, list[bool]] = {}
    for record in records:
        per_task.setdefault(record.spec.task, []).append(bool(record.success))
    return row, {task: sum(done) / len(done) for task, done in per_task.items()}


def markdown(suite: str, trials: int, rows: dict[str, dict]) -> str:
    lines = [f"# LIBERO policy population on {suite} ({trials} trials per task, init states 0..{trials - 1})", "",
             "| policy | kind | episodes | success rate [Wilson 95%] | mean length (steps) | s / episode |",
             "|---|---|---|---|---|---|"]
    for name, row in rows.items():
        lines.append(f"| `{name}` | {describe(name)} | {row['n']} | {row['success_rate']:.3f} "
                     f"[{row['success_rate_ci_low']:.3f}, {row['success_rate_ci_high']:.3f}] "
                     f"| {row['episode_length']:.0f} | {row['wall_s_per_episode']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", default="libero_object")
    parser.add_argument("--trials", type=int, default=3, help="initial states per task (0..N-1)")
    parser.add_argument("--tasks", type=int, nargs="*", default=None, help="task indices (default all)")
    parser.add_argument("--only", nargs="*", choices=list(POPULATION), default=list(POPULATION))
    parser.add_argument("--out", type=Path, default=OUT, help="where the tables go")
    parser.add_argument("--runs", type=Path, default=cache_dir() / "libero_population", help="where the runs go")
    args = parser.parse_args(argv)
    rows, tasks = {}, {}
    for name in args.only:
        rows[name], tasks[name] = measure(name, POPULATION[name], args.suite, args.trials, args.tasks, args.runs)
        print(f"{name}: success {rows[name]['success_rate']:.3f} over {rows[name]['n']} episodes", flush=True)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "population.md").write_text(markdown(args.suite, args.trials, rows))
    fields = ["policy", "n", "success_rate", "success_rate_ci_low", "success_rate_ci_high", "episode_length",
              "wall_s_per_episode"]
    with open(out / "population.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({"policy": name, **row} for name, row in rows.items())
    task_names = sorted({task for per_task in tasks.values() for task in per_task})
    with open(out / "per_task.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["policy", *task_names])
        writer.writerows([name, *(f"{tasks[name].get(t, float('nan')):.3f}" for t in task_names)] for name in rows)
    print(f"wrote {out}/population.md, population.csv and per_task.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
