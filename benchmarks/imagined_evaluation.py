"""The speed argument for world-model evaluation: the same LIBERO episodes of the same policy in the
simulator and imagined by a world model, in one run. Writes docs/performance.md.

    python benchmarks/imagined_evaluation.py [--tasks 0 1 6] [--trials 2] [--world-model lawm_libero]

Configurations, each a fresh process timed from the outside (start-up, imports, simulator and model
loading included), one after another on an otherwise idle machine:
- real: ``suite=libero_object`` (the simulator steps every action, renders agentview + wrist);
- imagined, serial, starts from the simulator: ``suite=libero_imagined suite.start_cache=false`` (the
  simulator gives each trial's first frame and state, and nothing else);
- imagined, serial, starts kept: the same with the start cache filled (an untimed run first), as every
  evaluation after the first of the same trials finds it;
- imagined, two episodes side by side, starts kept (``executor.envs_per_worker=2``, simulators in child
  processes): one batcher answers both episodes' policy calls, another their world-model transitions
  (``ImaginationService``).
The episodes' outcomes are reported beside the times: speed is only worth what the fidelity
(``scripts/evaluator_fidelity.py``) says the imagined outcomes are worth.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from model_server import lawm_run, result_of, timed  # noqa: E402
from perf_doc import write_section  # noqa: E402


def configurations(tasks: list[int], trials: int, world_model: str) -> dict[str, list[str]]:
    common = ["model=libero_bc", f"suite.tasks=[{','.join(map(str, tasks))}]", f"suite.trials_per_task={trials}"]
    imagined = [*common, "suite=libero_imagined", f"suite.world_model={world_model}"]
    return {
        "real (`suite=libero_object`)": [*common, "suite=libero_object"],
        f"imagined by `{world_model}`, serial, starts from the simulator": [*imagined, "suite.start_cache=false"],
        f"imagined by `{world_model}`, serial, starts kept": imagined,
        f"imagined by `{world_model}`, 2 side by side, starts kept": [*imagined, "executor.envs_per_worker=2",
                                                                       "suite.simulator=process"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[0, 1, 6])
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--world-model", default="lawm_libero")
    args = parser.parse_args()
    episodes = len(args.tasks) * args.trials
    rows = []
    with tempfile.TemporaryDirectory() as results:
        chosen = configurations(args.tasks, args.trials, args.world_model)
        timed([(lawm_run(chosen[f"imagined by `{args.world_model}`, serial, starts kept"], results, "warm-up"),
                {"OMP_NUM_THREADS": "1"})])  # fills the start cache: the kept configurations find it
        for i, (label, overrides) in enumerate(chosen.items()):
            wall, peak, outs = timed([(lawm_run(overrides, results, f"run{i}"), {"OMP_NUM_THREADS": "1"})])
            result = result_of(outs[0])
            successes = sum(bool(success) for success, _, _ in result["records"])
            steps = sum(steps for _, steps, _ in result["records"])
            world = result.get("service_batching") or {}
            rows.append((label, wall, peak, successes, steps, result["batching"].get("mean_batch"),
                         world.get("mean_batch")))
            print(label, f"{wall:.1f} s", f"{successes}/{episodes}", flush=True)
    real_wall = rows[0][1]
    lines = ["## Imagined vs real LIBERO evaluation (`python benchmarks/imagined_evaluation.py`)", "",
             f"`model=libero_bc` on libero_object tasks {', '.join(map(str, args.tasks))} × initial states "
             f"0..{args.trials - 1} ({episodes} episodes), each configuration a fresh process timed from the outside "
             "(start-up and loading included), one after another, `OMP_NUM_THREADS=1`.", "",
             "| configuration | wall (s) | s / episode | vs real | peak RSS (MiB) | successes | actions | "
             "mean batch: policy / world model |", "|---|---|---|---|---|---|---|---|"]
    for label, wall, peak, successes, steps, policy_batch, world_batch in rows:
        batches = "–" if policy_batch is None else f"{policy_batch:.2f} / {world_batch or 0:.2f}"
        lines.append(f"| {label} | {wall:.1f} | {wall / episodes:.1f} | {real_wall / wall:.2f}× | {peak:.0f} | "
                     f"{successes}/{episodes} | {steps} | {batches} |")
    lines += ["", "An imagined episode needs the simulator once, for the trial's first frame and state (environment, "
              "initial state, 10 settle steps), which the start cache keeps for every later evaluation of the same "
              "trials; then one policy call, one world-model transition (8 actions), one decode, one encode and "
              "one judge call per chunk. Side by side, each environment starts its own LIBERO child process (for "
              "the task list; seconds each), which few episodes do not pay back. The imagined outcomes "
              "differ from the real ones as far as the world model is wrong: docs/protocols/libero_imagined.md "
              "has its fidelity."]
    write_section("imagined_evaluation", "\n".join(lines))
    print("wrote docs/performance.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
