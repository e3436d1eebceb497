"""A plain, deterministic training loop: Adam, fixed steps, seeded batches, a loss curve."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable

import torch

LossFn = Callable[[torch.Generator], tuple[torch.Tensor, dict[str, float]]]


def train(params: Iterable[torch.nn.Parameter], loss_fn: LossFn, steps: int, lr: float = 1e-3, seed: int = 0,
          log_every: int = 25, on_step: Callable[[int], None] | None = None,
          weight_decay: float = 0.0) -> list[dict[str, float]]:
    """Minimise ``loss_fn(generator)`` for ``steps`` Adam steps (cosine-decayed learning rate).
    Returns the curve: one dict of logged values every ``log_every`` steps."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    params = [p for p in params if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    curve, running = [], {}
    for step in range(1, steps + 1):
        loss, logs = loss_fn(generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        if on_step is not None:
            on_step(step)
        for key, value in {"loss": loss.item(), **logs}.items():
            running[key] = running.get(key, 0.0) + value
        if step % log_every == 0 or step == steps:
            count = log_every if step % log_every == 0 else step % log_every
            curve.append({"step": step, **{k: v / count for k, v in running.items()}})
            running = {}
    return curve


def step_count(text: str) -> int:
    """An argparse type for a training script's step counts: a whole number of steps, 1 or more."""
    try:
        steps = int(text)
    except ValueError:
        steps = 0
    if steps < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a number of steps (1 or more)")
    return steps
