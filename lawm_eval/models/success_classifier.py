"""VP²'s task-success classifier ("cost classifier") and its training.

Architecture as ``ConvPredictor(num_linear_layers=1)`` (vp2/util/conv_predictor.py:2-55, s-tian/vp2
b0eb69d): conv 3→32 (3×3, pad 1), three residual blocks x + conv(relu(conv(x))) each followed by a
ReLU, conv 32→3, flatten (3·64·64 = 12288), linear 12288→1024, ReLU, linear 1024→1. Input: 64×64
RGB floats in [0, 1], no normalisation; output: one logit. Training as
vp2/scripts/train_task_success_classifier.py: BCE with logits (l.60-61), Adam lr 1e-3 (l.136),
gradient norm clipped to 1 (l.184). We train one per task on frames our generator renders, labelled
by the task's success predicate (VP² thresholds a stored reward, whose source is not in its code).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lawm_eval.errors import CheckpointError
from lawm_eval.paths import cache_dir

IMAGE_SIZE = 64
CHUNK = 1024  # frames per forward pass, vp2/mpc/objectives.py ClassifierReward max_batch_size


class ResidualBlock(nn.Module):
    def __init__(self, channels: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(torch.relu(self.conv1(x)))


class ConvPredictor(nn.Module):
    """(B, 3, 64, 64) float in [0, 1] -> (B,) success logits."""

    def __init__(self) -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Conv2d(3, 32, 3, 1, 1)]
        for _ in range(3):
            blocks += [ResidualBlock(32), nn.ReLU()]
        blocks += [nn.Conv2d(32, 3, 3, 1, 1), nn.Flatten(), nn.Linear(3 * IMAGE_SIZE * IMAGE_SIZE, 1024), nn.ReLU(),
                   nn.Linear(1024, 1)]
        self.net = nn.Sequential(*blocks)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).squeeze(-1)

    @torch.no_grad()
    def logits(self, frames: torch.Tensor) -> torch.Tensor:
        """(..., 3, 64, 64) floats in [0, 1] -> (...) logits, in chunks of ``CHUNK`` frames (channels-last
        memory: ≈1.5× faster convolutions on a CPU, the same values to 1e−7)."""
        lead = frames.shape[:-3]
        flat = frames.reshape(-1, *frames.shape[-3:])
        chunks = [self(flat[i : i + CHUNK].contiguous(memory_format=torch.channels_last))
                  for i in range(0, len(flat), CHUNK)]
        out = torch.cat(chunks) if chunks else flat.new_zeros(0)
        return out.reshape(lead)


def classifier_dir() -> Path:
    return cache_dir() / "vp2_classifiers"


def classifier_path(task: str) -> Path:
    return classifier_dir() / f"{task}.pt"


BUILD_COMMAND = "python -m lawm_eval.data.generate.robodesk classifiers"


def load_classifier(task: str, path: str | Path | None = None) -> ConvPredictor:
    """The trained classifier of ``task`` (``weights_only`` load), or one line naming the command that builds it."""
    file = Path(path) if path else classifier_path(task)
    if not file.is_file():
        raise CheckpointError(f"no success classifier for RoboDesk task '{task}' at {file}: run "
                              f"'{BUILD_COMMAND} --tasks {task}'")
    try:
        payload = torch.load(file, map_location="cpu", weights_only=True)
        model = ConvPredictor()
        model.load_state_dict(payload["state_dict"])
        model = model.to(memory_format=torch.channels_last)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one line
        raise CheckpointError(f"success classifier {file} cannot be loaded ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    return model.eval()


@dataclass
class ClassifierReport:
    precision: float
    recall: float
    accuracy: float
    held_out: int
    positives: int

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def to_input(frames: np.ndarray) -> torch.Tensor:
    """(N, 64, 64, 3) uint8 -> (N, 3, 64, 64) float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0


def evaluate(model: ConvPredictor, frames: np.ndarray, labels: np.ndarray) -> ClassifierReport:
    predicted = (model.logits(to_input(frames)) > 0).numpy()
    truth = labels.astype(bool)
    tp = int((predicted & truth).sum())
    precision = tp / max(int(predicted.sum()), 1)
    recall = tp / max(int(truth.sum()), 1)
    return ClassifierReport(precision, recall, float((predicted == truth).mean()), len(truth), int(truth.sum()))


def train_classifier(frames: np.ndarray, labels: np.ndarray, held_out: np.ndarray, *, epochs: int = 10,
                     steps_per_epoch: int = 60, batch_size: int = 64, seed: int = 0) -> tuple[ConvPredictor, ClassifierReport]:
    """Train on ``frames[~held_out]`` (N, 64, 64, 3) uint8 with 0/1 ``labels``; report precision and
    recall on ``frames[held_out]``. Batches are balanced between the two classes (successes are rare)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = ConvPredictor()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    train = np.flatnonzero(~held_out)
    groups = [train[labels[train] == 0], train[labels[train] == 1]]
    groups = [g for g in groups if len(g)]
    model.train()
    for _ in range(epochs):
        for _ in range(steps_per_epoch):
            picks = np.concatenate([rng.choice(g, batch_size // len(groups)) for g in groups])
            images = to_input(frames[picks])
            target = torch.from_numpy(labels[picks].astype(np.float32))
            loss = loss_fn(model(images), target)
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
    model.eval()
    return model, evaluate(model, frames[held_out], labels[held_out])


def save_classifier(model: ConvPredictor, path: Path, report: ClassifierReport, provenance: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "report": report.to_dict(), "provenance": provenance}, path)
