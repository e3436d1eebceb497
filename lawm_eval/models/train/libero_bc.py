"""Train the LIBERO behaviour-cloning policy (``models/libero_bc.py``) on the ``libero_object_demos``
recipe: the scripted oracle's successful rollouts (perturbation level 0) from initial states 10..29 of
the 10 libero_object tasks; the suites' trials 0..9 are never seen.

Every step t of a successful episode is a sample: the agentview frame (128² → 64² by the suite's own
``adapt_images``, as the suite adapts its 256² renders), the 8-D state, the task and the next ``chunk``
actions (past the end the last action repeats). Augmentation: a random shift of up to 4 pixels
(replicate padding, DrQ). The episodes of initial states 28 and 29 are held out: their chunk L1 is
reported next to the median-action chunk's. Checkpoints at ``SNAPSHOTS`` steps go to
``$LAWM_EVAL_CACHE/checkpoints/libero_bc/`` (``snapshot_path``): the less-trained members of the LIBERO
policy population (``model=libero_bc model.checkpoint=...``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.libero_bc import LiberoBC
from lawm_eval.models.train.artifacts import baseline_dir, save_curve, save_golden
from lawm_eval.models.train.loop import train

NAME = "libero_bc"
DATASET = "libero_object_demos"
CONFIG = {"chunk": 8, "keypoints": 32, "hidden": 512, "image_size": 64}
HELD_OUT_INITS = (28, 29)
BATCH = 64
SHIFT = 4  # pixels of random shift
SNAPSHOTS = (500, 1500, 4000)  # training steps whose checkpoints are kept for the policy population


def snapshot_path(step: int) -> Path:
    from lawm_eval.paths import cache_dir

    return cache_dir() / "checkpoints" / NAME / f"step_{step:05d}.pt"


@dataclass
class DemoEpisode:
    frames: np.ndarray  # (T+1, S, S, 3) uint8
    actions: np.ndarray  # (T+1, 7); the last row is padding
    states: np.ndarray  # (T+1, 8)
    task: str
    meta: dict


def load_demos(root: Path, size: int) -> list[DemoEpisode]:
    """Every episode of every task folder under ``root`` (the libero_rollouts layout), frames at ``size``²."""
    from lawm_eval.data.formats import open_dataset
    from lawm_eval.inputs import adapt_images

    return [DemoEpisode(adapt_images(episode.frames, (size, size), "center_crop"), np.asarray(episode.actions, np.float32),
                        np.asarray(episode.states, np.float32), episode.task, dict(episode.meta))
            for episode in open_dataset(root)]


@dataclass
class ChunkSamples:
    frames: torch.Tensor  # (N, 3, S, S) uint8
    states: torch.Tensor  # (N, 8)
    tasks: torch.Tensor  # (N,)
    chunks: torch.Tensor  # (N, chunk, 7)

    def batch(self, size: int, generator: torch.Generator, shift: int = 0):
        idx = torch.randint(0, len(self.states), (size,), generator=generator)
        frames = self.frames[idx].float() / 255.0
        if shift:
            frames = random_shift(frames, shift, generator)
        return frames, self.tasks[idx], self.states[idx], self.chunks[idx]


def random_shift(frames: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """(B, 3, H, W) → the same frames translated by up to ``shift`` pixels each (replicate padding)."""
    b, _, h, w = frames.shape
    padded = F.pad(frames, (shift,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * shift + 1, (b, 2), generator=generator)
    return torch.stack([padded[i, :, y:y + h, x:x + w] for i, (y, x) in enumerate(offsets.tolist())])


def chunk_samples(episodes: list[DemoEpisode], tasks: list[str], chunk: int) -> ChunkSamples:
    index = {task: i for i, task in enumerate(tasks)}
    frames, states, task_ids, chunks = [], [], [], []
    for ep in episodes:
        actions = ep.actions[:-1]  # (T, 7)
        padded = np.concatenate([actions, np.repeat(actions[-1:], chunk, axis=0)])
        for t in range(len(actions)):
            frames.append(ep.frames[t])
            states.append(ep.states[t])
            task_ids.append(index[ep.task])
            chunks.append(padded[t:t + chunk])
    return ChunkSamples(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous(),
                        torch.from_numpy(np.stack(states)), torch.tensor(task_ids),
                        torch.from_numpy(np.stack(chunks)))


def split(episodes: list[DemoEpisode]) -> tuple[list[DemoEpisode], list[DemoEpisode]]:
    """(training, held out): successful episodes, by initial state."""
    good = [ep for ep in episodes if ep.meta.get("success")]
    return ([ep for ep in good if ep.meta["init_state"] not in HELD_OUT_INITS],
            [ep for ep in good if ep.meta["init_state"] in HELD_OUT_INITS])


def fit_statistics(policy: LiberoBC, data: ChunkSamples) -> None:
    policy.state_mean.copy_(data.states.mean(0))
    policy.state_std.copy_(data.states.std(0).clamp(min=1e-3))
    actions = data.chunks[:, 0]
    policy.action_mean.copy_(actions.mean(0))
    policy.action_std.copy_(actions.std(0).clamp(min=1e-3))


def bc_loss(policy: LiberoBC, data: ChunkSamples, generator: torch.Generator):
    frames, tasks, states, chunks = data.batch(BATCH, generator, SHIFT)
    return policy.loss(frames, tasks, states, chunks), {}


@torch.no_grad()
def chunk_errors(policy: LiberoBC, held: ChunkSamples, median: torch.Tensor) -> dict[str, float]:
    """Mean |error| in action units over the held-out chunks: the policy's and the median action's."""
    predicted = torch.cat([policy.actions(held.frames[i:i + 256].float() / 255.0, held.tasks[i:i + 256],
                                          held.states[i:i + 256]) for i in range(0, len(held.states), 256)])
    return {"held_out_chunk_l1": float((predicted - held.chunks).abs().mean()),
            "median_action_chunk_l1": float((median - held.chunks).abs().mean()),
            "held_out_gripper_sign_agreement": float((predicted[..., 6].sign() == held.chunks[..., 6].sign())
                                                     .float().mean())}


def golden_input(size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed stand-in observation (no dataset, no simulator): a seeded noise frame (1, 3, size, size)
    and the state of the gripper above the table, open (1, 8)."""
    frame = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(7))
    state = torch.tensor([[-0.2, 0.0, 1.17, 3.14, 0.0, 0.0, 0.04, -0.04]])
    return frame, state


@torch.no_grad()
def bc_golden(policy: LiberoBC) -> dict:
    """The chunk predicted for ``golden_input()`` and the first task."""
    frame, state = golden_input(policy.image_size)
    action = policy.actions(frame, torch.tensor([0]), state)
    return {"first_chunk": action[0].tolist(), "task": policy.tasks[0], "dataset": DATASET}


def main(steps: int = 6000) -> dict:
    from lawm_eval.data.recipes import ensure_dataset

    episodes = load_demos(ensure_dataset(DATASET), CONFIG["image_size"])
    tasks = sorted({ep.task for ep in episodes})
    train_eps, held_eps = split(episodes)
    data = chunk_samples(train_eps, tasks, CONFIG["chunk"])
    held = chunk_samples(held_eps, tasks, CONFIG["chunk"])
    torch.manual_seed(0)
    policy = LiberoBC(tasks, **CONFIG)
    fit_statistics(policy, data)
    config = {**CONFIG, "tasks": tasks}

    def snapshot(step: int) -> None:
        if step in SNAPSHOTS and step < steps:
            save_model(snapshot_path(step), NAME, policy, config, {"step": step})

    curve = train(policy.parameters(), partial(bc_loss, policy, data), steps, lr=1e-3, seed=1, log_every=50,
                  weight_decay=1e-4, on_step=snapshot)
    policy.eval()
    median = data.chunks[:, 0].median(0).values
    metrics = {**chunk_errors(policy, held, median), "training_samples": len(data.states),
               "training_episodes": len(train_eps), "held_out_episodes": len(held_eps),
               "episodes_recorded": len(episodes), "steps": steps}
    save_model(baseline_dir(NAME) / "model.pt", NAME, policy, config, {"metrics": metrics, "step": steps})
    save_curve(NAME, {"behaviour cloning": curve})
    save_golden(NAME, bc_golden(policy))
    (baseline_dir(NAME) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
