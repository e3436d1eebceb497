"""Ray execution: same records as serial, worker and driver deaths survived, a two-node cluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import REPO
from lawm_eval.errors import ModelError
from lawm_eval.runner.records import EPISODES_FILE, read_records
from lawm_eval.runner.run import run_evaluation

TESTS = str(Path(__file__).parent)
pytestmark = [pytest.mark.slow, pytest.mark.extra("ray")]


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray instance (2 CPUs) shared by the in-process tests; workers can import tests/."""
    import ray

    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = TESTS + (os.pathsep + old if old else "")
    temp = tempfile.mkdtemp(prefix="lawm-ray-", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, configure_logging=False)
    yield
    ray.shutdown()
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


def records(run_dir: Path):
    recs, tail = read_records(Path(run_dir) / EPISODES_FILE)
    assert tail == b""
    return {r.key: r for r in recs}


def test_serial_and_ray_give_identical_records(ray_local, compose):
    serial = run_evaluation(compose("suite.episodes=5", "run_id=serial"))
    parallel = run_evaluation(compose("suite.episodes=5", "run_id=ray", "executor=ray", "executor.num_workers=2"))
    a, b = records(serial.run_dir), records(parallel.run_dir)
    assert list(a) == sorted(a) and set(a) == set(b)
    assert {k: r.comparable() for k, r in a.items()} == {k: r.comparable() for k, r in b.items()}
    workers = {r.worker for r in b.values()}
    assert len(workers) == 2 and all(w.startswith("ray:") for w in workers)  # both actors took episodes


@pytest.mark.sim
@pytest.mark.extra("libero")
def test_imagined_libero_episodes_on_ray_are_the_serial_ones(ray_local, compose, monkeypatch, tmp_path):
    """The world model as an evaluator runs on Ray like the other suites: two imagined LIBERO episodes,
    their real starts taken in each worker's simulator, give the records of a serial run that kept its
    starts (in tmp_path) and of a second serial run that read them back."""
    from lawm_eval.suites import libero_imagined

    monkeypatch.setattr(libero_imagined, "cache_dir", lambda: tmp_path)  # the serial runs' start cache
    imagined = ("suite=libero_imagined", "model=libero_bc", "suite.world_model=lawm_libero", "suite.tasks=[6]",
                "suite.trials_per_task=2", "suite.max_steps=24")
    kept = run_evaluation(compose(*imagined, "run_id=imagined-keeps"))
    assert len(list((tmp_path / "libero_starts").iterdir())) == 2
    reread = run_evaluation(compose(*imagined, "run_id=imagined-rereads"))
    parallel = run_evaluation(compose(*imagined, "run_id=imagined-ray", "executor=ray", "executor.num_workers=2",
                                      "suite.start_cache=false"))
    a, b, c = (records(run.run_dir) for run in (kept, reread, parallel))
    assert len(a) == 2 and all(r.worker.startswith("ray:") for r in c.values())
    assert {k: r.comparable() for k, r in a.items()} == {k: r.comparable() for k, r in b.items()} \
        == {k: r.comparable() for k, r in c.items()}


def test_a_worker_killed_mid_episode_is_retried(ray_local, compose, tmp_path):
    marker = tmp_path / "killed-once"
    outcome = run_evaluation(compose(
        "suite.episodes=4", "run_id=kill", "executor=ray", "model=custom", "model.factory=ray_helpers:killer_model",
        f"+model.marker={marker}", "+model.kill_seed=2"))
    assert marker.exists()  # the worker really died
    recs = records(outcome.run_dir)
    assert len(recs) == 4 and outcome.report.retries == 1
    retried = recs[("point_mass", "v1", "reach", 2, 2)]
    assert retried.error is None and retried.success and retried.info["worker_deaths"] == 1
    reference = run_evaluation(compose("suite.episodes=4", "run_id=reference"))
    ref = records(reference.run_dir)
    assert {k: r.metrics for k, r in recs.items()} == {k: r.metrics for k, r in ref.items()}


def only_policy(suite):
    from lawm_eval.bundle import ModelBundle

    return ModelBundle("policy_only", policy=object())


def test_a_setup_error_in_the_workers_is_one_clear_error(ray_local, compose):
    with pytest.raises(ModelError, match="needs encoder, controller, world_model but model 'policy_only'"):
        run_evaluation(compose("suite.episodes=2", "run_id=setup", "executor=ray",
                               "model=custom", "model.factory=test_ray:only_policy"))


# -- separate processes: killing the driver, Ctrl-C, and a two-node cluster ---------------------------
HEAVY = ["suite.episodes=10", "planner.num_samples=12000", "executor.progress=off"]
LIGHT = ["suite.episodes=10", "executor.progress=off"]


def lawm_eval(*args: str, temp: str, base: list[str] = HEAVY) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": TESTS, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "lawm_eval.cli", "run", *base, *args,
                             "executor=ray", f"executor.temp_dir={temp}"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def wait_until(condition, proc: subprocess.Popen, what: str, timeout: float = 180) -> None:
    """Poll ``condition`` until it holds; fail if the process exits or the time runs out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"waited for {what} in vain (exit code {proc.poll()})")


def wait_for_records(path: Path, n: int, proc: subprocess.Popen, timeout: float = 180) -> None:
    wait_until(lambda: lines(path) >= n, proc, f"{n} records in {path}", timeout)


@pytest.fixture
def ray_temp():
    from ray_helpers import kill_processes_mentioning

    temp = tempfile.mkdtemp(prefix="lr-", dir="/tmp")
    yield temp
    kill_processes_mentioning(temp)  # Ray daemons orphaned by a killed driver


def test_driver_killed_then_rerun_loses_and_repeats_nothing(tmp_path, ray_temp):
    from ray_helpers import kill_processes_mentioning

    runs = tmp_path / "runs"
    episodes = runs / "k" / EPISODES_FILE
    proc = lawm_eval("run_id=k", f"results_dir={runs}", temp=ray_temp)
    wait_for_records(episodes, 3, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kill_processes_mentioning(ray_temp)
    before = len(read_records(episodes)[0])
    assert 3 <= before < 10

    rerun = lawm_eval("run_id=k", f"results_dir={runs}", temp=ray_temp)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert f"{10 - before} episodes run, {before} already recorded" in out
    serial = subprocess.run([sys.executable, "-m", "lawm_eval.cli", "run", *HEAVY, "run_id=s",
                             f"results_dir={runs}"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert serial.returncode == 0, serial.stderr
    got, want = records(runs / "k"), records(runs / "s")
    assert len(got) == 10 and {k: r.comparable() for k, r in got.items()} == \
        {k: r.comparable() for k, r in want.items()}


def test_ctrl_c_stops_cleanly_and_the_run_resumes(tmp_path, ray_temp):
    """Every episode after the first two is held until the test opens a gate (ray_helpers.gated_model),
    so the run cannot finish before Ctrl-C: SIGINT goes in once episodes 0 and 1 are recorded and both
    workers hold an episode, whatever the machine's load."""
    runs, gate = tmp_path / "runs", tmp_path / "gate"
    episodes = runs / "c" / EPISODES_FILE
    args = ("run_id=c", f"results_dir={runs}", "model=custom", "model.factory=ray_helpers:gated_model",
            f"+model.gate={gate}")
    proc = lawm_eval(*args, temp=ray_temp, base=LIGHT)
    wait_until(lambda: lines(episodes) == 2 and len(list(tmp_path.glob("gate.held-*"))) == 2, proc,
               "2 records and 2 held episodes")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "rerun with run_id=c" in err
    recorded, tail = read_records(episodes)
    assert tail == b"" and sorted(r.episode_idx for r in recorded) == [0, 1]
    gate.touch()
    rerun = lawm_eval(*args, temp=ray_temp, base=LIGHT)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert "8 episodes run, 2 already recorded" in out
    assert len(records(runs / "c")) == 10


SIGINT_WHILE_RAY_STARTS = r"""
import json, os, signal, sys
import ray
from lawm_eval.config import compose_config
from lawm_eval.runner.run import run_evaluation

armed, fired = [], []
def after_fork_in_parent():  # Ctrl-C lands while ray.init forks Ray's daemons
    if armed:
        armed.clear()
        fired.append(True)
        signal.raise_signal(signal.SIGINT)
os.register_at_fork(after_in_parent=after_fork_in_parent)
real_init = ray.init
def init(*args, **kwargs):
    armed.append(True)
    return real_init(*args, **kwargs)
ray.init = init
config = compose_config(["suite.episodes=4", "run_id=startup", f"results_dir={sys.argv[1]}", "executor=ray",
                         f"executor.temp_dir={sys.argv[2]}", "executor.progress=off"])
result = {}
try:
    outcome = run_evaluation(config)
    result.update(interrupted=False, completed=outcome.report.completed)
except KeyboardInterrupt as exc:
    result.update(interrupted=True, message=str(exc))
result.update(fired=len(fired), handler_restored=signal.getsignal(signal.SIGINT) is signal.default_int_handler)
print(json.dumps(result))
"""


def test_ctrl_c_while_ray_starts_is_not_lost(tmp_path, ray_temp):
    """ray.init starts Ray's daemons with subprocess and a preexec_fn, so Python's fork hooks run in
    the driver, and a KeyboardInterrupt raised inside one is printed ("Exception ignored") and
    dropped: a Ctrl-C landing there used to be lost and the run went on to exit 0."""
    import json

    done = subprocess.run([sys.executable, "-c", SIGINT_WHILE_RAY_STARTS, str(tmp_path / "runs"), ray_temp],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["fired"] == 1, result  # the signal really went off inside ray.init's fork
    assert result["interrupted"] and "interrupted after 0 new episodes" in result["message"], result
    assert result["handler_restored"], result


MULTI_NODE = r"""
import json, sys
from ray.cluster_utils import Cluster
from lawm_eval.config import compose_config
from lawm_eval.runner.run import run_evaluation
from lawm_eval.runner.records import read_records
cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
cluster.add_node(num_cpus=1)
cluster.wait_for_nodes()
try:
    config = compose_config(["suite.episodes=6", "run_id=multi", f"results_dir={sys.argv[1]}", "executor=ray",
                             "executor.num_workers=2", f"executor.address={cluster.address}",
                             "planner.num_samples=4000", "executor.progress=off"])
    outcome = run_evaluation(config)
    recs, _ = read_records(outcome.run_dir / "episodes.jsonl")
    print(json.dumps({"nodes": len(cluster.list_all_nodes()), "workers": sorted({r.worker for r in recs}),
                      "episodes": len(recs), "errors": sum(r.error is not None for r in recs)}))
finally:
    import ray
    ray.shutdown()
    cluster.shutdown()
"""


def test_two_node_cluster_spreads_episodes_over_both_nodes(tmp_path):
    import json

    done = subprocess.run([sys.executable, "-c", MULTI_NODE, str(tmp_path)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["nodes"] == 2 and result["episodes"] == 6 and result["errors"] == 0
    nodes = {worker.split(":")[1] for worker in result["workers"]}  # 'ray:<node id>:<pid>'
    assert len(nodes) == 2, result
