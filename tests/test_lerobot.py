"""``model=lerobot``: a LeRobot policy saved locally, run in the ``lerobot`` environment (LeRobot
0.4.4, torch 2.10) on the LIBERO suites; it is given what lerobot-eval gives it."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from conftest import run_cli

pytestmark = [pytest.mark.sim, pytest.mark.slow, pytest.mark.simenv("lerobot"), pytest.mark.extra("libero")]

# LeRobot's own path from a raw LIBERO observation to the policy's input (lerobot 0.4.4
# envs/utils.py preprocess_observation, processor/env_processor.py LiberoProcessorStep), run in its environment.
LEROBOT_SIDE = """
import json, sys
import numpy as np
from lerobot.envs.utils import preprocess_observation
from lerobot.processor.env_processor import LiberoProcessorStep
raw = np.load(sys.argv[1])
obs = {"pixels": {"image": raw["agentview"][None], "image2": raw["wrist"][None]},
       "robot_state": {"eef": {"pos": raw["pos"][None], "quat": raw["quat"][None], "mat": np.eye(3)[None]},
                       "gripper": {"qpos": raw["qpos"][None], "qvel": np.zeros((1, 2))},
                       "joints": {"pos": np.zeros((1, 7)), "vel": np.zeros((1, 7))}}}
out = LiberoProcessorStep().observation(preprocess_observation(obs))
np.savez(sys.argv[2], **{k: v.numpy() for k, v in out.items() if hasattr(v, "numpy")})
"""


@pytest.fixture(scope="module")
def act_dir(tmp_path_factory):
    """A randomly initialised LeRobot ACT policy for LIBERO's features, saved as save_pretrained does."""
    from lawm_eval.models.lerobot import start_runtime

    path = tmp_path_factory.mktemp("lerobot") / "act"
    runtime = start_runtime()
    try:
        files = runtime.call("save_random_policy", path=str(path), kind="act", seed=0)
    finally:
        runtime.close()
    assert {"config.json", "model.safetensors", "policy_preprocessor.json", "policy_postprocessor.json"} <= set(files)
    return path


def test_the_policy_sees_what_lerobot_eval_gives_it(tmp_path):
    from lawm_eval.config import compose_config
    from lawm_eval.envs.environments import get_environment
    from lawm_eval.envs.lerobot_runtime import LIBERO_FEATURES
    from lawm_eval.inputs import ModelInputs
    from lawm_eval.runner.build import build_suite

    rng = np.random.default_rng(0)
    quat = rng.standard_normal(4)
    raw = {"agentview_image": rng.integers(0, 255, (256, 256, 3), dtype=np.uint8),
           "robot0_eye_in_hand_image": rng.integers(0, 255, (256, 256, 3), dtype=np.uint8),
           "robot0_eef_pos": rng.standard_normal(3), "robot0_eef_quat": quat / np.linalg.norm(quat),
           "robot0_gripper_qpos": np.array([0.03, -0.03])}
    np.savez(tmp_path / "raw.npz", agentview=raw["agentview_image"], wrist=raw["robot0_eye_in_hand_image"],
             pos=raw["robot0_eef_pos"], quat=raw["robot0_eef_quat"], qpos=raw["robot0_gripper_qpos"])
    python = get_environment("lerobot").require()
    subprocess.run([str(python), "-c", LEROBOT_SIDE, str(tmp_path / "raw.npz"), str(tmp_path / "lerobot.npz")],
                   check=True, capture_output=True, timeout=300)
    theirs = np.load(tmp_path / "lerobot.npz")

    suite = build_suite(compose_config(["suite=libero_spatial"]))
    spec = type("Spec", (), {"params": {"language": "put the bowl on the plate"}})()
    policy = type("P", (), {"privileged": False})()
    ours = suite.observation(raw, None, spec, policy, ModelInputs(observation="image", state_dim=8, gripper="env"))
    for name, key in LIBERO_FEATURES.items():
        mine = np.asarray(ours[key])
        if name.startswith("observation.images."):
            mine = mine.transpose(2, 0, 1)[None].astype(np.float32) / 255.0  # as the runtime converts it
            np.testing.assert_array_equal(mine, theirs[name])  # the same 180° rotation, the same pixels
        else:
            np.testing.assert_allclose(mine[None], theirs[name], atol=1e-6)  # eef pos, axis-angle, gripper qpos


def test_a_random_act_policy_runs_libero_episodes_in_its_environment(act_dir, compose):
    from lawm_eval.runner.run import run_evaluation

    outcome = run_evaluation(compose("suite=libero_spatial", "suite.tasks=[0]", "suite.trials_per_task=2",
                                     "suite.max_steps=12", "model=lerobot", f"model.path={act_dir}",
                                     "model.device=cpu", "run_id=lerobot"))
    records = outcome.results.records
    assert len(records) == 2 and not any(r.error for r in records), [r.error for r in records]
    assert all(r.steps == 12 and r.info["policy_queries"] == 12 for r in records)  # asked before every step
    record = records[0]
    assert record.provenance["origin"].startswith("LeRobot 0.4.4 act policy at")
    assert record.provenance["runtime"]["torch"].startswith("2.10")
    assert record.provenance["n_action_steps"] == 100 and record.checkpoint_sha256
    assert record.contract["resolution"] == [256, 256] and record.contract["gripper"] == "env"


def test_a_directory_that_is_no_lerobot_policy_is_one_line(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"type": "act"}))
    done = run_cli("validate", "suite=libero_spatial", "model=lerobot", f"model.path={tmp_path}")
    assert done.returncode == 2 and "missing model.safetensors" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
