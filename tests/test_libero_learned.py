"""The learned LIBERO models in the real simulator: one real episode of the behaviour-cloning policy and
one imagined episode end as their recorded goldens say (scripts/libero_goldens.py wrote them), and the
bundled policy and judge load with weights_only and recompute their golden numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scripts_loader import load_script

from lawm_eval.models.train.artifacts import load_golden

TOLERANCE = {"rel": 1e-4, "abs": 1e-5}


def goldens_script():
    return load_script("libero_goldens")


def test_the_bundled_bc_policy_and_judge_recompute_their_golden_numbers():
    from lawm_eval.models.libero_judge import load_judge
    from lawm_eval.models.train.libero_bc import golden_input
    from lawm_eval.models.zoo import build_bundled

    policy = build_bundled("libero_bc").policy.network
    frame, state = golden_input(policy.image_size)
    chunk = policy.actions(frame, torch.tensor([0]), state)[0]
    golden = load_golden("libero_bc")
    assert chunk.numpy().ravel().tolist() == pytest.approx(np.ravel(golden["first_chunk"]).tolist(), **TOLERANCE)
    judge = load_judge()
    frame, _ = golden_input()
    assert float(judge(frame, torch.tensor([0]))) == pytest.approx(load_golden("libero_judge")["logit"], **TOLERANCE)


@pytest.mark.sim
@pytest.mark.extra("libero")
@pytest.mark.parametrize("kind", ["real", "imagined"])
def test_one_episode_ends_as_recorded(tmp_path, kind):
    """The BC policy on task 6, trial 0: in the simulator, and imagined by the default evaluator."""
    script = goldens_script()
    overrides = script.real_episode_overrides() if kind == "real" else script.imagined_episode_overrides()
    record = script.one_record(overrides, str(tmp_path))
    golden = load_golden("libero_bc")["episode"] if kind == "real" else load_golden("libero_judge")["imagined_episode"]
    assert (bool(record.success), int(record.steps)) == (golden["success"], golden["steps"])
    if kind == "imagined":
        assert record.info["judge_peak"] == pytest.approx(golden["judge_peak"], abs=1e-4)
        assert record.info["world_model"] == "copy_last" and record.contract["imagined"]["frame_size"] == [64, 64]
