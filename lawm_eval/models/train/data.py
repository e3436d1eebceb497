"""The training data: generated datasets (cached), their frames encoded by the frozen visual
autoencoder, split into training and held-out episodes, and sampled as transition batches."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lawm_eval.data.recipes import RECIPES, TRAINING, ensure_dataset
from lawm_eval.paths import cache_dir


@dataclass
class EpisodeArrays:
    frames: list[np.ndarray]  # per episode (T,64,64,3) uint8
    actions: list[np.ndarray]  # per episode (T,A)
    states: list[np.ndarray]  # per episode (T,S)
    tasks: list[str]


def load_arrays(name: str) -> EpisodeArrays:
    from lawm_eval.data.formats import open_dataset

    dataset = open_dataset(ensure_dataset(name))
    episodes = list(dataset)
    return EpisodeArrays([e.frames for e in episodes], [e.actions for e in episodes],
                         [e.states for e in episodes], [e.task for e in episodes])


@dataclass
class Transitions:
    """Consecutive-frame windows of encoded episodes: x (N,W+1,16,32), a (N,W,A), s (N,W+1,S)."""

    x: torch.Tensor
    a: torch.Tensor
    s: torch.Tensor
    task: torch.Tensor  # (N,) task index
    embodiment: str
    start: torch.Tensor | None = None  # (N,) the window's first recorded step in its episode

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        idx = torch.randint(0, len(self), (size,), generator=generator)
        return self.x[idx], self.a[idx], self.s[idx], self.task[idx]



def some_episodes(data: Transitions, count: int, skip: int = 0) -> Transitions:
    """The windows of ``count`` episodes of ``data`` after the first ``skip`` (a window starting at step 0
    opens an episode)."""
    episode = torch.cumsum(data.start == 0, 0) - 1
    keep = (episode >= skip) & (episode < skip + count)
    return Transitions(data.x[keep], data.a[keep], data.s[keep], data.task[keep], data.embodiment, data.start[keep])

@torch.no_grad()
def encode_frames(autoencoder, frames: np.ndarray, batch: int = 256) -> torch.Tensor:
    """(T,64,64,3) uint8 → (T,16,32) tokens."""
    out = []
    tensor = torch.from_numpy(frames)
    for i in range(0, len(tensor), batch):
        out.append(autoencoder.encode(tensor[i : i + batch][None])[0])
    return torch.cat(out)


def weights_fingerprint(module: torch.nn.Module) -> str:
    """12 hex digits of a SHA-256 over the module's weights: which autoencoder encoded a token cache."""
    digest = hashlib.sha256()
    for key, tensor in sorted(module.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def token_cache(name: str, autoencoder_name: str = "", fingerprint: str = "") -> Path:
    """The recipe's frames encoded by an autoencoder: by the one its models read, or by ``autoencoder_name``
    when given; ``fingerprint`` (its weights') keeps another checkout's or a retrained autoencoder's tokens
    apart, since every checkout shares the cache."""
    tag = f"_{autoencoder_name}" if autoencoder_name else ""
    weights = f"_{fingerprint}" if fingerprint else ""
    return cache_dir() / "data" / f"{RECIPES[name]['folder']}{tag}{weights}_tokens.pt"


def drop_token_cache(name: str, autoencoder_name: str = "") -> None:
    """Delete the recipe's cached tokens of every autoencoder fingerprint (``autoencoder_name``: of that one)."""
    pattern = token_cache(name, autoencoder_name, "*").name
    for path in token_cache(name, autoencoder_name).parent.glob(pattern):
        path.unlink(missing_ok=True)


def transitions(name: str, autoencoder, window: int = 1, split: str = "train", stride: int = 1,
                autoencoder_name: str = "") -> Transitions:
    """All windows of ``window`` transitions from the training (or held-out) episodes. With ``stride``
    s > 1 a transition spans s recorded steps: frames s apart, and the s actions between them
    concatenated, (W, s·A) (LAC-WM's 5-step action chunks)."""
    recipe = RECIPES[name]
    cache = token_cache(name, autoencoder_name, weights_fingerprint(autoencoder))
    if cache.exists():
        encoded = torch.load(cache, weights_only=True)
    else:
        arrays = load_arrays(name)
        encoded = {
            "x": [encode_frames(autoencoder, f) for f in arrays.frames],
            "a": [torch.from_numpy(a).float() for a in arrays.actions],
            "s": [torch.from_numpy(s).float() for s in arrays.states],
            "task": [sorted(set(arrays.tasks)).index(t) for t in arrays.tasks],
        }
        torch.save(encoded, cache)
    n_episodes = len(encoded["x"])
    held = recipe["held_out"]
    episodes = range(n_episodes - held) if split == "train" else range(n_episodes - held, n_episodes)
    return windows([encoded["x"][e] for e in episodes], [encoded["a"][e] for e in episodes],
                   [encoded["s"][e] for e in episodes], [encoded["task"][e] for e in episodes], name, window, stride)


def windows(xs: list[torch.Tensor], actions: list[torch.Tensor], states: list[torch.Tensor], tasks: list[int],
            name: str, window: int = 1, stride: int = 1) -> Transitions:
    """Every window of ``window`` transitions of ``stride`` recorded steps in each encoded episode:
    tokens (T,16,32), actions (≥T-1,A), states (T,S) and its task index per episode."""
    out_x, out_a, out_s, out_task, starts = [], [], [], [], []
    span = window * stride
    for x, a, s, task in zip(xs, actions, states, tasks):
        for t in range(len(x) - span):
            out_x.append(x[t : t + span + 1 : stride])
            out_a.append(a[t : t + span].reshape(window, stride * a.shape[-1]))
            out_s.append(s[t : t + span + 1 : stride])
            out_task.append(task)
            starts.append(t)
    return Transitions(torch.stack(out_x), torch.stack(out_a), torch.stack(out_s), torch.tensor(out_task), name,
                       torch.tensor(starts))


def clear_token_cache() -> None:
    """Encoded tokens depend on the autoencoder: drop them when it is retrained."""
    for name in TRAINING:
        drop_token_cache(name)
