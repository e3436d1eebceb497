"""LIBERO in its own environment (`lawm-eval env setup libero`), driven from a child process: the same
episodes as in process, also from a lawm-eval environment where robosuite cannot be imported."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli

pytestmark = [pytest.mark.sim, pytest.mark.slow, pytest.mark.simenv("libero"), pytest.mark.extra("libero")]
COMMON = ("suite=libero_spatial", "suite.tasks=[0]", "suite.trials_per_task=2", "suite.max_steps=16",
          "model=custom", "model.factory=served_policies:chunky")
HIDE_LIBERO = '''
import importlib.abc, sys
class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"libero", "robosuite", "mujoco", "bddl"}:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden for the test)")
        return None
sys.meta_path.insert(0, _Hide())
'''


def comparable(run_dir: Path) -> list[dict]:
    records = [json.loads(line) for line in (run_dir / "episodes.jsonl").read_text().splitlines()]
    return [{k: r[k] for k in ("task", "episode_idx", "seed", "success", "steps", "metrics", "error")} for r in records]


def test_a_libero_run_in_its_own_environment_gives_the_in_process_records(compose, tmp_path):
    from lawm_eval.runner.run import run_evaluation

    local = run_evaluation(compose(*COMMON, "suite.simulator=inprocess", f"+model.log={tmp_path / 'a.log'}",
                                   "run_id=local"))
    remote = run_evaluation(compose(*COMMON, "suite.simulator=process", f"+model.log={tmp_path / 'b.log'}",
                                    "run_id=remote"))
    a, b = local.results.records, remote.results.records
    assert len(a) == 2 and [r.comparable() for r in a] == [r.comparable() for r in b]
    assert (tmp_path / "a.log").read_text() == (tmp_path / "b.log").read_text()  # the policy saw the same frames
    assert b[0].simulator_versions == a[0].simulator_versions  # the same pinned simulator in both
    assert not any("simulator=" in d for d in b[0].deviations)  # where it runs is not part of the protocol


def test_without_robosuite_here_the_run_uses_the_libero_environment(tmp_path):
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(HIDE_LIBERO)
    tests = str(Path(__file__).resolve().parent)
    env = {"PYTHONPATH": f"{hide}:{tests}"}
    check = run_cli("ls", "suites", env=env)  # the CLI starts with the modules hidden
    assert check.returncode == 0
    done = run_cli("run", *COMMON, f"results_dir={tmp_path / 'runs'}", "run_id=hidden", env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = run_cli("validate", "suite=libero_spatial", "model=oracle", "suite.tasks=[0]", env=env)
    assert probe.returncode == 2 and "reads the simulator itself (obs['sim'])" in probe.stderr
    reference = run_cli("run", *COMMON, "suite.simulator=inprocess", f"results_dir={tmp_path / 'runs'}",
                        "run_id=reference", env={"PYTHONPATH": tests}, timeout=600)
    assert reference.returncode == 0, reference.stderr[-3000:]
    assert comparable(tmp_path / "runs" / "hidden") == comparable(tmp_path / "runs" / "reference")


def test_the_hidden_modules_really_are_hidden(tmp_path):
    import subprocess

    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(HIDE_LIBERO)
    done = subprocess.run([sys.executable, "-c", "import robosuite"], env={"PYTHONPATH": str(hide)},
                          capture_output=True, text=True)
    assert done.returncode != 0 and "hidden for the test" in done.stderr


SHARED = ("suite=libero_spatial", "suite.tasks=[0]", "suite.trials_per_task=4", "suite.max_steps=24",
          "suite.simulator=process", "model=custom", "model.factory=served_policies:batchable")


def comparable_records(outcome) -> dict:
    """Each record's comparable fields, without the note of a retried attempt (``transient_errors``)."""
    out = {}
    for record in outcome.results.records:
        fields = record.comparable()
        fields["info"] = {k: v for k, v in fields["info"].items() if k != "transient_errors"}
        out[record.key] = fields
    return out


@pytest.fixture(scope="module")
def serial_shared(tmp_path_factory):
    """The serial run the shared-policy runs are compared with."""
    from lawm_eval.config import compose_config
    from lawm_eval.runner.run import run_evaluation

    results = tmp_path_factory.mktemp("serial")
    return run_evaluation(compose_config([*SHARED, f"results_dir={results}", "run_id=serial"]))


def test_two_environments_sharing_one_policy_give_the_serial_records(compose, serial_shared):
    from lawm_eval.runner.run import run_evaluation

    serial = serial_shared
    # a wait longer than one chunk's 8 steps keeps the two environments in step even on a loaded machine
    shared = run_evaluation(compose(*SHARED, "executor.envs_per_worker=2", "executor.max_wait_ms=5000", "run_id=shared"))
    assert len(serial.results.records) == 4 and comparable_records(shared) == comparable_records(serial)
    assert len({r.worker for r in shared.results.records}) == 2  # both environments ran episodes
    stats = shared.report.batching
    assert stats["requests"] == 4 * 3 and stats["largest"] == 2 and stats["calls"] < 12  # some calls answered two


@pytest.mark.extra("ray")
def test_ray_workers_share_one_model_server_that_survives_dying(compose, tmp_path, monkeypatch, serial_shared):
    from lawm_eval.runner.run import run_evaluation

    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent))  # Ray workers import served_policies
    marker = tmp_path / "server-died"
    serial = serial_shared
    served = run_evaluation(compose(*SHARED, "executor=ray", "executor.model_server=true", "+model.num_gpus=0",
                                    f"+model.die_marker={marker}", "+model.die_after=3", "run_id=ray"))
    assert marker.exists()  # the server really died mid-run, was restarted, and its episodes ran again
    records = served.results.records
    assert comparable_records(served) == comparable_records(serial) and not any(r.error for r in records)
    assert any("model server died" in " ".join(r.info.get("transient_errors", [])) for r in records)


def test_a_simulator_process_that_dies_mid_episode_reruns_the_episode(compose, tmp_path):
    from lawm_eval.runner.run import run_evaluation

    marker = tmp_path / "killed"
    common = ("suite=libero_spatial", "suite.tasks=[0]", "suite.trials_per_task=2", "suite.max_steps=24",
              "suite.simulator=process", "model=custom")
    killed = run_evaluation(compose(*common, "model.factory=served_policies:simulator_killer",
                                    f"+model.marker={marker}", "+model.kill_after=2", "run_id=killed"))
    reference = run_evaluation(compose(*common, "model.factory=served_policies:chunky", "run_id=reference"))
    assert marker.exists() and marker.read_text() != "[]"  # the LIBERO child really was killed
    records = killed.results.records
    assert not any(r.error for r in records) and "simulator process died" in records[0].info["transient_errors"][0]
    assert [(r.success, r.steps, r.metrics) for r in records] == \
        [(r.success, r.steps, r.metrics) for r in reference.results.records]


IMAGINED = ("suite=libero_imagined", "suite.tasks=[0]", "suite.trials_per_task=2", "suite.max_steps=24",
            "suite.simulator=process", "suite.world_model=lawm_libero", "model=custom",
            "model.factory=served_policies:batchable", "suite.start_cache=false")  # each start in its simulator


def test_imagined_episodes_side_by_side_share_one_world_model(compose):
    """Two imagined episodes side by side: one batcher answers both policies, another both episodes'
    world-model transitions (``ImaginationService``); the records are the serial run's."""
    from lawm_eval.runner.run import run_evaluation

    serial = run_evaluation(compose(*IMAGINED, "run_id=imagined-serial"))
    shared = run_evaluation(compose(*IMAGINED, "executor.envs_per_worker=2", "executor.max_wait_ms=5000",
                                    "run_id=imagined-shared"))
    a, b = comparable_records(serial), comparable_records(shared)
    assert len(a) == 2 and not any(r.error for r in shared.results.records)
    for key in a:  # a batch of two may round the judge's probabilities differently in the last bits
        for score in ("judge_peak", "judge_final"):
            assert b[key]["info"].pop(score) == pytest.approx(a[key]["info"].pop(score), rel=1e-4, abs=1e-7)
    assert a == b
    world = shared.report.service_batching
    assert world["largest"] == 2 and world["requests"] == 2 * 3 and world["calls"] < 6  # 24 actions: 3 transitions


def test_an_imagined_episode_starts_from_the_kept_real_start(monkeypatch, tmp_path):
    """A trial's real start (first agentview frame, robot state) is kept once the simulator gave it:
    the same bytes as a start without the cache, taken by the next suite without a LIBERO environment; a
    damaged or cut file is started again and rewritten."""
    from lawm_eval.catalog import registries
    from lawm_eval.suites import libero_imagined

    monkeypatch.setattr(libero_imagined, "cache_dir", lambda: tmp_path)
    manifest = registries()["suite"].get("libero_imagined")
    params = {"simulator": "process", "tasks": [0], "trials_per_task": 1}
    suites = []

    def start(**changed):
        suites.append(libero_imagined.ImaginedLiberoSuite(manifest, {**params, **changed}))
        return suites[-1].real_start(suites[-1].episodes()[0])

    try:
        frame, state = start(start_cache=False)
        assert not list(tmp_path.iterdir()) and frame.shape == (256, 256, 3) and state.shape == (8,)
        for kept_frame, kept_state in (start(), start()):
            np.testing.assert_array_equal(kept_frame, frame)
            np.testing.assert_array_equal(kept_state, state)
        assert suites[1]._live_env_key is not None and getattr(suites[2], "_live_env_key", None) is None  # no LIBERO env
        (path,) = (tmp_path / "libero_starts").iterdir()
        whole = path.read_bytes()
        for damaged, suite in ((b"not an npz", 3), (whole[: len(whole) // 2], 4)):  # foreign bytes; a cut file
            path.write_bytes(damaged)
            np.testing.assert_array_equal(start()[0], frame)
            assert suites[suite]._live_env_key is not None  # started in the simulator, and kept again:
            np.testing.assert_array_equal(np.load(path)["frame"], frame)
    finally:
        for suite in suites:
            suite.close()
