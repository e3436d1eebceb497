"""Serial vs Ray (2 workers) on the same 8-episode run, in one process; writes docs/performance.md.

    python benchmarks/ray_scaling.py [--suite point_mass] [overrides ...]

Measures: wall time of the serial run, of the Ray run with the Ray instance already up (actor
start-up and model loading included), of starting Ray itself, and the scheduling overhead per
episode on trivially short episodes: (wall × workers − Σ episode time) / episodes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(__file__))
from perf_doc import write_section  # noqa: E402

GOAL = 1.85
POINT_MASS_HEAVY = ["suite.episodes=8", "planner.num_samples=40000", "planner.iterations=4"]
LIBERO_HEAVY = ["model=oracle", "suite.tasks=[0]", "suite.trials_per_task=8"]
POINT_MASS_TRIVIAL = ["suite.episodes=100", "suite.max_steps=1", "planner.num_samples=8", "planner.iterations=1"]


def timed_run(overrides: list[str], results: str, run_id: str) -> tuple[float, float, list]:
    """(wall time, worker set-up time, records) of one run."""
    from lawm_eval.config import compose_config
    from lawm_eval.runner.records import read_records
    from lawm_eval.runner.run import run_evaluation

    config = compose_config([*overrides, f"run_id={run_id}", f"results_dir={results}", "executor.progress=off"])
    start = time.perf_counter()
    outcome = run_evaluation(config)
    wall = time.perf_counter() - start
    records, _ = read_records(outcome.run_dir / "episodes.jsonl")
    assert len(records) == outcome.expected and not any(r.error for r in records), "benchmark run failed"
    return wall, outcome.report.setup_s, records


def _episodes_in_process(config: dict, indices: list[int]) -> float:
    """Episode-phase time of running some of the run's episodes in a fresh plain process."""
    import torch

    from lawm_eval.runner.run import make_run_info
    from lawm_eval.runner.worker import EpisodeWorker, RunJob

    torch.set_num_threads(1)
    worker = EpisodeWorker(RunJob(config, None))  # type: ignore[arg-type]
    worker.setup()
    specs = worker.suite.episodes()
    worker.job = RunJob(config, make_run_info(config, worker.suite))
    start = time.perf_counter()
    for i in indices:
        worker.run(specs[i])
    return time.perf_counter() - start


def two_process_ceiling(overrides: list[str], results: str) -> float:
    """Episode-phase time of the same episodes split over two plain processes (no Ray): what this
    machine allows for this workload."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from lawm_eval.config import compose_config
    from lawm_eval.runner.build import build_suite

    config = compose_config([*overrides, "run_id=ceiling", f"results_dir={results}"])
    n = len(build_suite(config).episodes())
    halves = [list(range(0, n, 2)), list(range(1, n, 2))]
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        return max(pool.map(_episodes_in_process, [config, config], halves))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--suite", default="point_mass")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    import ray
    import torch

    torch.set_num_threads(1)
    defaults = LIBERO_HEAVY if args.suite.startswith("libero") else POINT_MASS_HEAVY
    heavy = [f"suite={args.suite}", *(args.overrides or defaults)]
    results = tempfile.mkdtemp(prefix="lawm-bench-")
    try:
        serial, serial_setup, serial_records = timed_run(heavy, results, "serial")
        ceiling = two_process_ceiling(heavy, results)
        start = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, _temp_dir=tempfile.mkdtemp(prefix="lr-", dir="/tmp"),
                 configure_logging=False)
        ray_start = time.perf_counter() - start
        parallel, parallel_setup, _ = timed_run([*heavy, "executor=ray", "executor.num_workers=2"], results, "ray")
        trivial = ["suite=point_mass", *POINT_MASS_TRIVIAL, "executor=ray", "executor.num_workers=2"]
        trivial_wall, trivial_setup, trivial_records = timed_run(trivial, results, "trivial")
        ray.shutdown()
    finally:
        shutil.rmtree(results, ignore_errors=True)
    episode_time = sum(r.wall_time_s for r in serial_records) / len(serial_records)
    overhead = ((trivial_wall - trivial_setup) * 2 - sum(r.wall_time_s for r in trivial_records)) / len(
        trivial_records)
    episodes_speedup = (serial - serial_setup) / (parallel - parallel_setup)
    lines = [
        "## Ray scaling (`benchmarks/ray_scaling.py`)",
        "",
        f"Suite `{args.suite}` "
        + ("(the real LIBERO simulator, privileged oracle policy without cameras) " if args.suite.startswith("libero")
           else "(the toy suite) ")
        + f"`{' '.join(heavy[1:])}`: {len(serial_records)} episodes of {episode_time:.2f} s each on average; "
        "serial executor vs Ray with 2 workers (1 thread each) on this 2-core machine, in one process.",
        "",
        "| | run (s) | of which worker set-up (s) | episodes (s) |",
        "|---|---|---|---|",
        f"| serial | {serial:.2f} | {serial_setup:.2f} | {serial - serial_setup:.2f} |",
        f"| Ray, 2 workers (Ray already up) | {parallel:.2f} | {parallel_setup:.2f} | {parallel - parallel_setup:.2f} |",
        "",
        f"Starting the local Ray instance itself took {ray_start:.2f} s (once per run with `executor.address=local`).",
        "Worker set-up is each actor's process start, `import torch` and model loading (in parallel).",
        "",
        f"- Speedup on the episodes: **{episodes_speedup:.2f}×** (goal ≥ {GOAL}×). The same episodes split "
        f"over two plain processes without Ray take {ceiling:.2f} s: {(serial - serial_setup) / ceiling:.2f}× is "
        "what these two cores give this workload, so Ray reaches "
        f"{episodes_speedup / ((serial - serial_setup) / ceiling):.0%} of it.",
        f"- End to end: {serial / parallel:.2f}× with Ray already running, {serial / (parallel + ray_start):.2f}× "
        f"counting the Ray start; the fixed costs matter only for runs this short ({len(serial_records)} × "
        f"{episode_time:.1f} s).",
        f"- Scheduling overhead per episode: {overhead * 1000:.1f} ms (100 one-step `point_mass` episodes on 2 workers: "
        "((wall − set-up) × 2 − Σ episode time) / 100).",
    ]
    print("\n".join(lines))
    write_section("ray_scaling", "\n".join(lines))


if __name__ == "__main__":
    main()
