"""BFA stand-in data: scripted grasp-lift-place rollouts seen from the head camera.

    lawm-eval data generate bfa --out DIR [--episodes N]          # or the recipes bfa, bfa_unseen_*
    python -m lawm_eval.data.generate.bfa scripted --split unseen_categories --episodes 30 [--video F]

One rollout: an object of the split, placed by seed ``seed + i`` (``BFAEnv.reset``), then
``EPISODE_STEPS`` actions of ``ScriptedPickPlace`` with an action noise from ``DATASET_NOISES`` and a
carrying side; ``episode_plan`` sweeps the objects once per round and shifts noise and side by the round, so
that every object is recorded under every noise and both sides.
The dataset is LeRobot v2.1: the head camera (``observation.images.head``), the 25-D proprio state, the
25-D action (the last row, which has no successor, repeats the one before), the instruction as the
task, and per episode its object, split, seed, noise and detected outcome in ``meta/episodes.jsonl``.
LAC-WM's BFA data mix successes and failures (20 % successful, App. A.3): so do ours.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lawm_eval.envs.bfa_env import CONTROL_HZ
from lawm_eval.envs.bfa_objects import OBJECT_SET_VERSION, BFAObject, objects
from lawm_eval.errors import LawmEvalError, OneLineParser

EPISODE_STEPS = 250  # the script's 235 steps, then 15 to let the object settle and the hand leave
DATASET_NOISES = (0.0, 0.5, 1.0)
IMAGE_SIZE = (64, 64)  # (height, width) of the head camera in the datasets
STATE_NAMES = ([f"grip_{a}" for a in "xyz"] + [f"rot6d_{i}" for i in range(6)]
               + [f"hand_{j}" for j in range(16)])


def run_scripted(obj: BFAObject, seed: int, noise: float, side: int, steps: int = EPISODE_STEPS,
                 image_size: tuple[int, int] | None = IMAGE_SIZE, env: Any = None, grasp: Any = None) -> dict[str, Any]:
    """One scripted rollout: frames (steps + 1, H, W, 3) (None without ``image_size``), states
    (steps + 1, 25), actions (steps, 25) and the outcome (contact, lifted, success). ``grasp``: a
    ``bfa_scripted.Grasp`` instead of the script's own choice (the grasp tuner's candidates)."""
    from lawm_eval.envs.bfa_env import BFAEnv
    from lawm_eval.envs.bfa_scripted import ScriptedPickPlace

    own = env is None
    env = env or BFAEnv(obj, image_size or IMAGE_SIZE)
    render = image_size is not None
    try:
        obs = env.reset(seed)
        policy = ScriptedPickPlace(env, np.random.default_rng(seed), noise=noise, side=side, grasp=grasp)
        frames, states, actions = [obs["image"]] if render else [], [obs["state"]], []
        for t in range(steps):
            action = policy(t)
            obs = env.step(action, render=render)
            actions.append(action)
            states.append(obs["state"])
            if render:
                frames.append(obs["image"])
        return {"frames": np.stack(frames) if render else None, "states": np.stack(states),
                "actions": np.stack(actions).astype(np.float32), "outcome": env.outcome.as_dict()}
    finally:
        if own:
            env.close()


def episode_plan(i: int, objects_in_split: int) -> tuple[int, float, int]:
    """Episode ``i``'s (object index, action noise, carrying side: +1 left, -1 right). Round
    r = i // objects takes every object once; noise and side advance with the object and the round."""
    obj, round_ = i % objects_in_split, i // objects_in_split
    return obj, DATASET_NOISES[(obj + round_) % len(DATASET_NOISES)], 1 if (obj + round_) % 2 == 0 else -1


def generate_dataset(path: str | Path, episodes: int, seed: int, split: str = "train",
                     progress: Callable[[str], None] = print) -> Path:
    """``episodes`` rendered scripted rollouts on the objects of ``split``, as a LeRobot dataset."""
    from lawm_eval.data.episode import Episode
    from lawm_eval.data.lerobot import write_lerobot

    if episodes < 1:
        raise LawmEvalError(f"a BFA dataset needs at least one episode, got {episodes}")
    pool = objects(split)
    recorded, tic, successes = [], time.monotonic(), 0
    for i in range(episodes):
        index, noise, side = episode_plan(i, len(pool))
        obj = pool[index]
        out = run_scripted(obj, seed + i, noise, side)
        actions = np.concatenate([out["actions"], out["actions"][-1:]])  # (T + 1, 25)
        successes += out["outcome"]["success"]
        recorded.append(Episode(frames=out["frames"], actions=actions, states=out["states"].astype(np.float32),
                                task=obj.instruction, fps=CONTROL_HZ,
                                meta={"object": obj.name, "category": obj.category, "split": split,
                                      "objects_version": OBJECT_SET_VERSION, "seed": seed + i, "noise": noise,
                                      "side": side, **out["outcome"]}))
        if (i + 1) % 10 == 0 or i + 1 == episodes:
            progress(f"bfa {split}: {i + 1}/{episodes} rollouts, {successes} successful "
                     f"({time.monotonic() - tic:.0f} s)")
    return write_lerobot(path, recorded, fps=CONTROL_HZ, image_key="head", robot_type="bimanual_panda_allegro",
                         state_names=STATE_NAMES, action_names=STATE_NAMES)


def scripted_success(split: str, episodes: int, seed: int, noise: float = 0.0,
                     video: Path | None = None) -> dict[str, Any]:
    """The scripted policy's contact / lift / success rates on ``split`` (no dataset written); with
    ``video``, the first episode's head-camera frames as an mp4 there."""
    from lawm_eval.metrics.success import wilson_interval

    pool = objects(split)
    rows = []
    for i in range(episodes):
        obj = pool[i % len(pool)]
        render = video is not None and i == 0
        out = run_scripted(obj, seed + i, noise, 1 if i % 2 == 0 else -1,
                           image_size=(240, 320) if render else None)
        if render:
            from lawm_eval.util.video import write_mp4

            write_mp4(out["frames"], video, CONTROL_HZ)
        rows.append({"object": obj.name, **out["outcome"]})
    summary: dict[str, Any] = {"split": split, "episodes": episodes, "seed": seed, "noise": noise}
    for key in ("contact", "lifted", "success"):
        k = sum(r[key] for r in rows)
        low, high = wilson_interval(k, episodes)
        summary[key] = {"rate": k / episodes, "low": low, "high": high}
    summary["per_object"] = rows
    return summary


def main() -> None:
    parser = OneLineParser(description="BFA stand-in data and the scripted policy's success rates")
    sub = parser.add_subparsers(dest="command", required=True)
    scripted = sub.add_parser("scripted", help="the scripted policy's rates on a split")
    scripted.add_argument("--split", default="train")
    scripted.add_argument("--episodes", type=int, default=30)
    scripted.add_argument("--seed", type=int, default=100_000)
    scripted.add_argument("--noise", type=float, default=0.0)
    scripted.add_argument("--video", type=Path)
    args = parser.parse_args()
    summary = scripted_success(args.split, args.episodes, args.seed, args.noise, args.video)
    print(json.dumps({k: v for k, v in summary.items() if k != "per_object"}))
    failed = sorted({r["object"] for r in summary["per_object"] if not r["success"]})
    print("objects not placed back at least once:", ", ".join(failed) or "none")


if __name__ == "__main__":
    main()
