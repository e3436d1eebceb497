"""LIBERO suites: manifest constants pinned to the reference scripts; the episode loop's conventions
(wait, chunks, gripper, episode length, images, what reaches the policy) on a stand-in environment;
and (marked `sim`) the real simulator: a real episode, and the physics unchanged by the env seed, the
global ``np.random`` seed and rendering once the stored initial state is set."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from lawm_eval.paths import data_dir

REFERENCE = {  # openvla-oft run_libero_eval.py:63-69 / openpi examples/libero/main.py:60-71
    "libero_spatial": 220, "libero_object": 280, "libero_goal": 300, "libero_10": 520, "libero_90": 400,
}
V2_CONVENTIONS = {"chunk_keep": "first", "short_chunks": "refuse", "gripper": "env", "count_success_step": True,
                  "object_poses": "privileged"}


def manifest_params(suite: str, version: str) -> dict:
    return yaml.safe_load((data_dir("manifests") / suite / f"{version}.yaml").read_text())


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("suite, max_steps", sorted(REFERENCE.items()))
def test_manifest_constants_match_the_reference_scripts(suite, max_steps, version):
    manifest = manifest_params(suite, version)
    params = manifest["params"]
    assert manifest["version"] == version
    assert params["benchmark"] == suite
    assert params["max_steps"] == max_steps
    assert params["trials_per_task"] == 50
    assert params["wait_steps"] == 10
    assert params["env_seed"] == 7
    assert params["image_size"] == 256
    assert params["execute_steps"] == 8
    assert params["tasks"] is None
    assert set(manifest["sources"]) >= {"trials_per_task", "max_steps", "wait_steps", "env_seed", "execute_steps"}
    if version == "v2":
        assert {k: params[k] for k in V2_CONVENTIONS} == V2_CONVENTIONS
        assert set(manifest["sources"]) >= set(V2_CONVENTIONS)
        assert "env.seed(7)" in manifest["sources"]["env_seed"] and "env.seed(0)" in manifest["sources"]["env_seed"]
    else:
        assert not set(V2_CONVENTIONS) & set(params)  # v1 stays as it was published


def test_v2_is_the_default_and_v1_still_loads():
    from lawm_eval.catalog import suite_manifest
    from lawm_eval.suites.libero import LiberoSuite

    assert suite_manifest("libero_spatial").version == "v2"
    v1 = LiberoSuite(suite_manifest("libero_spatial", "v1"))
    assert v1.version == "v1" and v1.short_chunks == "run" and not v1.counts_success_step


def test_libero_config_is_never_seen_half_written(tmp_path):
    """Processes starting side by side rewrite LIBERO's config.yaml while others read it (a race once
    gave LIBERO an empty config): a reader sees the old file or the new one, never a partial one."""
    import threading

    from lawm_eval.envs.libero_env import write_config

    configs = [{"assets": f"/{'x' * 4000}/{i}", "bddl_files": str(i)} for i in range(2)]
    write_config(tmp_path, configs[0])
    seen, stop = [], threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(yaml.safe_load((tmp_path / "config.yaml").read_text()))

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(300):
        write_config(tmp_path, configs[i % 2])
    stop.set()
    reader.join()
    assert seen and all(config in configs for config in seen)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]  # no temporary file left


def test_axis_angle_matches_the_reference_conversion():
    from scipy.spatial.transform import Rotation

    from lawm_eval.envs.libero_env import quat_to_axis_angle

    for rotvec in ([0.3, -0.2, 0.9], [0.0, 0.0, 0.0], [2.0, 1.0, -0.5]):
        quat = Rotation.from_rotvec(rotvec).as_quat()  # (x, y, z, w) like robosuite
        assert np.allclose(quat_to_axis_angle(quat), rotvec if np.linalg.norm(rotvec) < np.pi else
                           Rotation.from_quat(quat).as_rotvec(), atol=1e-6)


# -- the episode loop on a stand-in environment (no simulator) --------------------------------------

ROBOT = {"robot0_eef_pos": np.array([-0.2, 0.0, 1.17]), "robot0_eef_quat": np.array([0.0, 0.0, 0.0, 1.0]),
         "robot0_gripper_qpos": np.array([0.04, -0.04])}


class FakeEnv:
    """Records every stepped action; ``done`` on policy action number ``succeed_at`` (1-based, after the wait)."""

    def __init__(self, succeed_at: int | None = None, wait: int = 10):
        self.succeed_at, self.wait, self.actions = succeed_at, wait, []
        self.raw = {**ROBOT, "plate_1_pos": np.zeros(3)}

    def reset(self):
        self.actions = []

    def set_init_state(self, state):
        return self.raw

    def step(self, action):
        self.actions.append(np.asarray(action, dtype=float))
        done = self.succeed_at is not None and len(self.actions) - self.wait == self.succeed_at
        return self.raw, 0.0, done, {}


class Bench:
    def get_task_init_states(self, index):
        return [None] * 50


class ChunkPolicy:
    """Returns ``chunk`` (Hc, 7) at every call; row i of a fresh chunk has x-velocity i."""

    needs_images = False

    def __init__(self, length: int = 8, gripper: float = -1.0, closed_loop: bool = False):
        self.chunk = np.zeros((length, 7))
        self.chunk[:, 0], self.chunk[:, 6] = np.arange(length), gripper
        self.closed_loop, self.calls = closed_loop, 0

    def reset(self, seed):
        self.calls = 0

    def act(self, obs):
        self.calls += 1
        return self.chunk


def libero_suite(version: str = "v2", **params):
    from lawm_eval.catalog import suite_manifest
    from lawm_eval.suites.libero import LiberoSuite

    return LiberoSuite(suite_manifest("libero_spatial", version), params)


def run_fake(suite, policy, env, **inputs):
    from lawm_eval.bundle import ModelBundle
    from lawm_eval.inputs import ModelInputs

    suite.env_for = lambda index, cameras: env
    suite.benchmark = lambda: (Bench(), [])
    spec = suite.spec("task", 0, 7, task_index=0, params={"init_state": 0, "language": "put the bowl on the plate"})
    model = ModelBundle("m", policy=policy, inputs=ModelInputs(**inputs))
    return suite.run_episode(spec, model, None)


def policy_actions(env) -> np.ndarray:
    """(N, 7) actions stepped after the wait."""
    return np.stack(env.actions[env.wait:])


def test_the_wait_steps_the_dummy_action_and_max_steps_counts_policy_actions():
    env = FakeEnv()
    outcome = run_fake(libero_suite(max_steps=20), ChunkPolicy(), env)
    assert len(env.actions) == 10 + 20 and outcome.steps == 20 and not outcome.success
    assert all(list(a) == [0, 0, 0, 0, 0, 0, -1] for a in env.actions[:10])


@pytest.mark.parametrize("version, expected", [("v2", 5), ("v1", 4)])
def test_the_episode_length_counts_the_successful_action_from_v2(version, expected):
    # LeRobot lerobot_eval.py increments `step` after the successful env.step; v1 (like the references' t) did not
    outcome = run_fake(libero_suite(version), ChunkPolicy(), FakeEnv(succeed_at=5))
    assert outcome.success and outcome.steps == expected and outcome.metrics["episode_length"] == expected


@pytest.mark.parametrize("keep, first_rows", [("first", [0, 1, 2, 3, 4, 5, 6, 7]), ("last", [4, 5, 6, 7, 8, 9, 10, 11])])
def test_chunk_keep_runs_the_first_or_the_last_execute_steps_actions(keep, first_rows):
    # openpi: chunk[:replan_steps]; openvla-oft: deque(maxlen=8).extend(chunk) keeps the last 8
    env, policy = FakeEnv(), ChunkPolicy(length=12)
    run_fake(libero_suite(chunk_keep=keep, max_steps=16), policy, env)
    assert list(policy_actions(env)[:, 0]) == first_rows * 2 and policy.calls == 2


def test_a_chunk_shorter_than_execute_steps_is_refused_unless_asked():
    from lawm_eval.errors import ModelError

    with pytest.raises(ModelError, match=r"returned 5 action\(s\) but suite.execute_steps=8"):
        run_fake(libero_suite(), ChunkPolicy(length=5), FakeEnv())
    env, policy = FakeEnv(), ChunkPolicy(length=5)
    run_fake(libero_suite(short_chunks="run", max_steps=10), policy, env)  # the whole chunk, then ask again
    assert list(policy_actions(env)[:, 0]) == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4] and policy.calls == 2
    env, policy = FakeEnv(), ChunkPolicy(length=1, closed_loop=True)
    run_fake(libero_suite(max_steps=10), policy, env)  # a closed-loop policy is asked before every action
    assert policy.calls == 10


def test_the_probe_refuses_a_short_chunk_before_the_first_episode():
    from lawm_eval.bundle import ModelBundle
    from lawm_eval.errors import ModelError

    suite = libero_suite()
    spec = suite.spec("task", 0, 7, task_index=0, params={"init_state": 0, "language": "x"})
    with pytest.raises(ModelError, match="suite.short_chunks=run"):
        suite.probe_model(ModelBundle("m", policy=ChunkPolicy(length=3)), spec)
    suite.probe_model(ModelBundle("m", policy=ChunkPolicy(length=8)), spec)  # accepted


@pytest.mark.parametrize("convention, returned, stepped", [
    ("env", 0.3, 0.3),  # openpi steps the output as is (main.py:150-153)
    ("openvla_oft", 0.9, -1.0), ("openvla_oft", 0.2, 1.0),  # 2x-1, sign, inverted (run_libero_eval.py:265-275)
    ("zero_one", 0.9, 1.0), ("zero_one", 0.2, -1.0),  # 2x-1, sign (robot_utils.py:149-177)
])
def test_the_gripper_convention_becomes_the_envs_minus_one_open(convention, returned, stepped):
    env = FakeEnv()
    run_fake(libero_suite(max_steps=8), ChunkPolicy(gripper=returned), env, gripper=convention)  # declared
    assert np.allclose(policy_actions(env)[:, 6], stepped)
    env = FakeEnv()
    run_fake(libero_suite(max_steps=8, gripper=convention), ChunkPolicy(gripper=returned), env)  # suite key
    assert np.allclose(policy_actions(env)[:, 6], stepped)
    assert np.allclose(policy_actions(env)[:, :6], ChunkPolicy().chunk[:, :6])  # the rest is untouched


def test_bad_conventions_are_one_line_errors():
    from lawm_eval.bundle import ModelBundle
    from lawm_eval.errors import ConfigError, ModelError
    from lawm_eval.inputs import ModelInputs

    with pytest.raises(ConfigError, match="suite.gripper must be one of env, openvla_oft, zero_one"):
        libero_suite(gripper="openvla")
    with pytest.raises(ConfigError, match="suite.chunk_keep must be one of first, last"):
        libero_suite(chunk_keep="middle")
    policy = ChunkPolicy()
    for suite, inputs, message in [
        (libero_suite(), {"gripper": "rlds"}, "declares inputs.gripper='rlds'; LIBERO knows env, openvla_oft"),
        (libero_suite(gripper="zero_one"), {"gripper": "openvla_oft"}, "but suite.gripper='zero_one'"),
        (libero_suite(), {"state_dim": 9}, "takes 9-D states but suite 'libero_spatial' gives 8-D"),
        (libero_suite(), {"action_dim": 6}, "takes 6-D actions"),
        (libero_suite(), {"camera": "frontview"}, "reads camera 'frontview'"),
    ]:
        with pytest.raises(ModelError, match=message):
            suite.check_inputs(ModelBundle("m", policy=policy, inputs=ModelInputs(**inputs)))
    libero_suite().check_inputs(ModelBundle("m", policy=policy, inputs=ModelInputs(gripper="openvla_oft")))


# -- what reaches the policy ---------------------------------------------------------------------

class Camera(ChunkPolicy):
    needs_images = True


def camera_raw(size: int = 256) -> dict:
    rng = np.random.default_rng(0)
    return {**ROBOT, "plate_1_pos": np.zeros(3), "object-state": np.zeros(10),
            "agentview_image": rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
            "robot0_eye_in_hand_image": rng.integers(0, 256, (size, size, 3), dtype=np.uint8)}


def test_images_are_rotated_and_resized_for_a_declared_size_not_re_rendered():
    """Rendered at 256, rotated 180° (img[::-1, ::-1], openpi main.py:115-116), then resized with the
    declared method, as openpi resizes 256 → 224 (main.py:117-122)."""
    from lawm_eval.inputs import ModelInputs, adapt_images

    suite, raw = libero_suite(), camera_raw()
    spec = suite.spec("task", 0, 7, params={"init_state": 0, "language": "x"})
    as_rendered = suite.observation(raw, None, spec, Camera())
    assert as_rendered["image"].shape == (256, 256, 3)
    assert np.array_equal(as_rendered["image"], raw["agentview_image"][::-1, ::-1])
    assert np.array_equal(as_rendered["wrist_image"], raw["robot0_eye_in_hand_image"][::-1, ::-1])
    inputs = ModelInputs(image_size=(224, 224), resize="resize_with_pad")
    resized = suite.observation(raw, None, spec, Camera(), inputs)
    assert resized["image"].shape == resized["wrist_image"].shape == (224, 224, 3)
    assert np.array_equal(resized["image"], adapt_images(raw["agentview_image"][::-1, ::-1], (224, 224),
                                                         "resize_with_pad"))
    assert suite.params["image_size"] == 256  # the render size is the reference's whatever the policy reads


def test_resize_with_pad_matches_openpi_on_hand_computed_cases():
    """openpi-client image_tools.py:48-56: ratio = max(w/W, h/H), size int(h/ratio) × int(w/ratio) (floor),
    pasted at (int((W-w')/2), int((H-h')/2)) on black."""
    from lawm_eval.inputs import adapt_images

    wide = np.full((3, 7, 3), 200, dtype=np.uint8)  # ratio 1.75: 3/1.75 = 1.71 → 1 row (rounding would give 2)
    out = adapt_images(wide, (4, 4), "resize_with_pad")
    assert [int(row.max()) for row in out[..., 0]] == [0, 200, 0, 0]  # pad top int(3/2) = 1, bottom 2
    assert (out[1] == 200).all()
    tall = np.full((4, 2, 3), 90, dtype=np.uint8)  # ratio 1: kept as is, 1 black column either side
    out = adapt_images(tall, (4, 4), "resize_with_pad")
    assert [int(col.max()) for col in out[..., 0].T] == [0, 90, 90, 0]
    square = np.random.default_rng(1).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    from PIL import Image

    expected = np.asarray(Image.fromarray(square).resize((224, 224), resample=Image.BILINEAR))
    assert np.array_equal(adapt_images(square, (224, 224), "resize_with_pad"), expected)  # no padding at 256 → 224


@pytest.mark.parametrize("version, policy_sees_objects", [("v2", False), ("v1", True)])
def test_object_poses_reach_only_privileged_policies_from_v2(version, policy_sees_objects):
    suite, raw = libero_suite(version), camera_raw()
    spec = suite.spec("task", 0, 7, params={"init_state": 0, "language": "x"})
    obs = suite.observation(raw, None, spec, Camera())
    assert ("plate_1_pos" in obs["raw"]) == policy_sees_objects and ("object-state" in obs["raw"]) == policy_sees_objects
    assert "robot0_eef_pos" in obs["raw"] and "sim" not in obs

    class Privileged(Camera):
        privileged = True

    sim = type("Env", (), {"env": "the simulator"})()
    obs = suite.observation(raw, sim, spec, Privileged())
    assert "plate_1_pos" in obs["raw"] and obs["sim"] == "the simulator"


def test_the_evaluation_contract_states_what_the_policy_gets():
    from lawm_eval.bundle import ModelBundle
    from lawm_eval.inputs import ModelInputs
    from lawm_eval.models.libero_oracle import libero_oracle

    suite = libero_suite()
    vla = ModelBundle("vla", policy=Camera(), inputs=ModelInputs(image_size=(224, 224), resize="resize_with_pad",
                                                                 gripper="openvla_oft"))
    contract = suite.evaluation_contract(vla)
    assert contract["rendered_resolution"] == [256, 256] and contract["resolution"] == [224, 224]
    assert contract["resize"] == "resize_with_pad" and contract["flip"].startswith("180")
    assert contract["cameras"] == {"image": "agentview", "wrist_image": "robot0_eye_in_hand"}
    assert contract["gripper"] == "openvla_oft" and contract["privileged_state"] is False
    assert contract["chunk"] == {"execute_steps": 8, "keep": "first", "short_chunks": "refuse", "closed_loop": False}
    assert contract["ground_truth_actions"] is False and contract["action_dim"] == 7 and contract["state_dim"] == 8
    oracle = suite.evaluation_contract(libero_oracle())
    assert oracle["privileged_state"] == "simulator and object poses" and "sim" in oracle["observations"]
    assert oracle["resolution"] is None and oracle["gripper"] == "env" and oracle["chunk"]["execute_steps"] == 1


@pytest.mark.extra("libero")  # the extra check comes first: it must pass to reach the assets check
def test_missing_assets_name_the_fetch_command(tmp_path, monkeypatch):
    from lawm_eval.errors import AssetError
    from lawm_eval.runner.build import build_suite

    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    from lawm_eval.config import compose_config

    suite = build_suite(compose_config(["suite=libero_spatial", "model=noop"]))
    with pytest.raises(AssetError, match="run: lawm-eval assets fetch libero"):
        suite.check_ready()


needs_libero = pytest.mark.extra("libero")


@pytest.mark.sim
@needs_libero
def test_a_real_libero_episode(compose):
    """libero_spatial task 0, init state 0: frames render and change, the oracle succeeds,
    a no-op policy does not."""
    from lawm_eval.runner.run import run_evaluation

    oracle = run_evaluation(compose("suite=libero_spatial", "model=oracle", "suite.tasks=[0]",
                                    "suite.trials_per_task=1", "save_video=all", "run_id=oracle"))
    (record,) = oracle.summary["tasks"].values()
    assert record["success_rate"] == 1.0
    noop = run_evaluation(compose("suite=libero_spatial", "model=noop", "suite.tasks=[0]", "suite.trials_per_task=1",
                                  "suite.max_steps=30", "run_id=noop"))
    assert noop.summary["overall"]["success_rate"] == 0.0
    from lawm_eval.runner.records import EPISODES_FILE, read_records

    (rec,) = read_records(oracle.run_dir / EPISODES_FILE)[0]
    assert rec.info["init_state"] == 0 and rec.seed == 7 and rec.simulator_versions["mujoco"] == "3.3.7"
    assert "pick up the black bowl" in rec.info["language"]
    from lawm_eval.util.video import read_mp4

    frames = read_mp4(oracle.run_dir / rec.info["video"])
    # one frame before each policy action and the one after the last; v2 counts the successful action (as LeRobot)
    assert frames.shape[1:] == (256, 256, 3) and len(frames) == rec.steps + 1
    assert np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean() > 1.0  # the scene changed


@pytest.mark.sim
@needs_libero
def test_oracle_demos_are_written_in_libero_hdf5_format(tmp_path):
    """The oracle's successful episode on libero_spatial task 0 becomes a LIBERO demo (robomimic
    layout: data/demo_i with actions, states, rewards, dones, obs/*) that our reader loads."""
    from lawm_eval.data.generate.libero_demos import generate_libero_demos
    from lawm_eval.data.libero_hdf5 import LiberoDemos
    from lawm_eval.models.libero_oracle import LiberoOracle

    (path,) = generate_libero_demos(tmp_path, LiberoOracle, "libero_spatial", tasks=[0], episodes=1, image_size=64)
    demos = LiberoDemos(path)
    assert path.name.endswith("_demo.hdf5") and len(demos) == 1
    episode = demos.episode(0)
    assert episode.frames.shape[1:] == (64, 64, 3) and episode.actions.shape == (len(episode.frames), 7)
    assert episode.states.shape == (len(episode.frames), 8)  # ee_pos (3) + ee_ori (3) + gripper (2)
    assert "black bowl" in demos.language and demos.env_args["env_kwargs"]["controller"] == "OSC_POSE"
    import h5py

    with h5py.File(path, "r") as f:
        demo = f["data/demo_0"]
        assert demo["rewards"][-1] == 1 and demo["dones"][-1] == 1 and demo["rewards"][:-1].sum() == 0
        assert np.allclose(demo.attrs["init_state"], demo["states"][0])
    moved = np.linalg.norm(episode.states[-1, :3] - episode.states[0, :3])
    assert moved > 0.05  # the arm carried the bowl somewhere


ACTIONS = np.random.default_rng(0).uniform(-1, 1, (40, 7))  # the same random actions for every env


def qpos_after_random_actions(cameras: tuple[str, ...], env_seed: int, np_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(joint positions after ACTIONS, the stored init state) on libero_spatial task 0, init state 0,
    with ``np.random`` seeded differently before the reset and after ``set_init_state``."""
    from lawm_eval.envs.libero_env import benchmark_tasks, make_env

    suite, tasks = benchmark_tasks("libero_spatial")
    init = suite.get_task_init_states(0)[0]  # [time, qpos, qvel]
    env = make_env(tasks[0], 32, cameras, env_seed)
    try:
        np.random.seed(np_seed)
        env.reset()  # the placement samplers draw from np.random here ...
        env.set_init_state(init)  # ... and the stored state overwrites it
        np.random.seed(np_seed + 1)
        for action in ACTIONS:
            env.step(action.tolist())
        return env.env.sim.data.qpos.copy(), init
    finally:
        env.close()


@pytest.mark.sim
@needs_libero
def test_after_set_init_state_neither_seed_changes_the_physics():
    """env.seed 7 (openpi main.py:195) or 0 (openvla-oft libero_utils.py:24) and any global np.random
    seed (the runner reseeds it before every trial) give identical joint positions after 40 random
    actions: per-trial reseeding does not change an episode."""
    reference, init = qpos_after_random_actions(cameras=(), env_seed=7, np_seed=7)
    assert np.abs(reference[:7] - init[1:8]).max() > 0.05  # the arm moved
    assert np.array_equal(qpos_after_random_actions(cameras=(), env_seed=0, np_seed=1234)[0], reference)


@pytest.mark.sim
@needs_libero
def test_the_render_free_env_has_the_physics_of_the_rendering_one():
    """ControlEnv without cameras (policies with needs_images = False, the oracle) and the reference
    scripts' OffScreenRenderEnv (both cameras, or only the agentview) give identical joint positions
    after the same 40 random actions."""
    reference, _ = qpos_after_random_actions(cameras=(), env_seed=7, np_seed=7)
    for cameras in (("agentview", "robot0_eye_in_hand"), ("agentview",)):
        assert np.array_equal(qpos_after_random_actions(cameras, env_seed=7, np_seed=7)[0], reference)


@pytest.mark.sim
@needs_libero
def test_settling_without_rendering_gives_the_observations_of_the_reference_loop():
    """``settle`` renders only in its last dummy step (``cameras_off``): the observation after it and
    after three more steps is bit-identical to the reference scripts' loop, where every step renders."""
    from lawm_eval.envs.libero_env import DUMMY_ACTION, benchmark_tasks, make_env, settle

    suite, tasks = benchmark_tasks("libero_spatial")
    init = suite.get_task_init_states(0)[1]
    env = make_env(tasks[0], 64, ("agentview", "robot0_eye_in_hand"), 7)
    moves = np.random.default_rng(1).uniform(-0.5, 0.5, (3, 7))
    runs = []
    try:
        for fast in (False, True):
            np.random.seed(7)  # the placement samplers draw from np.random at the reset
            if fast:
                observations = [settle(env, init, 10)]
            else:
                env.reset()
                env.set_init_state(init)
                observations = [env.step(DUMMY_ACTION)[0] for _ in range(10)][-1:]
            observations += [env.step(move.tolist())[0] for move in moves]
            runs.append(observations)
    finally:
        env.close()
    for reference, fast in zip(*runs):
        assert set(reference) == set(fast) and "agentview_image" in fast
        for key in reference:
            assert np.array_equal(reference[key], fast[key]), key


@pytest.mark.sim
@needs_libero
def test_libero_rollouts_record_the_outcome_of_every_episode(tmp_path):
    """One oracle rollout of libero_object task 0 as a LeRobot dataset: the policy's rotated view at the
    asked size, the suite's 8-D state, one action per step, the BDDL success in the metadata and the
    frames in which the goal holds, through the held steps after the success."""
    from lawm_eval.data.formats import open_dataset
    from lawm_eval.data.generate.libero_rollouts import RolloutPlan, generate_libero_rollouts

    plan = RolloutPlan("libero_object", tasks=[0], init_states=[0], levels=[0], max_steps=280, wait_steps=10,
                       image_size=32, post_success_steps=3)
    (folder,) = generate_libero_rollouts(tmp_path / "rollouts", plan)
    assert folder.name == "pick_up_the_alphabet_soup_and_place_it_in_the_basket" and (folder / ".complete").exists()
    (episode,) = list(open_dataset(folder))
    assert episode.meta["seed"] == plan.seed_of(0, 0, 0) != RolloutPlan(**{**vars(plan), "seed": 1}).seed_of(0, 0, 0)
    assert episode.meta["success"] is True and episode.meta["level"] == 0 and episode.meta["init_state"] == 0
    steps = episode.meta["steps"]
    assert len(episode) == steps + 3 + 1 and steps < 280  # the final frame 3 held steps after the success
    assert episode.meta["goal_frames"] == [steps + k for k in range(4)]
    assert not episode.actions[steps:steps + 3, :6].any()  # held still
    assert episode.frames.shape[1:] == (32, 32, 3) and episode.states.shape[1] == 8
    assert not episode.actions[-1].any() and episode.actions[0, 6] == -1.0  # gripper open at the start
    assert episode.task == "pick up the alphabet soup and place it in the basket"
    assert np.abs(episode.frames[-1].astype(int) - episode.frames[0].astype(int)).mean() > 1.0
    (folder / "meta" / "info.json").unlink()  # a finished task is not run again
    assert generate_libero_rollouts(tmp_path / "rollouts", plan) == [folder]
    assert not (folder / "meta" / "info.json").exists()
