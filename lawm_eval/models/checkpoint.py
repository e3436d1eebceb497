"""Bundled checkpoints: one file with the method name, its constructor config and the weights,
loadable with ``torch.load(..., weights_only=True)`` (tensors and plain Python values only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from lawm_eval.bundle import load_checkpoint
from lawm_eval.errors import CheckpointError, first_line

FORMAT = "lawm-eval-checkpoint/1"


def save_model(path: str | Path, method: str, module: nn.Module, config: dict[str, Any],
               extra: dict[str, Any] | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}
    payload = {"format": FORMAT, "method": method, "config": config, "state_dict": state, "extra": extra or {}}
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_model(path: str | Path, method: str, build: Any) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild ``build(**config)`` and load the weights strictly; returns (module, extra)."""
    payload = load_checkpoint(path)
    if payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a lawm-eval checkpoint (format {payload.get('format')!r})")
    if payload.get("method") != method:
        raise CheckpointError(f"{path} holds a '{payload.get('method')}' model, not '{method}'")
    module = build(**payload["config"])
    try:
        module.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path} does not fit the '{method}' model: {first_line(exc)}") from None
    return module.eval(), payload.get("extra", {})
