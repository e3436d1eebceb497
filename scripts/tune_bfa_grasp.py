"""Tune one of the BFA scripted policy's grasps (``bfa_scripted.SIDE`` or ``TOP``) by a hill climb.

    python scripts/tune_bfa_grasp.py side --iterations 80 --seed 1 [--start start.json]

Each candidate runs the whole script (no noise) once on every train-split object at scale 1.0 that the
script grasps that way (``choose_grasp``; placement seed = object index); its score is successes +
0.5 x lifts. A candidate replaces the best when it scores at least as well. Prints one JSON line per
improvement; paste the last one into ``SIDE``/``TOP``. Only the train split is used: the unseen splits
stay a test of the script too.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from lawm_eval.data.generate.bfa import run_scripted
from lawm_eval.envs import bfa_objects
from lawm_eval.envs.bfa_env import BFAEnv
from lawm_eval.envs.bfa_scripted import (
    SCRIPT_STEPS,
    SIDE,
    TOP,
    Grasp,
    choose_grasp,
    object_shape,
)
from lawm_eval.errors import OneLineParser

RANGES = {
    "side": {"spread": (-0.3, 0.3), "mcp_open": (0.0, 0.6), "pip_open": (0.0, 0.4), "mcp_closed": (0.6, 1.61),
             "pip_closed": (0.3, 1.6), "dx": (-0.07, 0.04), "dy": (-0.03, 0.03), "dz": (-0.02, 0.06),
             "min_height": (0.045, 0.085), "tilt": (0.0, 0.7)},
    "top": {"spread": (-0.3, 0.3), "mcp_open": (0.0, 1.2), "pip_open": (0.0, 0.6), "mcp_closed": (0.5, 1.61),
            "pip_closed": (0.2, 1.6), "dx": (-0.04, 0.06), "dz": (-0.01, 0.06), "min_height": (0.03, 0.1)},
}
THUMB = ((0.263, 1.396), (-0.105, 1.163), (-0.189, 1.644), (-0.162, 1.719))  # Allegro thumb joint ranges


def evaluate(envs: list[BFAEnv], grasp: Grasp) -> tuple[float, list[str]]:
    score, solved = 0.0, []
    for i, env in enumerate(envs):
        outcome = run_scripted(env.obj, i, 0.0, 1 if i % 2 else -1, steps=SCRIPT_STEPS + 10, image_size=None,
                               env=env, grasp=grasp)["outcome"]
        score += outcome["success"] + 0.5 * outcome["lifted"]
        if outcome["success"]:
            solved.append(env.obj.name)
    return score, solved


def perturb(grasp: Grasp, rng: np.random.Generator, scale: float) -> Grasp:
    changes = {k: float(np.clip(getattr(grasp, k) + rng.normal() * scale * (hi - lo), lo, hi))
               for k, (lo, hi) in RANGES[grasp.approach].items()}
    thumbs = ("thumb_open", "thumb_closed") if grasp.approach == "top" else ("thumb_closed",)
    for name in thumbs:
        changes[name] = tuple(float(np.clip(v + rng.normal() * scale * (hi - lo), lo, hi))
                              for v, (lo, hi) in zip(getattr(grasp, name), THUMB))
    return dataclasses.replace(grasp, **changes)


def main() -> None:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("approach", choices=["side", "top"])
    parser.add_argument("--iterations", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", help="a JSON file with a Grasp's fields (default: the shipped one)")
    args = parser.parse_args()
    best = SIDE if args.approach == "side" else TOP
    if args.start:
        fields = json.loads(open(args.start).read())
        best = Grasp(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    envs = []
    for obj in bfa_objects.objects("train"):
        if obj.name.endswith("_1.0"):
            env = BFAEnv(obj)
            env.reset(0)
            if choose_grasp(object_shape(env)).approach == args.approach:
                envs.append(env)
    print(f"tuning the {args.approach} grasp on {', '.join(e.obj.name for e in envs)}", flush=True)
    rng = np.random.default_rng(args.seed)
    best_score, solved = evaluate(envs, best)
    print(json.dumps({"iteration": 0, "score": best_score, "solved": solved, "grasp": dataclasses.asdict(best)}),
          flush=True)
    for it in range(1, args.iterations):
        candidate = perturb(best, rng, 0.3 if it % 3 == 0 else 0.1)
        score, solved = evaluate(envs, candidate)
        if score >= best_score:
            best, best_score = candidate, score
            print(json.dumps({"iteration": it, "score": score, "solved": solved,
                              "grasp": dataclasses.asdict(best)}), flush=True)


if __name__ == "__main__":
    main()
