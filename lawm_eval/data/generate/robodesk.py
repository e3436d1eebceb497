"""RoboDesk data for the VP² suite, generated in the ``robodesk`` simulator environment.

    python -m lawm_eval.data.generate.robodesk pairs        # suites/vp2_robodesk/pairs_v2.npz
    python -m lawm_eval.data.generate.robodesk classifiers  # $LAWM_EVAL_CACHE/vp2_classifiers/<task>.pt
                                                            # (and the rendered rollouts, npz per task)
    lawm-eval data generate robodesk | robodesk_val         # world-model data (LeRobot), recipes

Start/goal pairs: from RoboDesk's randomised reset (seeded), one zero-action step, then 30 steps of the
task's scripted policy (``envs/robodesk_scripted``; the length of VP²'s scripted rollouts,
vp2/scripts/run_scripted_trajectory.py:22; 60 for open_drawer, which our policy opens only after 24-58
steps) with Gaussian action noise. A rollout is kept when neither the start nor the zero-step state
satisfies the task's predicate and a later state does; the start is the reset state and the goal the
last state that satisfies the predicate (its rendering is the goal image). The same command and seed
write the same file (the physics and the generators are deterministic on one machine).

Classifier data: rendered rollouts of the scripted policy, half of them ones it solves (noise 0.1), half
with large action noise (0.6), each frame labelled by the task's predicate on its state; a quarter of the
rollouts (shuffled, seeded) is held out for the precision/recall report.

World-model data (the ``robodesk`` and ``robodesk_val`` recipes, ``generate_dataset``; VP² trains its
RoboDesk models on noisy scripted trajectories of every task): per task, rendered 30-step rollouts of the
scripted policy with action noise cycling through 0.1, 0.3 and 0.6, written as a LeRobot dataset with the
76-number state and the 5-D action (the last row of each episode, which has no successor, is zero).
Episodes are ordered round by round over the tasks, so the last 7 hold one rollout of each task.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lawm_eval.envs.robodesk_tasks import STATE_DIM, TASKS, success
from lawm_eval.errors import LawmEvalError, OneLineParser

PAIRS_VERSION = "v2"  # v2: regenerated with the simulator child's OpenBLAS kernel pinned (envs.sim_client)
SCRIPTED_STEPS = 30  # vp2/scripts/run_scripted_trajectory.py:22 (a planned episode has 15 actions)
TASK_STEPS = {"open_drawer": 60}  # our drawer policy first succeeds after 24-58 steps (23 of 40 rollouts by 60)


def scripted_steps(task: str) -> int:
    return TASK_STEPS.get(task, SCRIPTED_STEPS)
PAIR_NOISE = 0.1  # vp2/envs/scripted_policies/noisy_policy_wrapper.py default noise_std
CLASSIFIER_NOISES = (0.1, 0.6)  # mostly successes, mostly failures
SEED_STRIDE = 100_000  # task k draws its seeds from seed + k * SEED_STRIDE
DATASET_NOISES = (0.1, 0.3, 0.6)  # world-model data: solved, half-solved and mostly exploratory rollouts
DATASET_SEED_OFFSET = 70_000  # past the pairs' (< 1 500) and the classifier rollouts' (50 000 - 52 008) seeds
CONTROL_HZ = 10.0  # one action per 50 physics steps of 2 ms (robodesk.py:39-41, action repeat 50)


def start_process():
    """A RoboDesk child process (``envs.robodesk_process.start``)."""
    from lawm_eval.envs.robodesk_process import start

    return start()


def default_pairs_path() -> Path:
    from lawm_eval.paths import data_dir

    return data_dir("manifests") / "vp2_robodesk" / f"pairs_{PAIRS_VERSION}.npz"


def pair_from_rollout(task: str, states: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(start, goal) from a rollout's states (reset state, zero step, scripted steps), or None when the
    predicate already holds before the first scripted action or never holds."""
    hits = [success(task, s) for s in states]
    if any(hits[:2]) or not any(hits[2:]):  # solved by the reset or the zero step: no task left
        return None
    last = len(hits) - 1 - hits[::-1].index(True)
    return states[0], states[last]


def generate_pairs(tasks: list[str], pairs: int, seed: int, noise: float, max_tries: int,
                   progress: Callable[[str], None] = print) -> dict[str, np.ndarray]:
    starts = np.zeros((len(tasks), pairs, STATE_DIM))
    goals = np.zeros_like(starts)
    seeds = np.zeros((len(tasks), pairs), dtype=np.int64)
    with start_process() as process:
        for k, task in enumerate(tasks):
            process.call("open", task=task)
            found, tries, tic = 0, 0, time.monotonic()
            while found < pairs:
                if tries >= max_tries:
                    raise RuntimeError(f"{task}: only {found} of {pairs} scripted rollouts succeeded in {tries} tries")
                episode_seed = seed + TASKS.index(task) * SEED_STRIDE + tries
                tries += 1
                out = process.call("scripted_episode", seed=episode_seed, steps=scripted_steps(task), noise=noise,
                                   render=False)
                pair = pair_from_rollout(task, out["states"])
                if pair is not None:
                    starts[k, found], goals[k, found] = pair
                    seeds[k, found] = episode_seed
                    found += 1
            progress(f"{task}: {pairs} pairs from {tries} rollouts ({pairs / tries:.0%} kept, "
                     f"{time.monotonic() - tic:.0f} s)")
    return {"tasks": np.array(tasks), "start_states": starts, "goal_states": goals, "seeds": seeds,
            "noise": np.array(noise), "version": np.array(PAIRS_VERSION)}


def generate_frames(task: str, episodes: int, seed: int, process, max_search: int = 2000) -> dict[str, np.ndarray]:
    """Rendered rollouts of ``task``: frames (E, T, 64, 64, 3) uint8, states (E, T, 76), labels (E, T),
    actions (E, T - 1, 5). Half are rollouts the scripted policy (noise 0.1) solves, found by running
    seeds without rendering first (the drawer's 60-step rollouts succeed in about half), half are rollouts with large
    action noise (0.6), mostly failures. Seeds start at 50 000 past the pairs' seeds."""
    process.call("open", task=task)
    base = seed + TASKS.index(task) * SEED_STRIDE + 50_000
    chosen: list[tuple[int, float]] = []
    candidate = base
    while sum(1 for _, n in chosen if n == CLASSIFIER_NOISES[0]) < (episodes + 1) // 2:
        if candidate - base >= max_search:
            raise RuntimeError(f"{task}: fewer than {(episodes + 1) // 2} scripted successes in {max_search} seeds")
        out = process.call("scripted_episode", seed=candidate, steps=scripted_steps(task),
                           noise=CLASSIFIER_NOISES[0], render=False)
        if any(success(task, s) for s in out["states"][1:]):
            chosen.append((candidate, CLASSIFIER_NOISES[0]))
        candidate += 1
    chosen += [(base + max_search + e, CLASSIFIER_NOISES[1]) for e in range(episodes // 2)]
    frames, states, actions = [], [], []
    for episode_seed, noise in chosen:
        out = process.call("scripted_episode", seed=episode_seed, steps=scripted_steps(task), noise=noise,
                           render=True)
        frames.append(out["frames"])
        states.append(out["states"][1:])  # the frames start after the zero-action step
        actions.append(out["actions"])  # actions[t] leads from frame t to frame t + 1
    order = np.random.default_rng(seed).permutation(len(chosen))  # held-out episodes from both halves
    states_arr = np.stack(states)[order]
    labels = np.array([[success(task, s) for s in episode] for episode in states_arr], dtype=np.uint8)
    return {"frames": np.stack(frames)[order], "states": states_arr, "labels": labels,
            "actions": np.stack(actions)[order], "seeds": np.array([chosen[i][0] for i in order])}


def generate_dataset(path: str | Path, episodes: int, seed: int, steps: int = SCRIPTED_STEPS,
                     progress: Callable[[str], None] = print) -> Path:
    """``episodes`` rendered rollouts of ``steps`` actions (a multiple of the 7 tasks), as a LeRobot dataset."""
    from lawm_eval.data.episode import Episode
    from lawm_eval.data.lerobot import write_lerobot

    if episodes % len(TASKS):
        raise LawmEvalError(f"RoboDesk datasets hold the same number of rollouts per task: {episodes} episodes "
                            f"is not a multiple of the {len(TASKS)} tasks")
    rounds = episodes // len(TASKS)
    recorded: dict[tuple[int, str], Episode] = {}
    with start_process() as process:
        for task in TASKS:
            tic = time.monotonic()
            process.call("open", task=task)
            for e in range(rounds):
                noise = DATASET_NOISES[e % len(DATASET_NOISES)]
                out = process.call("scripted_episode", seed=seed + TASKS.index(task) * SEED_STRIDE + DATASET_SEED_OFFSET + e,
                                   steps=steps, noise=noise, render=True)
                actions = np.concatenate([out["actions"], np.zeros((1, out["actions"].shape[1]))])  # (T, 5)
                recorded[(e, task)] = Episode(frames=out["frames"], actions=actions.astype(np.float32),
                                              states=out["states"][1:].astype(np.float32), task=task, fps=CONTROL_HZ,
                                              meta={"noise": noise})
            progress(f"{task}: {rounds} rollouts ({time.monotonic() - tic:.0f} s)")
    ordered = [recorded[(e, task)] for e in range(rounds) for task in TASKS]
    return write_lerobot(path, ordered, fps=CONTROL_HZ, image_key="image", robot_type="franka_robodesk",
                         state_names=[f"s{i}" for i in range(STATE_DIM)],
                         action_names=["dx", "dy", "dz", "wrist", "grip"])


def rollouts_dir() -> Path:
    """Where ``classifiers`` keeps the rendered rollouts (npz per task), for RoboDesk world-model data."""
    from lawm_eval.paths import cache_dir

    return cache_dir() / "data" / f"robodesk_rollouts_{PAIRS_VERSION}"


def train_classifiers(tasks: list[str], episodes: int, seed: int, out_dir: Path | None, epochs: int,
                      steps_per_epoch: int, progress: Callable[[str], None] = print) -> dict[str, dict]:
    from lawm_eval.models.success_classifier import classifier_path, save_classifier, train_classifier

    reports = {}
    with start_process() as process:
        for task in tasks:
            tic = time.monotonic()
            data = generate_frames(task, episodes, seed, process)
            rendered = time.monotonic() - tic
            rollouts_dir().mkdir(parents=True, exist_ok=True)
            np.savez_compressed(rollouts_dir() / f"{task}.npz", **data)
            n_episodes, length = data["labels"].shape
            held_out = np.zeros((n_episodes, length), dtype=bool)
            held_out[n_episodes - max(1, n_episodes // 4):] = True
            frames = data["frames"].reshape(-1, *data["frames"].shape[2:])
            labels = data["labels"].reshape(-1)
            model, report = train_classifier(frames, labels, held_out.reshape(-1), epochs=epochs,
                                             steps_per_epoch=steps_per_epoch, seed=seed)
            path = (out_dir / f"{task}.pt") if out_dir else classifier_path(task)
            save_classifier(model, path, report, {"task": task, "episodes": episodes, "seed": seed, "epochs": epochs,
                                                   "steps_per_epoch": steps_per_epoch,
                                                   "positive_frames": int(labels.sum()), "frames": int(labels.size)})
            reports[task] = report.to_dict()
            progress(f"{task}: precision {report.precision:.3f} recall {report.recall:.3f} on {report.held_out} "
                     f"held-out frames ({report.positives} successes); {labels.sum()}/{labels.size} positive "
                     f"training+held-out frames; rendering {rendered:.0f} s, training "
                     f"{time.monotonic() - tic - rendered:.0f} s -> {path}")
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m lawm_eval.data.generate.robodesk", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pairs = sub.add_parser("pairs", help="start/goal pairs for suite vp2_robodesk")
    pairs.add_argument("--tasks", nargs="*", default=list(TASKS))
    pairs.add_argument("--pairs", type=int, default=30)
    pairs.add_argument("--seed", type=int, default=0)
    pairs.add_argument("--noise", type=float, default=PAIR_NOISE)
    pairs.add_argument("--max-tries", type=int, default=1500)
    pairs.add_argument("--out", type=Path, default=None)
    classifiers = sub.add_parser("classifiers", help="train the per-task success classifiers")
    classifiers.add_argument("--tasks", nargs="*", default=list(TASKS))
    classifiers.add_argument("--episodes", type=int, default=16)
    classifiers.add_argument("--seed", type=int, default=0)
    classifiers.add_argument("--epochs", type=int, default=4)
    classifiers.add_argument("--steps-per-epoch", type=int, default=40)
    classifiers.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    unknown = [t for t in args.tasks if t not in TASKS]
    if unknown:
        print(f"error: unknown RoboDesk task '{unknown[0]}' (tasks: {', '.join(TASKS)})", file=sys.stderr)
        return 2
    if args.command == "pairs":
        data = generate_pairs(args.tasks, args.pairs, args.seed, args.noise, args.max_tries)
        out = args.out or default_pairs_path()
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(out, **data)
        print(f"wrote {out}")
    else:
        train_classifiers(args.tasks, args.episodes, args.seed, args.out_dir, args.epochs, args.steps_per_epoch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
