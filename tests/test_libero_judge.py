"""The LIBERO success judge without the simulator: labels from the goal predicate, balanced batches,
episode verdicts, and that its training learns a visible predicate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lawm_eval.errors import CheckpointError, ModelError
from lawm_eval.models.libero_judge import LiberoJudge, load_judge
from lawm_eval.models.train.libero_bc import DemoEpisode
from lawm_eval.models.train.libero_judge import goal_mask, judge_loss, judge_report, labelled_frames

TASKS = ["put the a in the basket", "put the b in the basket"]


def episode(t: int, success: bool, goal_frames=None, task: str = TASKS[0]) -> DemoEpisode:
    """Grey frames; where the goal holds, a white square in the middle (a predicate one can see)."""
    frames = np.full((t, 64, 64, 3), 90, np.uint8)
    meta = {"success": success, "init_state": 0}
    if goal_frames is not None:
        meta["goal_frames"] = goal_frames
    mask = goal_mask(DemoEpisode(frames, np.zeros((t, 7)), np.zeros((t, 8)), task, meta))
    frames[mask, 24:40, 24:40] = 255
    return DemoEpisode(frames, np.zeros((t, 7), np.float32), np.zeros((t, 8), np.float32), task, meta)


def test_the_goal_frames_label_the_frames_or_else_the_final_frame_of_a_success():
    assert goal_mask(episode(5, True)).tolist() == [False] * 4 + [True]
    assert not goal_mask(episode(5, False)).any()
    assert goal_mask(episode(6, True, goal_frames=[3, 4, 5])).tolist() == [False] * 3 + [True] * 3


def test_batches_are_balanced_between_the_classes():
    data = labelled_frames([episode(30, True), episode(30, False)], TASKS)
    assert int(data.labels.sum()) == 1 and len(data.labels) == 60
    _, _, labels = data.batch(64, torch.Generator().manual_seed(0))
    assert int(labels.sum()) == 32


def test_a_short_training_learns_a_visible_predicate_and_episodes_are_judged_by_any_frame():
    torch.manual_seed(0)
    judge = LiberoJudge(TASKS, keypoints=8, hidden=32)
    data = labelled_frames([episode(20, True, goal_frames=[17, 18, 19]), episode(20, False),
                            episode(20, True, task=TASKS[1])], TASKS)
    optimiser = torch.optim.Adam(judge.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(60):
        loss, _ = judge_loss(judge, data, generator)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    judge.eval()
    report = judge_report(judge, [episode(12, True, goal_frames=[10, 11]), episode(12, False)])
    assert report["episodes"] == {"precision": 1.0, "recall": 1.0, "accuracy": 1.0, "n": 2, "positives": 1}
    assert report["frames"]["accuracy"] == 1.0
    success, first = judge.judge_episode(episode(9, True, goal_frames=[7, 8]).frames, TASKS[0])
    assert success and first == 7
    with pytest.raises(ModelError, match="not on 'open the drawer'"):
        judge.judge_episode(episode(3, False).frames, "open the drawer")


def test_a_missing_judge_names_its_training_command(tmp_path):
    with pytest.raises(CheckpointError, match="python -m lawm_eval.models.train libero_judge"):
        load_judge(str(tmp_path / "none.pt"))


def test_the_proprio_fit_recovers_linear_dynamics_and_clips_the_gripper(tmp_path):
    from lawm_eval.models.libero_proprio import ProprioModel, fit_proprio, load_proprio

    rng = np.random.default_rng(0)
    truth = rng.normal(0, 0.01, (8, 8))  # [a; 1] -> delta state
    states, actions = [], []
    for _ in range(4):
        a = rng.uniform(-1, 1, (30, 7))
        s = np.zeros((30, 8))
        for t in range(29):
            s[t + 1] = s[t] + np.append(a[t], 1.0) @ truth
        states.append(s)
        actions.append(a)
    model = fit_proprio(states, actions)
    assert np.allclose(model.weights, truth, atol=1e-10)
    path = tmp_path / "proprio.json"
    path.write_text(model.to_json())
    loaded = load_proprio(path)
    stepped = loaded.step(states[0][3], actions[0][3:6])
    assert stepped.shape == (3, 8)
    assert np.allclose(stepped[:, :6], states[0][4:7, :6], atol=1e-5)
    assert (stepped[:, 6:] >= model.low[6:] - 1e-6).all() and (stepped[:, 6:] <= model.high[6:] + 1e-6).all()
    path.write_text('{"weights": [[1, 2]], "low": [], "high": []}')
    with pytest.raises(CheckpointError, match="not a LIBERO proprio model"):
        load_proprio(path)
    assert isinstance(loaded, ProprioModel)
