"""The success judge of imagined LIBERO episodes: one frame (the agentview, 64²) and the task → the
logit that the task's BDDL goal holds in it. Trained by ``lawm_eval.models.train.libero_judge`` on
simulator frames labelled by the goal predicate, so its precision and recall against the simulator
can be measured (a VLM judge's cannot).

The frame goes through the LIBERO policy's keypoint CNN (``KeypointEncoder``: where things are
survives the pooling), the task through a learned embedding; an MLP gives the logit. An episode is
judged successful when any of its frames scores above ``threshold`` (a probability)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from lawm_eval.errors import ModelError
from lawm_eval.models.blocks import MLP
from lawm_eval.models.libero_bc import KeypointEncoder

Tensor = torch.Tensor


class LiberoJudge(nn.Module):
    def __init__(self, tasks: Sequence[str], keypoints: int = 32, hidden: int = 256, threshold: float = 0.5):
        super().__init__()
        self.tasks = list(tasks)
        self.index = {task: i for i, task in enumerate(self.tasks)}
        self.threshold = threshold
        self.frames = KeypointEncoder(keypoints)
        self.task_embedding = nn.Embedding(len(self.tasks), 32)
        self.head = MLP(self.frames.out_dim + 32, hidden, 1)

    def task_ids(self, instructions: Sequence[str]) -> Tensor:
        unknown = sorted({t for t in instructions if t not in self.index})
        if unknown:
            raise ModelError(f"the LIBERO judge was trained on {len(self.tasks)} tasks and not on '{unknown[0]}'")
        return torch.tensor([self.index[t] for t in instructions])

    def forward(self, frames: Tensor, task_ids: Tensor) -> Tensor:
        """(B, 3, 64, 64) float in [0, 1], (B,) → (B,) logits."""
        return self.head(torch.cat([self.frames(frames), self.task_embedding(task_ids)], dim=-1)).squeeze(-1)

    @torch.no_grad()
    def probabilities(self, frames: np.ndarray, instructions: Sequence[str], batch: int = 512) -> np.ndarray:
        """(N, 64, 64, 3) uint8 frames with their N task instructions → (N,) probabilities of success."""
        ids = self.task_ids(instructions)
        tensor = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
        out = [torch.sigmoid(self(tensor[i:i + batch].float() / 255.0, ids[i:i + batch]))
               for i in range(0, len(tensor), batch)]
        return torch.cat(out).numpy() if out else np.zeros(0, np.float32)

    def judge_episode(self, frames: np.ndarray, instruction: str) -> tuple[bool, int | None]:
        """(T, 64, 64, 3) frames of one episode → (success, the first frame judged successful)."""
        hits = np.flatnonzero(self.probabilities(frames, [instruction] * len(frames)) > self.threshold)
        return (True, int(hits[0])) if len(hits) else (False, None)


def load_judge(path: str | None = None) -> LiberoJudge:
    """The trained judge (``baselines/libero_judge/model.pt``, ``weights_only``), or one line naming the
    command that trains it."""
    from pathlib import Path

    from lawm_eval.errors import CheckpointError
    from lawm_eval.models.checkpoint import load_model
    from lawm_eval.paths import data_dir

    file = Path(path) if path else data_dir("baselines") / "libero_judge" / "model.pt"
    if not file.is_file():
        raise CheckpointError(f"no LIBERO success judge at {file} (python -m lawm_eval.models.train libero_judge)")
    judge, _ = load_model(file, "libero_judge", LiberoJudge)
    return judge
