"""Per-suite runtime from finished runs: mean seconds per episode (from the records' wall_time_s)
and the projected time of the suite's default episode count, on the machine the runs ran on.

    python scripts/suite_runtimes.py results/leaderboard-runs
"""

from __future__ import annotations

import sys
from collections import defaultdict

from lawm_eval.catalog import registries
from lawm_eval.report.runs import find_runs, load_run
from lawm_eval.runner.build import build_suite
from lawm_eval.types import RunConfig


def default_episodes(suite: str) -> int:
    """Episodes of the suite at its manifest defaults (enumerated by the suite itself)."""
    manifest = registries()["suite"].get(suite)
    config = RunConfig.from_dict({"suite": {"name": suite, "version": manifest.version, **manifest.params},
                                  "model": {"name": "noop"}, "executor": {"name": "serial"}})
    return len(build_suite(config).episodes())


def main(folder: str) -> None:
    times: dict[str, list[float]] = defaultdict(list)
    for run_dir in find_runs([folder]):
        for record in load_run(run_dir).records:
            times[(record.suite, record.model, record.planner or "-")].append(record.wall_time_s)
    print("| suite | model | planner | episodes timed | s / episode | default episodes | default run |")
    print("|---|---|---|---|---|---|---|")
    counts: dict[str, int] = {}
    for (suite, model, planner), values in sorted(times.items()):
        per = sum(values) / len(values)
        episodes = counts.setdefault(suite, default_episodes(suite))
        print(f"| {suite} | {model} | {planner} | {len(values)} | {per:.2f} | {episodes} | {per * episodes / 60:.1f} min |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/leaderboard-runs")
