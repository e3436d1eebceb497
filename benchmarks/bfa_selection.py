"""What a bfa_selection episode costs on this machine, piece by piece.

    python benchmarks/bfa_selection.py

- the scene: one 20 Hz control step (IK + 25 physics steps of 2 ms) and one 64×64 head-camera render;
- the VLA: N = 500 candidates of 100 actions (10 Euler steps) from one observation;
- the world model (the bundled lac_wm_bfa): 500 candidates × 20 predicted steps from one frame, as the
  suite runs it (one batched call per step, ``FinalEmbeddingDistance``) beside the loop a selection script
  usually writes first (each candidate rolled out on its own);
- one whole episode at the protocol's sizes (N 500, p 100, k 3) and where its time goes (the records'
  ``info.seconds``), the demonstration taken from the cache as in every run after the first.
Writes the ``bfa_selection`` section of docs/performance.md.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from perf_doc import median, write_section  # noqa: E402


def scene() -> dict:
    import numpy as np

    from lawm_eval.envs.bfa_env import BFAEnv
    from lawm_eval.envs.bfa_objects import find
    from lawm_eval.envs.bfa_scripted import ScriptedPickPlace

    env = BFAEnv(find("can_1.0"))
    env.reset(0)
    policy = ScriptedPickPlace(env, np.random.default_rng(0))
    steps, renders = [], []
    for t in range(60):
        tic = time.perf_counter()
        env.step(policy(t), render=False)
        steps.append(time.perf_counter() - tic)
        tic = time.perf_counter()
        env.render()
        renders.append(time.perf_counter() - tic)
    env.close()
    return {"step": median(steps), "render": median(renders)}


def models() -> dict:
    import numpy as np
    import torch

    from lawm_eval.models.zoo import build_bundled
    from lawm_eval.planners.selection import FinalEmbeddingDistance

    vla, wm = build_bundled("vla_bfa"), build_bundled("lac_wm_bfa")
    obs = {"image": np.zeros((64, 64, 3), np.uint8), "state": np.zeros(25, np.float32), "task": "pick up the can"}
    generator = torch.Generator().manual_seed(0)
    sampling = []
    for _ in range(3):
        tic = time.perf_counter()
        candidates = torch.as_tensor(vla.sampler.sample(obs, 500, generator))
        sampling.append(time.perf_counter() - tic)
    frame = torch.zeros(1, 1, 3, 64, 64, dtype=torch.uint8)
    context = wm.encoder.encode(frame)
    objective = FinalEmbeddingDistance(wm.world_model, wm.controller, context, context[:, 0], 5)
    batched = []
    for _ in range(3):
        tic = time.perf_counter()
        objective(candidates)
        batched.append(time.perf_counter() - tic)
    tic = time.perf_counter()
    looped = torch.stack([objective(candidates[i:i + 1])[0] for i in range(50)])
    one_by_one = (time.perf_counter() - tic) * 10  # 50 of the 500, scaled
    assert torch.allclose(looped, objective(candidates[:50]), atol=1e-4)  # the same numbers either way
    return {"sampling": median(sampling), "batched": median(batched), "looped": one_by_one}


def episode() -> dict:
    from lawm_eval.config import compose_config
    from lawm_eval.runner.run import run_evaluation

    with tempfile.TemporaryDirectory() as out:
        overrides = ["suite=bfa_selection", "model=lac_wm_bfa", "suite.episodes_per_split=1", "suite.seeds=[0]",
                     "suite.splits=[unseen_categories]", f"results_dir={out}", "run_id=bench"]
        run_evaluation(compose_config(overrides))  # fills the demonstration cache
        tic = time.perf_counter()
        result = run_evaluation(compose_config([*overrides[:-1], "run_id=bench_again"]))
        wall = time.perf_counter() - tic
    return {"wall": wall, **result.results.records[0].info["seconds"]}


def main() -> None:
    import torch

    torch.set_num_threads(1)
    s, m, e = scene(), models(), episode()
    body = f"""## bfa_selection: what one episode costs (`python benchmarks/bfa_selection.py`)

| piece | cost |
|---|---|
| one control step of the scene (IK, 25 × 2 ms physics), no render | {s['step'] * 1000:.1f} ms |
| one 64×64 head-camera render (llvmpipe) | {s['render'] * 1000:.1f} ms |
| `vla_bfa`: 500 candidates of 100 actions from one observation | {m['sampling']:.2f} s |
| `lac_wm_bfa`: 500 candidates × 20 chunk steps, one batched call per step (the suite) | {m['batched']:.2f} s |
| the same, each candidate rolled out on its own (50 timed, × 10) | {m['looped']:.1f} s |

One episode at the protocol's sizes (N 500, p 100, k 3; 3 subgoals, 300 executed steps; the
demonstration from the cache): {e['wall']:.1f} s of wall time, of which the world model {e['world_model']:.1f} s,
VLA sampling {e['sampling']:.1f} s, simulation {e['simulation']:.1f} s, rendering {e['rendering']:.2f} s and
the cached demonstration {e['demonstration']:.2f} s (a first run renders it: ≈ 1.2 s per placement tried).
Batching the 500 candidates makes the world model {m['looped'] / m['batched']:.0f}× faster than rolling them
out one by one (torch {torch.__version__}, 1 thread).
"""
    write_section("bfa_selection", body)
    print(body)


if __name__ == "__main__":
    main()
