"""LIBERO suites: manifest constants pinned to the reference scripts, and (marked `sim`) a real
episode on the simulator: stored initial state, rendered frames, success detection."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from lawm_eval.paths import data_dir

REFERENCE = {  # openvla-oft run_libero_eval.py / openpi examples/libero/main.py
    "libero_spatial": 220, "libero_object": 280, "libero_goal": 300, "libero_10": 520, "libero_90": 400,
}


@pytest.mark.parametrize("suite, max_steps", sorted(REFERENCE.items()))
def test_manifest_constants_match_the_reference_scripts(suite, max_steps):
    manifest = yaml.safe_load((data_dir("manifests") / suite / "v1.yaml").read_text())
    params = manifest["params"]
    assert params["benchmark"] == suite
    assert params["max_steps"] == max_steps
    assert params["trials_per_task"] == 50
    assert params["wait_steps"] == 10
    assert params["env_seed"] == 7
    assert params["image_size"] == 256
    assert params["execute_steps"] == 8
    assert params["tasks"] is None
    assert set(manifest["sources"]) >= {"trials_per_task", "max_steps", "wait_steps", "env_seed", "execute_steps"}


def test_axis_angle_matches_the_reference_conversion():
    from scipy.spatial.transform import Rotation

    from lawm_eval.envs.libero_env import quat_to_axis_angle

    for rotvec in ([0.3, -0.2, 0.9], [0.0, 0.0, 0.0], [2.0, 1.0, -0.5]):
        quat = Rotation.from_rotvec(rotvec).as_quat()  # (x, y, z, w) like robosuite
        assert np.allclose(quat_to_axis_angle(quat), rotvec if np.linalg.norm(rotvec) < np.pi else
                           Rotation.from_quat(quat).as_rotvec(), atol=1e-6)


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
    # one frame per policy step; on success the last step is not counted (t stops, as in the scripts)
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
