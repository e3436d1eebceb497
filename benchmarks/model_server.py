"""LIBERO with an image policy: serial vs K environments sharing one batched policy
(``executor.envs_per_worker``) vs Ray workers sharing one model server, against two plain processes;
the shared server's batch sizes; and lawm-eval vs ``lerobot-eval`` on the same LeRobot policy.
Writes docs/performance.md.

    python benchmarks/model_server.py [--episodes 6] [--skip-lerobot]

Every configuration is a fresh process (``python -c``), timed from the outside (start-up, imports,
simulator and model loading included); peak memory is the largest resident set of that process and
all its descendants (Ray's workers, the simulators' child processes), sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from perf_doc import write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
TASK, MAX_STEPS = 0, 220  # libero_spatial task 0, the suite's 220 policy actions (+ 10 settling steps)

CHILD = """
import json, sys, time
from lawm_eval.config import compose_config
from lawm_eval.runner.run import run_evaluation
start = time.perf_counter()
outcome = run_evaluation(compose_config(json.loads(sys.argv[1])))
records = sorted(outcome.results.records, key=lambda r: r.key)
print(json.dumps({"run_s": time.perf_counter() - start, "batching": outcome.report.batching,
                  "service_batching": outcome.report.service_batching,
                  "errors": [r.error for r in records if r.error],
                  "queries": sum(r.info.get("policy_queries", 0) for r in records),
                  "records": [[r.success, r.steps, r.metrics] for r in records]}))
"""


class PeakMemory:
    """The largest summed RSS of a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int):
        import psutil

        self.root, self.peak, self.stop = psutil.Process(pid), 0, threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        import psutil

        while not self.stop.is_set():
            total = 0
            try:
                for proc in [self.root, *self.root.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            self.stop.wait(0.2)

    def finish(self) -> float:
        self.stop.set()
        self.thread.join()
        return self.peak / 2**20


def timed(commands: list[tuple[list[str], dict[str, str]]]) -> tuple[float, float, list[str]]:
    """Run the commands side by side; (wall seconds until the last ends, summed peak MiB, stdouts)."""
    start = time.perf_counter()
    procs, meters = [], []
    for argv, env in commands:
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env={**os.environ, **env}, cwd=REPO))
        meters.append(PeakMemory(procs[-1].pid))
    outs = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(commands[0][0][:3])} failed:\n{err[-3000:]}")
        outs.append(out)
    wall = time.perf_counter() - start
    return wall, sum(m.finish() for m in meters), outs


def lawm_run(overrides: list[str], results: str, run_id: str) -> list[str]:
    config = [*overrides, f"results_dir={results}", f"run_id={run_id}", "executor.progress=off"]
    return [PYTHON, "-c", CHILD, json.dumps(config)]


def result_of(stdout: str) -> dict:
    result = json.loads(stdout.strip().splitlines()[-1])
    if result["errors"]:
        raise SystemExit(f"episodes failed: {result['errors'][:2]}")
    return result


def per_hour(episodes: int, seconds: float) -> float:
    return 3600.0 * episodes / seconds


BASE = ["suite=libero_spatial", f"suite.tasks=[{TASK}]", "suite.simulator=process", "model=vla_flow",
        "suite.execute_steps=3"]
SERIAL, VECTOR, RAY, CEILING = ("serial (1 environment)", "serial, `executor.envs_per_worker=2` (one batched policy)",
                                "Ray, 2 workers + 1 model server (`executor.model_server=true`)",
                                "ceiling: 2 plain processes, half the episodes each")


def measure(label: str, commands: list[list[str]]) -> dict:
    wall, peak, outs = timed([(argv, {}) for argv in commands])
    results = [result_of(out) for out in outs]
    print(label, f"{wall:.1f} s", f"{peak:.0f} MiB", results[0]["batching"].get("mean_batch"), flush=True)
    return {"wall": wall, "peak": peak, "results": results, "batching": results[0]["batching"]}


def measure_all(episodes: int, results: str) -> dict[str, dict]:
    """Every configuration once: the four of the main table, K = 4, and Ray without a model server."""
    one = [*BASE, f"suite.trials_per_task={episodes}"]
    runs = {
        SERIAL: [lawm_run(one, results, "serial")],
        VECTOR: [lawm_run([*one, "executor.envs_per_worker=2"], results, "vector")],
        RAY: [lawm_run([*one, "executor=ray", "executor.model_server=true"], results, "ray_server")],
        CEILING: [lawm_run([*BASE, f"suite.trials_per_task={episodes // 2}"], results, f"plain{i}") for i in range(2)],
        "K=4": [lawm_run([*one, "executor.envs_per_worker=4"], results, "vector4")],
        "ray_copies": [lawm_run([*one, "executor=ray"], results, "ray_copies")],
    }
    return {label: measure(label, commands) for label, commands in runs.items()}


def parallel_rows(episodes: int, measured: dict[str, dict]) -> tuple[list[str], dict[str, bool]]:
    """Serial, 2 environments sharing a batched policy, Ray 2 workers + 1 model server, 2 plain processes."""
    rates = {label: per_hour(episodes, measured[label]["wall"]) for label in (SERIAL, VECTOR, RAY, CEILING)}
    lines = ["| configuration | wall (s) | episodes/hour | vs serial | of the ceiling | peak memory (MiB) | mean batch |",
             "|---|---|---|---|---|---|---|"]
    for label, rate in rates.items():
        m = measured[label]
        mean = f"{m['batching']['mean_batch']:.2f}" if m["batching"] else "–"
        lines.append(f"| {label} | {m['wall']:.1f} | {rate:.0f} | {rate / rates[SERIAL]:.2f}× | "
                     f"{100 * rate / rates[CEILING]:.0f}% | {m['peak']:.0f} | {mean} |")
    serial = measured[SERIAL]["results"][0]["records"]
    same = {label: measured[label]["results"][0]["records"] == serial for label in (VECTOR, RAY)}
    same["Ray, 2 workers with a model copy each"] = measured["ray_copies"]["results"][0]["records"] == serial
    return lines, same


def batch_rows(episodes: int, measured: dict[str, dict]) -> list[str]:
    """Mean batch and model calls per episode with K = 1, 2, 4 environments sharing one policy."""
    lines = ["| environments K | model calls / episode | policy requests / episode | mean batch | mean batch / K | "
             "peak memory (MiB) |", "|---|---|---|---|---|---|"]
    for k, label in ((1, SERIAL), (2, VECTOR), (4, "K=4")):
        m = measured[label]
        batching = m["batching"]
        if not batching:  # K = 1 runs without a batcher: one model call per policy query
            queries = m["results"][0]["queries"]
            batching = {"calls": queries, "requests": queries, "mean_batch": 1.0}
        lines.append(f"| {k} | {batching['calls'] / episodes:.1f} | {batching['requests'] / episodes:.1f} | "
                     f"{batching['mean_batch']:.2f} | {batching['mean_batch'] / k:.2f} | {m['peak']:.0f} |")
    return lines


def memory_rows(measured: dict[str, dict]) -> list[str]:
    """Ray with 2 workers: each worker its own model copy vs one model server."""
    lines = ["| Ray, 2 workers | model copies | wall (s) | peak memory (MiB) | records equal to serial |",
             "|---|---|---|---|---|"]
    serial = measured[SERIAL]["results"][0]["records"]
    for label, key, copies in (("a model copy per worker", "ray_copies", 2), ("one model server", RAY, 1)):
        m = measured[key]
        same = "yes" if m["results"][0]["records"] == serial else "no"
        lines.append(f"| {label} | {copies} | {m['wall']:.1f} | {m['peak']:.0f} | {same} |")
    return lines


# -- lerobot-eval side by side ------------------------------------------------------------------------
def lerobot_setup(work: Path) -> tuple[Path, Path, dict[str, str]]:
    """The lerobot environment's Python, a random-init ACT policy saved in ``work``, and the environment
    variables that point hf-libero at lawm-eval's LIBERO assets offline."""
    from lawm_eval.assets import require
    from lawm_eval.envs.environments import get_environment
    from lawm_eval.models.lerobot import start_runtime

    python = get_environment("lerobot").require()
    policy_dir = work / "act_random"
    runtime = start_runtime()
    try:
        runtime.call("save_random_policy", path=str(policy_dir), kind="act", seed=0)
    finally:
        runtime.close()
    # hf-libero asks on stdin for its config when none exists: find its files without importing it
    find = "import importlib.util as u; print(u.find_spec('libero').submodule_search_locations[0])"
    root = subprocess.run([str(python), "-c", find], capture_output=True, text=True, check=True).stdout.strip()
    root = f"{root}/libero"
    (work / "config.yaml").write_text("".join(f"{k}: {v}\n" for k, v in {
        "benchmark_root": root, "bddl_files": f"{root}/bddl_files",
        "init_states": f"{root}/init_files", "datasets": str(work / "datasets"),
        "assets": str(require("libero_assets"))}.items()))
    home = work / "home"
    (home / ".cache" / "libero").mkdir(parents=True, exist_ok=True)
    link = home / ".cache" / "libero" / "assets"
    if not link.exists():
        link.symlink_to(require("libero_assets"))
    env = {"LIBERO_CONFIG_PATH": str(work), "HOME": str(home), "HF_HUB_OFFLINE": "1", "MUJOCO_GL": "egl"}
    return python, policy_dir, env


def lerobot_rows(episodes: int, results: str) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="lerobot-bench-"))
    python, policy_dir, env = lerobot_setup(work)
    lerobot_eval = [str(python.parent / "lerobot-eval"), f"--policy.path={policy_dir}", "--policy.device=cpu",
                    "--env.type=libero", "--env.task=libero_spatial", f"--env.task_ids=[{TASK}]",
                    f"--env.episode_length={MAX_STEPS}", f"--eval.n_episodes={episodes}", "--eval.batch_size=1",
                    "--seed=7"]
    ours = ["suite=libero_spatial", f"suite.tasks=[{TASK}]", f"suite.trials_per_task={episodes}", "model=lerobot",
            f"model.path={policy_dir}", "model.device=cpu"]
    lines = ["| tool | wall (s) | episodes/hour | peak memory (MiB) | success |", "|---|---|---|---|---|"]
    runs = [("`lerobot-eval` (LeRobot 0.4.4, its environment, `--eval.batch_size=1`)",
             [*lerobot_eval, f"--output_dir={work / 'lerobot_out'}"], env),
            ("`lawm-eval` (`model=lerobot`, LIBERO in process)", lawm_run(ours, results, "lerobot"), {}),
            ("`lawm-eval` (`model=lerobot`, `suite.simulator=process`)",
             lawm_run([*ours, "suite.simulator=process"], results, "lerobot_process"), {})]
    rates = []
    for label, argv, extra in runs:
        wall, peak, outs = timed([(argv, extra)])
        if argv[0].endswith("lerobot-eval"):
            info = json.loads((work / "lerobot_out" / "eval_info.json").read_text())
            success = f"{info['overall']['pc_success']:.0f}%"
        else:
            records = result_of(outs[0])["records"]
            success = f"{100 * sum(bool(r[0]) for r in records) / len(records):.0f}%"
        rates.append(per_hour(episodes, wall))
        lines.append(f"| {label} | {wall:.1f} | {rates[-1]:.0f} | {peak:.0f} | {success} |")
        print(lines[-1], flush=True)
    lines.append("")
    lines.append(f"lawm-eval / lerobot-eval episodes per hour: **{rates[1] / rates[0]:.2f}×** in process, "
                 f"**{rates[2] / rates[0]:.2f}×** with LIBERO in its own environment.")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=6)
    parser.add_argument("--skip-lerobot", action="store_true")
    args = parser.parse_args()
    results = tempfile.mkdtemp(prefix="lawm-bench-")
    lerobot = [] if args.skip_lerobot else lerobot_rows(args.episodes, results)
    measured = measure_all(args.episodes, results)
    parallel, same = parallel_rows(args.episodes, measured)
    batches = batch_rows(args.episodes, measured)
    memory = memory_rows(measured)
    body = [
        "## Sharing one model (`benchmarks/model_server.py`)",
        "",
        f"libero_spatial task {TASK}, {args.episodes} episodes of the bundled image policy `vla_flow` (both 256² "
        "cameras rendered, 220 policy actions in chunks of 3 (`suite.execute_steps=3`: its chunk) unless it succeeds), LIBERO in the `libero` environment's "
        "child processes (`suite.simulator=process`). Each configuration is a fresh process timed from the outside: "
        "start-up, imports, simulators and model loading included. The ceiling is the same number of episodes split "
        "over two independent lawm-eval processes (each runs the first half of the initial states).",
        "",
        *parallel,
        "",
        "Records equal to the serial run's: " + ", ".join(f"{label.split(' (')[0]}: {'yes' if ok else 'no'}"
                                                         for label, ok in same.items())
        + ". `vla_flow` batched on the CPU rounds differently from one row at a time (≤ 1e-6), which the contact "
          "dynamics can amplify; a policy whose batched rows equal its single answers gives identical records "
          "(tests/test_libero_process.py).",
        "",
        "### Batch sizes of the shared policy (`executor.envs_per_worker=K`)",
        "",
        *batches,
        "",
        "### Memory: one model server vs a model copy per Ray worker",
        "",
        *memory,
        "",
        "The server is one more process (Python, torch, the model) in exchange for the copies it saves: with the "
        "bundled ~1 MB `vla_flow` that process costs more than the copy, so peak memory goes up; the saving is "
        "(workers − 1) × the model's size, e.g. ~14 GB per extra copy of a 7B VLA in bf16, and the server is what "
        "lets those workers share one GPU (`+model.num_gpus=1`).",
    ]
    if not args.skip_lerobot:
        body += ["", "### lawm-eval vs lerobot-eval, the same LeRobot policy", "",
                 f"A randomly initialised ACT policy (LeRobot's default ACT: ResNet-18 backbones, chunk 100, "
                 f"`n_action_steps` 100) saved locally, libero_spatial task {TASK}, {args.episodes} episodes of "
                 f"{MAX_STEPS} actions after 10 settling steps, both cameras at 256², policy on the CPU. lerobot-eval "
                 "always writes videos of the first episodes; lawm-eval writes none by default.",
                 "", *lerobot]
    write_section("model_server", "\n".join(body))


if __name__ == "__main__":
    main()
