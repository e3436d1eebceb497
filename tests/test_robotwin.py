"""The RoboTwin 2.0 suites against a fake runtime (tests/fake_robotwin) in a simulator environment
of its own: the message protocol, the child process, the expert-checked seeds, step caps, success,
errors and the blocker lines. The real runtime is tested in test_robotwin_runtime.py."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from robotwin_fake import PushPolicy, make_fake_assets, use_fake_runtime

from lawm_eval.envs import wire

TESTS = str(Path(__file__).resolve().parent)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """LAWM_EVAL_CACHE with the fake runtime as the 'robotwin' environment; a complete asset folder;
    a log of every setup_demo / play_once the fake runtime runs."""
    overrides = use_fake_runtime(tmp_path, monkeypatch)
    log = tmp_path / "runtime.jsonl"
    monkeypatch.setenv("FAKE_ROBOTWIN_LOG", str(log))

    class Fake:
        def __init__(self):
            self.cache, self.assets, self.log_path = tmp_path / "cache", tmp_path / "robotwin_assets", log
            self.overrides = overrides

        def log(self) -> list[dict]:
            return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return Fake()


def make_suite(fake, name: str = "robotwin_clean", **params):
    from lawm_eval.catalog import suite_manifest
    from lawm_eval.suites.robotwin import RoboTwinSuite

    defaults = {"tasks": ["beat_block_hammer"], "trials_per_task": 4, "planner_backend": "mplib", "assets": str(fake.assets),
                "step_limits": {"beat_block_hammer": 6, "click_bell": 9}}
    return RoboTwinSuite(suite_manifest(name), {**defaults, **params})


def fake_overrides(fake, *extra: str) -> list[str]:
    return ["suite=robotwin_clean", *fake.overrides, "suite.trials_per_task=3", "model=custom",
            "model.factory=robotwin_fake:pusher", *extra]


# -- the message protocol ------------------------------------------------------------------------
def test_messages_carry_nested_numpy_arrays_exactly():
    big_endian = np.arange(6, dtype=">f4").reshape(2, 3)
    body = {"image": np.arange(24, dtype=np.uint8).reshape(2, 4, 3), "state": np.linspace(0, 1, 14),
            "flags": np.array([True, False]), "strided": np.arange(10)[::3], "big_endian": big_endian,
            "scalar": np.float32(1.5), "nested": [{"x": np.int64(7)}, None, "text"], "empty": np.zeros((0, 4))}
    stream = io.BytesIO(wire.encode(body))
    back = wire.read_message(stream)
    for key in ("image", "state", "flags", "strided", "empty"):
        assert back[key].dtype == body[key].dtype and np.array_equal(back[key], body[key]), key
    assert np.array_equal(back["big_endian"], big_endian) and back["big_endian"].dtype == np.dtype("<f4")
    assert back["scalar"] == 1.5 and back["nested"] == [{"x": 7}, None, "text"]
    assert stream.read() == b""  # exactly one message consumed


def test_messages_never_carry_code_or_foreign_bytes():
    with pytest.raises(wire.WireError, match="dtype object"):
        wire.encode({"evil": np.array([print], dtype=object)})
    with pytest.raises(wire.WireError, match="cannot travel"):
        wire.encode({"function": print})
    with pytest.raises(wire.WireError, match="not a lawm-sim/1 message"):
        wire.read_message(io.BytesIO(b"\x80\x04\x95pickle......"))
    header = json.dumps({"protocol": wire.PROTOCOL, "body": {"__array__": 0}, "arrays": [["|O", [1], 8]]}).encode()
    forged = wire.MAGIC + len(header).to_bytes(4, "big") + header + b"\0" * 8
    with pytest.raises(wire.WireError, match="refusing an array of dtype"):
        wire.read_message(io.BytesIO(forged))
    other = json.dumps({"protocol": "lawm-sim/9", "body": 1, "arrays": []}).encode()
    with pytest.raises(wire.WireError, match="protocol mismatch"):
        wire.read_message(io.BytesIO(wire.MAGIC + len(other).to_bytes(4, "big") + other))
    with pytest.raises(wire.StreamClosed):
        wire.read_message(io.BytesIO(wire.encode({"a": np.zeros(100)})[:-10]))


# -- the child process ---------------------------------------------------------------------------
def test_the_simulator_runs_in_its_own_environment_and_its_errors_come_back_as_one_line(fake):
    from lawm_eval.envs.environments import get_environment
    from lawm_eval.envs.sim_client import SimProcess, SimulatorError

    env = get_environment("robotwin")
    with SimProcess("robotwin", env.require(), "lawm_eval.envs.robotwin_runtime:RoboTwinBackend",
                    env={"ROBOTWIN_ASSETS_ROOT": str(fake.assets)}) as sim:
        assert sim.hello["protocol"] == wire.PROTOCOL
        assert Path(sim.hello["executable"]).parent == env.path / "bin"  # not this interpreter
        with pytest.raises(SimulatorError) as caught:
            sim.call("check_seed", task="no_such_task", setting="demo_clean", seed=1, planner_backend="mplib")
        message = str(caught.value)
        assert message.startswith("'robotwin' environment, check_seed: ModuleNotFoundError") and "\n" not in message
        with pytest.raises(SimulatorError, match="has no method '_args'"):
            sim.call("_args")  # private methods are not callable from outside
        assert sim.call("task_info")["step_limits"] == {"beat_block_hammer": 400, "click_bell": 400}  # still serving
        assert sim.alive


def test_a_child_that_dies_mid_call_is_one_line_with_its_exit_code(fake, monkeypatch):
    from lawm_eval.envs.environments import get_environment
    from lawm_eval.envs.sim_client import SimProcess, SimulatorDied

    monkeypatch.setenv("FAKE_ROBOTWIN_CRASH_AT", "2")
    sim = SimProcess("robotwin", get_environment("robotwin").require(),
                     "lawm_eval.envs.robotwin_runtime:RoboTwinBackend", env={"ROBOTWIN_ASSETS_ROOT": str(fake.assets)})
    sim.call("reset", task="beat_block_hammer", setting="demo_clean", seed=100000, episode=0, planner_backend="mplib",
             instruction_type="seen", episode_info={}, step_limit=6)
    with pytest.raises(SimulatorDied, match=r"died during step \(exit code 3\)"):
        sim.call("step", actions=np.full((3, 14), 0.1))
    assert not sim.alive
    with pytest.raises(SimulatorDied, match="not running"):
        sim.call("task_info")
    sim.close()


# -- seeds -----------------------------------------------------------------------------------------
def test_seeds_are_the_first_expert_solvable_ones_from_100000_times_1_plus_seed(fake):
    suite = make_suite(fake)
    try:
        found = suite.trial_seeds("beat_block_hammer")
        # the fake: seeds = 1 (mod 5) are unstable, = 3 (mod 5) fail the expert plan
        assert found["seeds"] == [100000, 100002, 100004, 100005]
        assert set(found["skipped"]) == {"100001", "100003"}
        assert "UnStableError" in found["skipped"]["100001"] and found["skipped"]["100003"] == "expert plan failed"
        assert found["info"]["100002"] == {"{a}": "left"}  # the expert run's placeholders, for the instruction
        specs = suite.episodes()
        assert [s.seed for s in specs] == found["seeds"] and [s.episode_idx for s in specs] == [0, 1, 2, 3]
        assert all(s.params["task_seeds"] == found["seeds"] and s.params["step_limit"] == 6 for s in specs)
    finally:
        suite.close()
    checked = [e["seed"] for e in fake.log() if e["what"] == "setup_demo"]
    assert checked == list(range(100000, 100006))
    other = make_suite(fake, seed=2)
    try:
        assert other.trial_seeds("beat_block_hammer")["seeds"][0] == 300000
    finally:
        other.close()


def test_the_expert_pass_is_cached_and_resumed(fake):
    suite = make_suite(fake)
    suite.episodes()
    suite.close()
    before = len(fake.log())
    again = make_suite(fake, trials_per_task=2)
    assert [s.seed for s in again.episodes()] == [100000, 100002]
    assert len(fake.log()) == before  # nothing ran: the cache answered
    more = make_suite(fake, trials_per_task=6)
    assert [s.seed for s in more.episodes()] == [100000, 100002, 100004, 100005, 100007, 100009]
    new = [e["seed"] for e in fake.log()[before:] if e["what"] == "setup_demo"]
    assert new == [100006, 100007, 100008, 100009]  # continued where the cached pass stopped
    more.close()
    assert more.seed_cache("beat_block_hammer").parent.parent.name == "demo_clean"
    assert "0.0.0+fake" in str(more.seed_cache("beat_block_hammer"))  # keyed by the runtime version


def test_a_seed_cap_stops_the_expert_pass_with_one_line(fake):
    from lawm_eval.errors import ConfigError

    suite = make_suite(fake, trials_per_task=5, max_seed_attempts=5)
    with pytest.raises(ConfigError, match="only 3 of 5 seeds passed the expert check in 5 tries"):
        suite.episodes()
    suite.close()


# -- episodes ----------------------------------------------------------------------------------------
def run_one(suite, policy, spec):
    from lawm_eval.bundle import ModelBundle

    return suite.run_episode(spec, ModelBundle("pusher", policy=policy), None, frames=True)


def test_success_comes_from_the_task_and_the_rest_of_the_chunk_is_dropped(fake):
    suite = make_suite(fake)
    try:
        spec = suite.episodes()[0]
        outcome = run_one(suite, PushPolicy(push=0.25, chunk=3), spec)
        # 4 actions reach position 1.0: two chunks of 3 were asked for, the 6th action never ran
        assert outcome.success is True and outcome.steps == 4 and outcome.info["policy_queries"] == 2
        assert outcome.frames.shape == (2, 24, 32, 3)  # one head frame per query, as rendered
        assert outcome.info["instruction"] in {f"{verb} the block with the left arm"
                                               for verb in ("lift", "raise", "pick up", "hoist")}
    finally:
        suite.close()


def test_an_episode_stops_at_the_tasks_step_cap(fake):
    suite = make_suite(fake, tasks=["click_bell"], trials_per_task=1)
    try:
        spec = suite.episodes()[0]
        outcome = run_one(suite, PushPolicy(push=0.05, chunk=4), spec)
        assert outcome.success is False and outcome.steps == 9 and outcome.info["policy_queries"] == 3
        assert outcome.info["step_limit"] == 9
    finally:
        suite.close()


def test_the_policy_sees_three_cameras_adapted_to_its_inputs_the_state_and_the_instruction(fake):
    from lawm_eval.bundle import ModelBundle
    from lawm_eval.inputs import ModelInputs

    suite = make_suite(fake, trials_per_task=1)
    policy = PushPolicy(push=0.5, chunk=2)
    try:
        spec = suite.episodes()[0]
        bundle = ModelBundle("pusher", policy=policy, inputs=ModelInputs(image_size=(16, 16), resize="center_crop"))
        suite.run_episode(spec, bundle, None)
        first = policy.observations[0]
        assert set(first) == {"image", "left_wrist_image", "right_wrist_image", "state", "task"}
        assert first["image"].shape == (16, 16, 3) and first["image"].dtype == np.uint8
        assert first["state"].shape == (14,) and first["state"].dtype == np.float32
        assert isinstance(first["task"], str) and "arm" in first["task"]
    finally:
        suite.close()


def test_a_policy_with_another_action_size_is_refused_before_the_simulator_starts(fake):
    from lawm_eval.bundle import ModelBundle
    from lawm_eval.errors import ModelError
    from lawm_eval.types import EpisodeSpec

    suite = make_suite(fake)
    spec = EpisodeSpec("robotwin_clean", "v1", "beat_block_hammer", 0, 100000)
    with pytest.raises(ModelError, match=r"expected \(Hc, 14\)"):
        suite.probe_model(ModelBundle("seven", policy=PushPolicy(dim=7)), spec)
    assert getattr(suite, "_live_sim", None) is None and fake.log() == []


# -- runs ---------------------------------------------------------------------------------------------
def test_a_run_records_seeds_versions_and_contract_and_repeats_exactly(fake, compose):
    from lawm_eval.runner.run import run_evaluation

    first = run_evaluation(compose(*fake_overrides(fake, "run_id=a")))
    second = run_evaluation(compose(*fake_overrides(fake, "run_id=b")))
    a, b = first.results.records, second.results.records
    assert len(a) == 6 and [r.comparable() for r in a] == [r.comparable() for r in b]
    lift = [r for r in a if r.task == "beat_block_hammer"]
    assert [r.seed for r in lift] == [100000, 100002, 100004]
    record = lift[0]
    assert record.info["task_seeds"] == [100000, 100002, 100004] and record.success
    assert record.simulator_versions["rlinf-robotwin-runtime"] == "0.0.0+fake"
    assert record.contract["action"].startswith("14-D qpos") and record.contract["rendered_resolution"] == [240, 320]
    assert any("planner_backend='mplib' (reference 'curobo')" in d for d in record.deviations)
    assert "step_limits.beat_block_hammer=6 (reference 400)" in record.deviations
    assert any("plans with mplib instead of CuRobo" in d for d in record.deviations)


def test_a_simulator_that_dies_mid_episode_loses_nothing(fake, compose, monkeypatch, tmp_path):
    from lawm_eval.runner.run import run_evaluation

    monkeypatch.setenv("FAKE_ROBOTWIN_CRASH_AT", "5")
    monkeypatch.setenv("FAKE_ROBOTWIN_CRASH_FLAG", str(tmp_path / "crashed"))
    fixed = run_evaluation(compose(*fake_overrides(fake, "run_id=c")))
    assert (tmp_path / "crashed").exists()  # the simulator process really died
    assert len(fixed.results.records) == 6 and not any(r.error for r in fixed.results.records)
    retried = [r for r in fixed.results.records if r.info.get("transient_errors")]
    assert len(retried) == 1  # that episode ran again from its start in a fresh simulator process
    assert "'robotwin' simulator process died during step (exit code 3)" in retried[0].info["transient_errors"][0]
    clean = run_evaluation(compose(*fake_overrides(fake, "run_id=reference")))
    assert sorted(r.comparable()["metrics"]["episode_length"] for r in fixed.results.records) == \
        sorted(r.comparable()["metrics"]["episode_length"] for r in clean.results.records)


@pytest.mark.slow
@pytest.mark.extra("ray")
def test_ray_workers_never_run_the_same_seed(fake, compose, monkeypatch):
    from lawm_eval.runner.run import run_evaluation

    monkeypatch.setenv("PYTHONPATH", TESTS)
    run_evaluation(compose(*fake_overrides(fake, "run_id=serial")))  # the expert pass, cached for the Ray run
    start = len(fake.log())
    outcome = run_evaluation(compose(*fake_overrides(fake, "run_id=ray", "executor=ray", "executor.num_workers=2")))
    trials = [e for e in fake.log()[start:] if e["what"] == "setup_demo"]  # the expert pass ran in an earlier run
    assert sorted((e["task"], e["seed"]) for e in trials) == sorted((r.task, r.seed) for r in outcome.results.records)
    assert len({(e["task"], e["seed"]) for e in trials}) == len(trials) == 6  # each trial set up exactly once
    assert len({e["pid"] for e in trials}) == 2  # one simulator process per worker, both used
    assert len({r.worker for r in outcome.results.records}) == 2


# -- what blocks a run ---------------------------------------------------------------------------------
def test_validate_names_every_missing_piece_with_its_fix(fake, capsys, monkeypatch, tmp_path):
    from lawm_eval.cli import main

    args = ["validate", "suite=robotwin_clean", "model=custom", "model.factory=robotwin_fake:pusher"]
    monkeypatch.setenv("FAKE_SAPIEN_NO_RENDER", "1")
    assert main([*args, f"suite.assets={tmp_path / 'nowhere'}"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("lawm-eval: error: ") for line in lines)
    assert "RoboTwin assets not found" in lines[0] and "lawm-eval assets fetch robotwin --from DIR" in lines[0]
    assert "cannot render here (RuntimeError: failed to find a rendering device)" in lines[1]
    assert "needs CUDA and CuRobo (torch sees no CUDA device; curobo is not installed)" in lines[2] and "suite.planner_backend=mplib" in lines[2]

    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path / "empty_cache"))
    assert main([*args, f"suite.assets={tmp_path / 'nowhere'}"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and "run 'lawm-eval env setup robotwin'" in lines[0] and "assets not found" in lines[1]

    monkeypatch.setenv("LAWM_EVAL_CACHE", str(fake.cache))
    monkeypatch.delenv("FAKE_SAPIEN_NO_RENDER")
    assert main([*args, f"suite.assets={fake.assets}", "suite.planner_backend=mplib",
                 "suite.tasks=[beat_block_hammer]", "suite.trials_per_task=2", "suite.step_limits.beat_block_hammer=6"]) == 0
    out = capsys.readouterr().out
    assert "ok: suite robotwin_clean v1 (episodes not enumerated yet)" in out
    assert "note: the expert-check pass (the first 2 seeds the scripted expert solves) has not run for 1 task(s)" in out
    assert fake.log() == []  # validate ran no expert: it writes nothing
    first = make_suite(fake, trials_per_task=2)
    first.episodes()  # what run does first
    first.close()
    assert main([*args, f"suite.assets={fake.assets}", "suite.planner_backend=mplib",
                 "suite.tasks=[beat_block_hammer]", "suite.trials_per_task=2", "suite.step_limits.beat_block_hammer=6"]) == 0
    assert "ok: suite robotwin_clean v1 (2 episodes)" in capsys.readouterr().out


def test_unknown_task_names_and_settings_are_one_line(fake):
    from lawm_eval.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown RoboTwin task 'beat_block_hamer'; did you mean 'beat_block_hammer'"):
        make_suite(fake, tasks=["beat_block_hamer"])
    with pytest.raises(ConfigError, match="suite.setting must be one of demo_clean, demo_randomized"):
        make_suite(fake, setting="demo_dirty")


# -- environments and assets ---------------------------------------------------------------------------
def test_env_status_and_a_stale_environment(fake, capsys):
    from lawm_eval.cli import main
    from lawm_eval.envs.environments import EnvironmentMissing, get_environment

    assert main(["env", "status"]) == 0
    assert "robotwin   ready    " in capsys.readouterr().out
    marker = fake.cache / "envs" / "robotwin" / "lawm-env.json"
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "requirements": ["rlinf-robotwin-runtime==0.0.1"]}))
    with pytest.raises(EnvironmentMissing, match="was built from other requirements .*lawm-eval env setup robotwin"):
        get_environment("robotwin").require()
    assert main(["env", "status"]) == 0 and "robotwin   stale" in capsys.readouterr().out
    assert main(["env", "setup", "robotwn"]) == 2
    assert "did you mean 'robotwin'" in capsys.readouterr().err


def test_assets_fetch_robotwin_checks_the_folder_and_links_it(fake, capsys, tmp_path):
    from lawm_eval import assets
    from lawm_eval.cli import main

    assert main(["assets", "fetch", "robotwin"]) == 2
    assert "TianxingChen/RoboTwin2.0" in capsys.readouterr().err
    partial = tmp_path / "partial"
    (partial / "assets" / "objects").mkdir(parents=True)
    assert main(["assets", "fetch", "robotwin", "--from", str(partial)]) == 2
    err = capsys.readouterr().err
    assert "is not a complete RoboTwin 2.0 assets" in err and "assets/background_texture" in err
    wrong = make_fake_assets(tmp_path / "wrong", revision="0" * 40)
    assert main(["assets", "fetch", "robotwin", "--from", str(wrong)]) == 2
    assert "but the runtime expects c15cc97" in capsys.readouterr().err
    good = make_fake_assets(tmp_path / "good", revision=assets.ROBOTWIN_ASSETS.revision)
    assert main(["assets", "fetch", "robotwin", "--from", str(good)]) == 0
    assert assets.require("robotwin_assets").resolve() == good.resolve()
    meta = json.loads(assets.ROBOTWIN_ASSETS.meta_path.read_text())
    assert meta["files"] == 3 and len(meta["tree_sha256"]) == 64  # config.yml, the mesh, the downloader manifest
    suite = make_suite(fake, assets=None)
    assert suite.assets_root() == assets.ROBOTWIN_ASSETS.path
    assert suite.simulator_versions()["robotwin_assets"] == meta["tree_sha256"]


# -- policy-server formats ----------------------------------------------------------------------------
def served_observation() -> dict:
    rng = np.random.default_rng(0)
    images = {c: rng.integers(0, 255, (240, 320, 3), dtype=np.uint8) for c in ("head_camera", "left_camera",
                                                                             "right_camera")}
    state = np.arange(14, dtype=np.float64) / 10  # [L6, Lg, R6, Rg]
    return {"images": images, "state": state, "endpose": {"left_endpose": np.arange(7.0), "right_endpose": -np.arange(7.0)}}


def test_openpi_gets_chw_images_as_rendered_the_14d_state_and_the_prompt():
    from lawm_eval.envs.robotwin_io import openpi_request

    raw = served_observation()
    request = openpi_request(raw, "beat the block with the hammer")
    assert set(request["images"]) == {"cam_high", "cam_left_wrist", "cam_right_wrist"}
    assert request["images"]["cam_high"].shape == (3, 240, 320) and request["images"]["cam_high"].dtype == np.uint8
    assert np.array_equal(request["images"]["cam_left_wrist"].transpose(1, 2, 0), raw["images"]["left_camera"])
    assert np.array_equal(request["images"]["cam_right_wrist"].transpose(1, 2, 0), raw["images"]["right_camera"])
    assert np.array_equal(request["state"], raw["state"]) and request["prompt"] == "beat the block with the hammer"
    assert wire.read_message(io.BytesIO(wire.encode(request)))["prompt"] == request["prompt"]  # plain data


def test_xpolicylab_gets_its_keys_and_its_answers_become_joint_rows():
    from lawm_eval.envs.robotwin_io import action_rows, xpolicylab_observation
    from lawm_eval.errors import ModelError

    raw = served_observation()
    obs = xpolicylab_observation(raw, "lift the pot")
    assert obs["data_format_version"] == "v1.0" and obs["instructions"] == ["lift the pot"]
    assert obs["vision"]["cam_head"]["shape"] == [240, 320]
    assert np.array_equal(obs["vision"]["cam_right_wrist"]["color"], raw["images"]["right_camera"])
    state = obs["state"]
    assert np.allclose(state["left_arm_joint_state"], raw["state"][:6]) and np.allclose(state["left_ee_joint_state"], [0.6])
    assert np.allclose(state["right_arm_joint_state"], raw["state"][7:13])
    assert np.allclose(state["right_ee_joint_state"], [1.3])
    assert np.array_equal(state["right_ee_pose"], -np.arange(7.0)) and obs["additional_info"] == {"frequency": 30}

    flat = np.tile(raw["state"], (50, 1))
    assert np.array_equal(action_rows({"actions": flat}), flat)  # openpi's (50, 14)
    assert action_rows(raw["state"]).shape == (1, 14)  # one flat action
    as_dicts = [{k: v for k, v in state.items() if "joint" in k}] * 3
    assert np.allclose(action_rows({"actions": as_dicts}), np.tile(raw["state"], (3, 1)))
    partial = [{"left_arm_joint_state": np.zeros(6)}]  # missing keys keep the current state
    row = action_rows(partial, current_state=raw["state"])[0]
    assert np.allclose(row[:6], 0) and np.allclose(row[6:], raw["state"][6:])
    with pytest.raises(ModelError, match="lacks 'left_ee_joint_state'"):
        action_rows(partial)
    with pytest.raises(ModelError, match=r"expected \(n, 14\)"):
        action_rows({"actions": np.zeros((5, 7))})


# -- review: the edges of the boundary and of the expert pass ---------------------------------------------
def test_the_trials_use_eval_mode_is_test_and_the_chosen_planner_and_nothing_runs_after_the_end(fake):
    suite = make_suite(fake, trials_per_task=1)
    try:
        spec = suite.episodes()[0]
        run_one(suite, PushPolicy(push=0.5, chunk=5), spec)  # success after 2 of 5 actions (the fake prints each)
    finally:
        suite.close()
    setups = [e for e in fake.log() if e["what"] == "setup_demo"]
    assert all(e["is_test"] and e["eval_mode"] and e["planner_backend"] == "mplib" for e in setups)
    assert [e["seed"] for e in setups] == [100000, 100000]  # the expert check, then the trial, on one seed
    assert not [e for e in fake.log() if e["what"] == "late_take_action"]  # the rest of the chunk was not sent


def test_unseen_instructions_come_from_the_unseen_templates(fake):
    suite = make_suite(fake, trials_per_task=1, instruction_type="unseen")
    try:
        outcome = run_one(suite, PushPolicy(push=0.5), suite.episodes()[0])
    finally:
        suite.close()
    assert "cube" in outcome.info["instruction"] and "hand" in outcome.info["instruction"]


def test_an_environment_that_fails_every_seed_stops_the_pass_and_caches_nothing(fake, monkeypatch):
    from lawm_eval.errors import ConfigError

    monkeypatch.setenv("FAKE_ROBOTWIN_BROKEN", "vk device lost")
    suite = make_suite(fake)
    with pytest.raises(ConfigError, match=r"raised the same error on 5 seeds in a row \(RuntimeError: vk device lost\)"):
        suite.episodes()
    suite.close()
    assert not suite.seed_cache("beat_block_hammer").exists()
    assert suite.pending_generation() is not None


def test_a_corrupt_seed_cache_is_one_line_naming_it(fake):
    from lawm_eval.errors import DataError

    suite = make_suite(fake)
    path = suite.seed_cache("beat_block_hammer")
    path.parent.mkdir(parents=True)
    path.write_text('{"accepted": [1')
    with pytest.raises(DataError, match="unreadable expert-pass cache .*delete it"):
        suite.episodes()
    assert "0.0.0+fake" in str(path) and path.name == "beat_block_hammer_from100000.v1.json"


def test_a_hung_simulator_is_killed_after_its_timeout(fake, monkeypatch):
    from lawm_eval.envs.environments import get_environment
    from lawm_eval.envs.sim_client import SimProcess, SimulatorDied

    monkeypatch.setenv("FAKE_ROBOTWIN_SLEEP", "30")
    sim = SimProcess("robotwin", get_environment("robotwin").require(),
                     "lawm_eval.envs.robotwin_runtime:RoboTwinBackend", env={"ROBOTWIN_ASSETS_ROOT": str(fake.assets)},
                     timeout_s=1.0)
    sim.call("reset", task="beat_block_hammer", setting="demo_clean", seed=100000, episode=0, planner_backend="mplib",
             instruction_type="seen", episode_info={}, step_limit=6)
    with pytest.raises(SimulatorDied, match=r"gave no answer in 1 s and was killed during step"):
        sim.call("step", actions=np.full((2, 14), 0.1))
    assert not sim.alive and sim.log_path.exists()  # the log of a process that did not end well is kept
    sim.close()


def test_fetching_the_folder_already_in_the_cache_keeps_it(fake, capsys):
    from lawm_eval import assets
    from lawm_eval.cli import main

    in_place = make_fake_assets(assets.ROBOTWIN_ASSETS.path)  # e.g. the runtime's downloader wrote it there
    assert main(["assets", "fetch", "robotwin", "--from", str(in_place)]) == 0
    assert (in_place / "assets" / "objects" / "020_hammer" / "base0.glb").is_file() and not in_place.is_symlink()
    assert assets.require("robotwin_assets") == in_place
    other = make_fake_assets(fake.cache.parent / "elsewhere")
    assert main(["assets", "fetch", "robotwin", "--from", str(other)]) == 2
    assert "exists and is not a link: move it away" in capsys.readouterr().err
    assert (in_place / "assets" / "objects").is_dir()


def test_malformed_layouts_are_wire_errors():
    for arrays in ([["<f8", "x", 8]], [["<f8", [1]]], [["not a dtype", [1], 8]], [["<f8", [2], 8]]):
        header = json.dumps({"protocol": wire.PROTOCOL, "body": None, "arrays": arrays}).encode()
        with pytest.raises(wire.WireError):
            wire.read_message(io.BytesIO(wire.MAGIC + len(header).to_bytes(4, "big") + header + b"\0" * 16))
