"""The DROID CEM step (N=300, K=10, I=15, H=3) with a bundled world model, three ways, in one run:

- batched: lawm-eval's CEM, one objective call (controller + world-model rollout) per iteration;
- per-candidate loop: the same CEM with each candidate rolled out on its own (N calls per iteration);
- bare forwards: only the 15 batched controller + rollout calls, no planner.

    python benchmarks/cem_batching.py [--model lac_wm]      # writes docs/performance.md
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from perf_doc import median_time, write_section  # noqa: E402

GOAL_LOOP, GOAL_BARE = 20.0, 1.2


class PerCandidate:
    """The same objective, evaluated one candidate at a time."""

    def __init__(self, objective):
        self.objective = objective

    def __call__(self, actions: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.objective(actions[i : i + 1]) for i in range(len(actions))])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="lac_wm")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from lawm_eval.config import compose_config
    from lawm_eval.planners.objectives import LatentGoalObjective
    from lawm_eval.rollouts import rollout_actions
    from lawm_eval.runner.build import build_model, build_planner, build_suite

    config = compose_config(["suite=droid_planning", f"model={args.model}"])
    suite = build_suite(config)
    model = build_model(config, suite)
    planner = build_planner(config, suite)
    cfg = planner.cfg
    fixture = np.load(os.path.join(os.path.dirname(__file__), "..", "baselines", "fixtures", "franka_golden.npz"))
    states = model.encoder.encode(torch.from_numpy(fixture["frames"][:1]))  # (1,4,16,32)
    context, goal = states[:, :2], states[:, 3]
    objective = LatentGoalObjective(model.world_model, model.controller, context, goal)

    def batched():
        return planner.plan(objective, torch.Generator().manual_seed(0))

    def loop():
        return planner.plan(PerCandidate(objective), torch.Generator().manual_seed(0))

    samples = torch.randn(cfg.num_samples, cfg.horizon, 7, generator=torch.Generator().manual_seed(1)) * 0.1
    expanded = context.expand(cfg.num_samples, *context.shape[1:])

    @torch.no_grad()
    def bare():
        for _ in range(cfg.iterations):
            rollout_actions(model.world_model, model.controller, expanded, samples)

    t_batched = median_time(batched, repeats=5)
    t_loop = median_time(loop, repeats=1, warmup=0)
    t_bare = median_time(bare, repeats=5)
    same = torch.allclose(batched().actions, loop().actions, atol=1e-4)
    lines = [
        "## CEM batching (`benchmarks/cem_batching.py`)",
        "",
        f"The DROID CEM step (N={cfg.num_samples}, K={cfg.num_elites}, I={cfg.iterations}, H={cfg.horizon}) with "
        f"the bundled `{args.model}` world model and controller on one fixture clip, 1 thread.",
        "",
        "| | time (s) | ratio |",
        "|---|---|---|",
        f"| batched CEM (one call per iteration) | {t_batched:.3f} | 1.00× |",
        f"| per-candidate loop (N calls per iteration) | {t_loop:.3f} | {t_loop / t_batched:.1f}× slower |",
        f"| 15 bare batched forwards (no planner) | {t_bare:.3f} | batched = {t_batched / t_bare:.2f}× of it |",
        "",
        f"Goals: ≥ {GOAL_LOOP:.0f}× faster than the loop ({t_loop / t_batched:.1f}×), ≤ {GOAL_BARE}× the bare "
        f"forwards ({t_batched / t_bare:.2f}×). Batched and looped CEM return the same plan: {same}.",
    ]
    print("\n".join(lines))
    write_section("cem_batching", "\n".join(lines))


if __name__ == "__main__":
    main()
