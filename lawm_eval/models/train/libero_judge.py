"""Train the LIBERO success judge (``models/libero_judge.py``) on simulator frames labelled by the BDDL
goal predicate: a frame is positive when the goal holds in it (``goal_frames`` in the rollouts'
metadata; in recordings without it, the final frame of a successful episode, the one after the
successful action), negative otherwise. Batches are balanced between the classes (the goal holds in
few frames); frames are shifted by up to 4 pixels; a quarter more of each batch are negatives made by
shuffling a goal frame's 8×8 patches (the first judge, trained without them, called world-model frames that
had dissolved into texture successful: docs/protocols/libero_imagined.md).

Held out: the episodes of initial states 28 and 29 (as the BC policy's). Reported: frame-level
precision/recall/accuracy, and episode-level precision/recall of "any frame above the threshold"
against the simulator's success, the judge's use on imagined episodes.

The same run fits the imagined episodes' proprio model (``models/libero_proprio.py``) on the training
episodes' transitions and reports its held-out error after 1 and 8 steps (the BC policy's chunk).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.libero_judge import LiberoJudge
from lawm_eval.models.libero_proprio import ProprioModel, fit_proprio, proprio_path
from lawm_eval.models.train.artifacts import baseline_dir, save_curve, save_golden
from lawm_eval.models.train.libero_bc import (
    HELD_OUT_INITS,
    DemoEpisode,
    golden_input,
    load_demos,
    random_shift,
)
from lawm_eval.models.train.loop import train

NAME = "libero_judge"
DATASETS = ("libero_object_demos",)
CONFIG = {"keypoints": 32, "hidden": 256, "threshold": 0.5}
BATCH = 64
SCRAMBLED, PATCH = 0.25, 8  # a quarter more negatives per batch: frames with their 8×8 patches shuffled


def goal_mask(episode: DemoEpisode) -> np.ndarray:
    """(T+1,) bool: the frames in which the goal holds."""
    mask = np.zeros(len(episode.frames), bool)
    if "goal_frames" in episode.meta:
        mask[list(episode.meta["goal_frames"])] = True
    elif episode.meta.get("success"):
        mask[-1] = True
    return mask


@dataclass
class LabelledFrames:
    frames: torch.Tensor  # (N, 3, 64, 64) uint8
    tasks: torch.Tensor  # (N,)
    labels: torch.Tensor  # (N,) float 0/1

    def batch(self, size: int, generator: torch.Generator):
        """Half positives, half negatives, shifted."""
        positives = torch.nonzero(self.labels > 0.5).squeeze(1)
        negatives = torch.nonzero(self.labels < 0.5).squeeze(1)
        idx = torch.cat([positives[torch.randint(0, len(positives), (size // 2,), generator=generator)],
                         negatives[torch.randint(0, len(negatives), (size - size // 2,), generator=generator)]])
        frames = random_shift(self.frames[idx].float() / 255.0, 4, generator)
        return frames, self.tasks[idx], self.labels[idx]


def labelled_frames(episodes: list[DemoEpisode], tasks: list[str]) -> LabelledFrames:
    index = {task: i for i, task in enumerate(tasks)}
    frames = np.concatenate([ep.frames for ep in episodes])
    labels = np.concatenate([goal_mask(ep) for ep in episodes])
    ids = np.concatenate([np.full(len(ep.frames), index[ep.task]) for ep in episodes])
    return LabelledFrames(torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(ids),
                          torch.from_numpy(labels.astype(np.float32)))


def shuffled_patches(frames: torch.Tensor, generator: torch.Generator, patch: int = PATCH) -> torch.Tensor:
    """(B, 3, H, W) → the same frames with their ``patch``² patches in a random order each: the colours
    and textures of a scene without its structure."""
    b, c, h, w = frames.shape
    grid = frames.unfold(2, patch, patch).unfold(3, patch, patch)  # (B, 3, H/p, W/p, p, p)
    tiles = grid.reshape(b, c, -1, patch, patch)
    order = torch.stack([torch.randperm(tiles.shape[2], generator=generator) for _ in range(b)])  # (B, N)
    tiles = tiles[torch.arange(b)[:, None], :, order].permute(0, 2, 1, 3, 4)  # (B, 3, N, p, p)
    rows = tiles.reshape(b, c, h // patch, w // patch, patch, patch).permute(0, 1, 2, 4, 3, 5)
    return rows.reshape(b, c, h, w)


def judge_loss(judge: LiberoJudge, data: LabelledFrames, generator: torch.Generator):
    """Balanced BCE; ``SCRAMBLED`` of the batch again as extra negatives: the batch's first goal frames
    (a batch starts with its positives) with their patches shuffled (``shuffled_patches``), so that the
    goal's colours without the goal's layout do not read as success (an imagined frame that a world
    model has dissolved into texture must not pass for the goal)."""
    frames, tasks, labels = data.batch(BATCH, generator)
    extra = round(SCRAMBLED * BATCH)
    if extra:
        scrambled = shuffled_patches(frames[:extra], generator)
        frames = torch.cat([frames, scrambled])
        tasks, labels = torch.cat([tasks, tasks[:extra]]), torch.cat([labels, torch.zeros(extra)])
    return F.binary_cross_entropy_with_logits(judge(frames, tasks), labels), {}


def precision_recall(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    predicted, truth = np.asarray(predicted, bool), np.asarray(truth, bool)
    tp = int((predicted & truth).sum())
    return {"precision": tp / max(int(predicted.sum()), 1), "recall": tp / max(int(truth.sum()), 1),
            "accuracy": float((predicted == truth).mean()), "n": int(len(truth)), "positives": int(truth.sum())}


def judge_report(judge: LiberoJudge, episodes: list[DemoEpisode]) -> dict[str, dict[str, float]]:
    """Frame-level and episode-level agreement with the simulator on ``episodes``."""
    frame_pred, frame_truth, episode_pred, episode_truth = [], [], [], []
    for ep in episodes:
        probabilities = judge.probabilities(ep.frames, [ep.task] * len(ep.frames))
        frame_pred.append(probabilities > judge.threshold)
        frame_truth.append(goal_mask(ep))
        episode_pred.append(bool(frame_pred[-1].any()))
        episode_truth.append(bool(ep.meta.get("success")))
    return {"frames": precision_recall(np.concatenate(frame_pred), np.concatenate(frame_truth)),
            "episodes": precision_recall(np.array(episode_pred), np.array(episode_truth))}


def proprio_errors(proprio: ProprioModel, episodes: list[DemoEpisode], horizon: int = 8) -> dict[str, float]:
    """Mean |error| of the end-effector position (m) after 1 and ``horizon`` steps, open loop from the
    recorded state with the recorded actions, against holding the state."""
    one, many, hold = [], [], []
    for ep in episodes:
        for t in range(0, len(ep.actions) - 1 - horizon, horizon):
            predicted = proprio.step(ep.states[t], ep.actions[t:t + horizon])  # (H, 8)
            one.append(np.abs(predicted[0, :3] - ep.states[t + 1, :3]).mean())
            many.append(np.abs(predicted[-1, :3] - ep.states[t + horizon, :3]).mean())
            hold.append(np.abs(ep.states[t, :3] - ep.states[t + horizon, :3]).mean())
    return {"proprio_held_out_xyz_l1_1_step": float(np.mean(one)),
            f"proprio_held_out_xyz_l1_{horizon}_steps": float(np.mean(many)),
            f"hold_state_xyz_l1_{horizon}_steps": float(np.mean(hold))}


def main(steps: int = 3000) -> dict:
    from lawm_eval.data.recipes import ensure_dataset

    episodes = [ep for name in DATASETS for ep in load_demos(ensure_dataset(name), 64)]
    tasks = sorted({ep.task for ep in episodes})
    train_eps = [ep for ep in episodes if ep.meta["init_state"] not in HELD_OUT_INITS]
    held_eps = [ep for ep in episodes if ep.meta["init_state"] in HELD_OUT_INITS]
    data = labelled_frames(train_eps, tasks)
    torch.manual_seed(0)
    judge = LiberoJudge(tasks, **CONFIG)
    curve = train(judge.parameters(), partial(judge_loss, judge, data), steps, lr=1e-3, seed=1, log_every=50)
    judge.eval()
    report = judge_report(judge, held_eps)
    metrics = {**{f"held_out_{level}_{k}": float(v) for level, values in report.items() for k, v in values.items()
                  if k in ("precision", "recall", "accuracy")},
               "held_out": report, "training_frames": len(data.labels),
               "training_positives": int(data.labels.sum()), "held_out_episodes": len(held_eps), "steps": steps,
               "datasets": list(DATASETS)}
    proprio = fit_proprio([ep.states for ep in train_eps], [ep.actions for ep in train_eps])
    metrics.update(proprio_errors(proprio, held_eps))
    proprio_path().parent.mkdir(parents=True, exist_ok=True)
    proprio_path().write_text(proprio.to_json() + "\n")
    save_model(baseline_dir(NAME) / "model.pt", NAME, judge, {**CONFIG, "tasks": tasks}, {"metrics": metrics})
    save_curve(NAME, {"success judge": curve})
    frame, _ = golden_input()
    with torch.no_grad():
        logit = float(judge(frame, torch.tensor([0])))
    save_golden(NAME, {"logit": logit, "task": tasks[0], "dataset": DATASETS[0]})
    (baseline_dir(NAME) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
