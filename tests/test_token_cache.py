"""The training data's token cache is keyed by the encoding autoencoder's weights: every checkout shares the cache,
so tokens another checkout's (or a retrained) autoencoder wrote must never be read as this one's."""

from __future__ import annotations

import numpy as np
import torch

from lawm_eval.models.train import data
from lawm_eval.models.visual import VisualAutoencoder


def episodes(n: int = 11) -> data.EpisodeArrays:
    """``n`` two-frame episodes (the franka recipe holds out its last 10)."""
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8) for _ in range(n)]
    return data.EpisodeArrays(frames, [np.zeros((1, 7), np.float32)] * n, [np.zeros((2, 3), np.float32)] * n,
                              ["lift"] * n)


def test_tokens_are_cached_per_autoencoder_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("LAWM_EVAL_CACHE", str(tmp_path))
    (tmp_path / "data").mkdir()
    loads = []
    monkeypatch.setattr(data, "load_arrays", lambda name: loads.append(name) or episodes())
    torch.manual_seed(0)
    first, second = VisualAutoencoder(width=8).eval(), VisualAutoencoder(width=8).eval()  # other weights
    assert data.weights_fingerprint(first) != data.weights_fingerprint(second)
    copy = VisualAutoencoder(width=8).eval()
    copy.load_state_dict(first.state_dict())
    assert data.weights_fingerprint(copy) == data.weights_fingerprint(first)  # the weights decide, not the object
    a = data.transitions("franka", first)
    b = data.transitions("franka", second)
    assert len(loads) == 2 and not torch.allclose(a.x, b.x)  # the second autoencoder encodes afresh
    again = data.transitions("franka", first)
    assert len(loads) == 2 and torch.equal(again.x, a.x)  # its own tokens, from the cache
    cached = sorted(p.name for p in (tmp_path / "data").glob("*_tokens.pt"))
    assert cached == sorted(f"franka_v2_{data.weights_fingerprint(m)}_tokens.pt" for m in (first, second))
    data.clear_token_cache()
    assert not list((tmp_path / "data").glob("*_tokens.pt"))
