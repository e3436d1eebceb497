"""CI regression for the bundled tiny checkpoints: each loads with weights_only=True through its
`model=<name>` factory, recomputes its golden numbers on the committed fixture batch, and beats
the copy-last-frame baseline on held-out one-step prediction (numbers from its training run)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lawm_eval.catalog import registries
from lawm_eval.models.train.artifacts import load_golden
from lawm_eval.models.train.evaluate import lam_golden, load_fixture
from lawm_eval.models.zoo import METHODS, checkpoint_path, load_autoencoder
from lawm_eval.paths import data_dir

WORLD_MODELS = ["lac_wm", "eac_wm", "lawm", "cola_world", "cola_two_stage", "law", "lam_sparse", "lam_noisy",
                "lam_discrete", "lam_nav"]
TOLERANCE = dict(rel=1e-4, abs=1e-6)


def numbers(golden: dict) -> dict:
    return {k: v for k, v in golden.items() if isinstance(v, float)}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_checkpoint_is_small_and_loads_weights_only(name):
    path = checkpoint_path(name)
    assert path.stat().st_size <= 5 * 1024 * 1024
    payload = torch.load(path, map_location="cpu", weights_only=True)
    assert payload["method"] == name


@pytest.mark.parametrize("name", WORLD_MODELS)
def test_world_model_golden_numbers(name):
    bundle = registries()["model"].get(name)(suite=None)
    golden = load_golden(name)
    recomputed = lam_golden(bundle.world_model, bundle.encoder, golden["dataset"])
    assert numbers(recomputed) == pytest.approx(numbers(golden), **TOLERANCE)
    assert bundle.checkpoint_sha256 and len(bundle.checkpoint_sha256) == 64


@pytest.mark.parametrize("name", WORLD_MODELS)
def test_world_model_beats_copy_last_frame_on_held_out_episodes(name):
    metrics = json.loads((data_dir("baselines") / name / "metrics.json").read_text())
    assert metrics["controller_mse"] < metrics["copy_last_mse"]
    assert metrics["rollout_controller_mse"] < metrics["rollout_copy_last_mse"]
    if "gt_latent_mse" in metrics:
        assert metrics["gt_latent_mse"] < metrics["copy_last_mse"]


def test_autoencoder_golden_numbers():
    from lawm_eval.models.train.visual_ae import autoencoder_golden

    assert autoencoder_golden(load_autoencoder()) == pytest.approx(load_golden("visual_ae"), **TOLERANCE)


def test_policy_golden_numbers():
    autoencoder = load_autoencoder()
    fixture = load_fixture("franka")
    x = autoencoder.encode(torch.from_numpy(fixture["frames"]))[:, 0]
    tasks = torch.zeros(len(x), dtype=torch.long)
    lawam = registries()["model"].get("lawam")(suite=None).policy.network
    first = lawam.act_tokens(x, tasks)[:, 0]
    assert first[0].tolist() == pytest.approx(load_golden("lawam")["first_action"], **TOLERANCE)
    vla = registries()["model"].get("vla_flow")(suite=None)
    chunks = vla.sampler.network.act_tokens(x, tasks, torch.Generator().manual_seed(7))
    golden = np.asarray(load_golden("vla_flow")["first_chunk"])  # (H, A)
    assert chunks[0].numpy().ravel().tolist() == pytest.approx(golden.ravel().tolist(), **TOLERANCE)


def test_policies_act_through_the_interface():
    import numpy as np

    bundle = registries()["model"].get("vla_flow")(suite=None)
    frame = load_fixture("franka")["frames"][0, 0]
    obs = {"image": frame, "task": "pick up the cube"}
    bundle.policy.reset(3)
    assert bundle.policy.act(obs).shape == (3, 7)
    samples = bundle.sampler.sample(obs, 5, torch.Generator().manual_seed(0))
    assert samples.shape == (5, 3, 7) and np.std(samples, axis=0).mean() > 0  # diverse candidates
    big = np.repeat(np.repeat(frame, 4, axis=0), 4, axis=1)  # a 256×256 camera image is resized
    assert registries()["model"].get("lawam")(suite=None).policy.act({"image": big}).shape == (1, 7)
