"""A model is a bundle of the parts it has (encoder, IDM, world model, controller, decoder, policy).

Suites state which parts they need; ``ModelBundle.require`` fails early with a clear message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lawm_eval.errors import CheckpointError, ModelError
from lawm_eval.interfaces import MODEL_PARTS

PART_METHODS = {
    "encoder": "encode",
    "lam": "infer",
    "world_model": "rollout",
    "controller": "to_latent",
    "decoder": "decode",
    "policy": "act",
    "sampler": "sample",
}


@dataclass
class ModelBundle:
    """The parts of one model. Any part may be None; one object may fill several parts."""

    model_id: str
    encoder: Any = None
    lam: Any = None
    world_model: Any = None
    controller: Any = None
    decoder: Any = None
    policy: Any = None
    sampler: Any = None
    checkpoint: str | None = None
    checkpoint_sha256: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def parts(self) -> list[str]:
        return [name for name in MODEL_PARTS if getattr(self, name) is not None]

    def require(self, parts: list[str] | tuple[str, ...], suite: str) -> None:
        """Raise ModelError unless every named part is present and has the right methods."""
        missing = [p for p in parts if getattr(self, p, None) is None]
        if missing:
            have = ", ".join(self.parts()) or "no parts"
            raise ModelError(
                f"suite '{suite}' needs {', '.join(missing)} but model '{self.model_id}' provides {have}"
            )
        for part in parts:
            protocol = MODEL_PARTS[part]
            if not isinstance(getattr(self, part), protocol):
                raise ModelError(
                    f"model '{self.model_id}': its {part} does not implement {protocol.__name__} "
                    f"(see lawm_eval/interfaces.py)"
                )


def as_bundle(obj: Any, model_id: str) -> ModelBundle:
    """Wrap whatever a model factory returned: a ModelBundle, a dict of parts, or one object
    whose methods (encode, infer, rollout+step, to_latent, decode, act, sample) fill the parts."""
    if isinstance(obj, ModelBundle):
        return obj
    if isinstance(obj, dict):
        unknown = set(obj) - set(MODEL_PARTS) - {"checkpoint", "checkpoint_sha256", "info"}
        if unknown:
            raise ModelError(f"model '{model_id}' returned unknown parts: {', '.join(sorted(unknown))}")
        return ModelBundle(model_id=model_id, **obj)
    found = {part: obj for part, protocol in MODEL_PARTS.items() if isinstance(obj, protocol)}
    if not found:
        raise ModelError(
            f"model '{model_id}' returned a {type(obj).__name__} with none of the interface methods "
            f"({', '.join(sorted(set(PART_METHODS.values())))})"
        )
    return ModelBundle(model_id=model_id, **found)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; any failure is one clear CheckpointError."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - every reason a file cannot be read is the user's to fix
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"cannot load checkpoint {path}: {reason}") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(state).__name__}, expected a dict")
    return state
