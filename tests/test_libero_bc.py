"""The LIBERO behaviour-cloning policy without the simulator: its chunk, its task vocabulary, its
training pieces, the recipe it is trained on, and the cameras the LIBERO suite renders for it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ModelError
from lawm_eval.inputs import ModelInputs
from lawm_eval.models.libero_bc import LiberoBC, SpatialSoftArgmax

TASKS = ["pick up the ketchup and place it in the basket", "pick up the milk and place it in the basket"]


def test_soft_argmax_finds_where_each_feature_map_peaks():
    maps = torch.full((1, 2, 16, 16), -50.0)
    maps[0, 0, 0, 15] = 50.0  # top right: x = +1, y = -1
    maps[0, 1, 15, 0] = 50.0  # bottom left: x = -1, y = +1
    x0, x1, y0, y1 = SpatialSoftArgmax()(maps)[0].tolist()
    assert (x0, y0) == pytest.approx((1.0, -1.0), abs=1e-3)
    assert (x1, y1) == pytest.approx((-1.0, 1.0), abs=1e-3)


def test_the_policy_returns_a_chunk_in_action_units_and_refuses_tasks_it_was_not_trained_on():
    torch.manual_seed(0)
    network = LiberoBC(TASKS, chunk=8)
    network.action_mean.fill_(0.5)
    network.action_std.fill_(1e-6)  # the chunk is then the action mean, whatever the input
    policy = network.as_policy()
    obs = {"image": np.zeros((64, 64, 3), np.uint8), "state": np.zeros(8, np.float32), "task": TASKS[1]}
    chunk = policy.act(obs)
    assert chunk.shape == (8, 7) and chunk.dtype == np.float64
    assert np.allclose(chunk, 0.5, atol=1e-4)
    with pytest.raises(ModelError, match="not on 'open the drawer'"):
        policy.act({**obs, "task": "open the drawer"})


def test_the_task_changes_the_chunk():
    torch.manual_seed(0)
    network = LiberoBC(TASKS).eval()
    frame, state = torch.rand(1, 3, 64, 64), torch.zeros(1, 8)
    first = network.actions(frame, torch.tensor([0]), state)
    second = network.actions(frame, torch.tensor([1]), state)
    assert not torch.allclose(first, second)


def test_random_shift_moves_frames_by_at_most_the_shift():
    from lawm_eval.models.train.libero_bc import random_shift

    frames = torch.zeros(16, 3, 64, 64)
    frames[:, :, 30, 30] = 1.0
    shifted = random_shift(frames, 4, torch.Generator().manual_seed(0))
    assert shifted.shape == frames.shape
    ys, xs = torch.nonzero(shifted[:, 0] == 1.0, as_tuple=True)[1:]
    assert len(ys) == 16 and ys.sub(30).abs().max() <= 4 and xs.sub(30).abs().max() <= 4
    assert len(set(zip(ys.tolist(), xs.tolist()))) > 1  # not all shifted alike


def test_chunks_pad_with_the_last_action_and_only_successes_outside_the_held_out_inits_train():
    from lawm_eval.models.train.libero_bc import HELD_OUT_INITS, DemoEpisode, chunk_samples, split

    actions = np.arange(5 * 7, dtype=np.float32).reshape(5, 7)  # 4 actions + the padding row
    def episode(init, success):
        return DemoEpisode(np.zeros((5, 64, 64, 3), np.uint8), actions, np.zeros((5, 8), np.float32), TASKS[0],
                           {"success": success, "init_state": init})
    train, held = split([episode(10, True), episode(11, False), episode(HELD_OUT_INITS[0], True)])
    assert [e.meta["init_state"] for e in train] == [10] and [e.meta["init_state"] for e in held] == [HELD_OUT_INITS[0]]
    data = chunk_samples(train, TASKS, chunk=3)
    assert data.chunks.shape == (4, 3, 7)
    assert torch.equal(data.chunks[2], torch.from_numpy(actions[[2, 3, 3]]))  # past the end: the last action


def test_the_demo_recipe_uses_the_libero_object_suites_episode_limits_and_spares_its_trials():
    from lawm_eval.catalog import registries
    from lawm_eval.data.recipes import RECIPES

    recipe = RECIPES["libero_object_demos"]
    params = registries()["suite"].get("libero_object").params
    assert (recipe["max_steps"], recipe["wait_steps"]) == (params["max_steps"], params["wait_steps"])
    assert recipe["first_init"] >= 10  # the trials the learned policies are evaluated on (0..9) stay unseen


@pytest.mark.parametrize("camera, reads_images, frames, rendered, keys", [
    (None, True, False, ("agentview", "robot0_eye_in_hand"), {"image", "wrist_image"}),
    ("agentview", True, False, ("agentview",), {"image"}),
    (None, False, False, (), set()),
    (None, False, True, ("agentview",), set()),  # a video of a blind policy: rendered, not given
])
def test_the_libero_suite_renders_only_the_cameras_a_policy_reads(camera, reads_images, frames, rendered, keys):
    from lawm_eval.catalog import registries
    from lawm_eval.suites.libero import LiberoSuite

    class Policy:
        needs_images = reads_images

    suite = LiberoSuite(registries()["suite"].get("libero_object"))
    bundle = ModelBundle(model_id="m", policy=Policy(), inputs=ModelInputs(camera=camera))
    assert suite.rendered_cameras(bundle, frames) == rendered
    spec = suite.spec("task", 0, 7, params={"init_state": 0, "language": "x"})
    obs = suite.observation(suite.probe_raw(suite.rendered_cameras(bundle)), None, spec, Policy())
    assert {"image", "wrist_image"} & set(obs) == keys
    assert suite.evaluation_contract(bundle)["cameras"] == ({} if not reads_images else
                                                            {k: c for k, c in (("image", "agentview"),
                                                             ("wrist_image", "robot0_eye_in_hand")) if k in keys})
