"""Seeds that depend only on what an episode is, never on where or when it runs."""

from __future__ import annotations

import hashlib
import random

import numpy as np


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from the parts' text (stable across processes, unlike hash())."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch's global generators (for models that use them)."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    # torch.manual_seed would also queue a lazy CUDA seeding call (with a stack trace) every time
    torch.default_generator.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
