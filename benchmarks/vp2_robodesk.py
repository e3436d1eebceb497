"""What a vp2_robodesk episode costs on this machine, piece by piece, beside RoboDesk used directly.

    python benchmarks/vp2_robodesk.py

- one environment step (50 repeats of IK + 10 physics steps), without rendering: RoboDesk called
  directly in its own environment (what a VP² checkout does) vs through lawm-eval's process boundary;
- one 64×64 render (RoboDesk's 120 px free camera, crop, LANCZOS), the same two ways;
- one plan's cost terms: VP²'s classifier on the 11 predicted frames of 200 and 800 candidates;
- one privileged plan (the simulator plays every candidate) for the CEM budget the docs use.
Writes the ``vp2_robodesk`` section of docs/performance.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from perf_doc import median, write_section  # noqa: E402

DIRECT = r"""
import json, os, time
os.environ.setdefault("MUJOCO_GL", "egl")
import numpy as np, robodesk
env = robodesk.RoboDesk(task="push_red", reward="dense", action_repeat=50, episode_length=0, image_size=64)
env._get_obs = lambda: None
np.random.seed(0); env.reset()
rng = np.random.default_rng(0)
steps, renders = [], []
for _ in range(12):
    t = time.perf_counter(); env.step(rng.uniform(-1, 1, 5)); steps.append(time.perf_counter() - t)
    t = time.perf_counter(); env.render(); renders.append(time.perf_counter() - t)
print(json.dumps({"step": sorted(steps)[6], "render": sorted(renders)[6]}))
"""


def direct() -> dict:
    from lawm_eval.envs.environments import get_environment

    python = get_environment("robodesk").require()
    out = subprocess.run([str(python), "-c", DIRECT], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def boundary() -> dict:
    import numpy as np

    from lawm_eval.data.generate.robodesk import start_process

    rng = np.random.default_rng(0)
    steps, renders = [], []
    with start_process() as process:
        process.call("open", task="push_red")
        process.call("reset_random", seed=0)
        for _ in range(12):
            tic = time.perf_counter()
            process.call("step", action=rng.uniform(-1, 1, 5).tolist(), render=False)
            steps.append(time.perf_counter() - tic)
            tic = time.perf_counter()
            process.call("render")
            renders.append(time.perf_counter() - tic)
        goal = process.call("get_state")
        tic = time.perf_counter()
        process.call("rollout_costs", actions=rng.uniform(-1, 1, (16, 3, 5)), goal=goal)
        privileged = time.perf_counter() - tic
    return {"step": median(steps), "render": median(renders), "privileged_plan_16x3": privileged}


def classifier_cost() -> dict:
    import torch

    from lawm_eval.models.success_classifier import ConvPredictor

    model = ConvPredictor().eval()
    out = {}
    for n in (200, 800):
        frames = torch.rand(n, 11, 3, 64, 64)
        model.logits(frames[:2])
        tic = time.perf_counter()
        model.logits(frames)
        out[n] = time.perf_counter() - tic
    return out


def main() -> None:
    import torch

    d, b, c = direct(), boundary(), classifier_cost()
    cem_iterations = 2
    body = f"""## vp2_robodesk: what one episode costs (`python benchmarks/vp2_robodesk.py`)

| piece | RoboDesk directly (its own environment) | through lawm-eval's process boundary |
|---|---|---|
| one step (50 × IK + 10 physics steps), no render | {d['step'] * 1000:.1f} ms | {b['step'] * 1000:.1f} ms |
| one 64×64 render (120 px, 4096² shadow map, llvmpipe) | {d['render'] * 1000:.0f} ms | {b['render'] * 1000:.0f} ms |

| per plan | seconds |
|---|---|
| VP²'s classifier on 11 frames × 200 candidates (torch {torch.__version__}, {torch.get_num_threads()} threads) | {c[200]:.1f} |
| the same × 800 candidates (open_slide, open_drawer) | {c[800]:.1f} |
| privileged plan: 16 candidates × 3 steps played in the simulator, one CEM iteration | {b['privileged_plan_16x3']:.1f} (× {cem_iterations} iterations per plan) |

A model-based episode makes 14 plans and 16 renders: at the protocol's 200 candidates the classifier
alone costs ≈ {14 * c[200] / 60:.1f} min per episode here ({14 * c[800] / 60:.1f} min at 800), before the
model's own 2 200 (8 800) predicted frames; a GPU removes most of it. The boundary adds
{(b['step'] - d['step']) * 1000:+.1f} ms per step ({(b['step'] / d['step'] - 1) * 100:+.0f} %), the
JSON + raw-buffer messages of `lawm_eval/envs/wire.py`.
"""
    write_section("vp2_robodesk", body)
    print(body)


if __name__ == "__main__":
    main()
