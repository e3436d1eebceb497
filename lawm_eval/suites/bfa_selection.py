"""World-model-guided selection over VLA samples on the BFA stand-in (LAC-WM §4.4, Table 2).

One episode (docs/protocols/bfa.md has every constant with its source):
1. the split's object is placed by the episode's placement seed; one demonstration of the task from
   that placement (the scripted policy without noise; the first of up to ``demo_tries`` placement seeds
   whose demonstration succeeds) gives a subgoal image every p steps and its final frame as the goal;
2. for each subgoal: the sampling policy (the VLA) draws N sequences of p actions from the current
   observation, instruction and state; the planner chooses: the world model rolls every candidate out
   in 5-action chunks and the top k by L2 between final predicted embedding and the subgoal's
   embedding are averaged (``choose=world_model``), or the mean of all N (VLA-mean) or one sample
   (VLA-random); the p chosen actions are executed;
3. S.R. (lifted and placed back at the end), S.R.C. (hand-object contact), S.R.L. (lifted ≥ 5 cm off the
   counter for ≥ 1 s), δf (mean over subgoals of the embedding distance between the subgoal image and the
   image reached at its step) and δf_g (the same for the final goal), with the suite's fixed embedding.

``variant=training_set`` (App. A.6) draws the candidates from the training dataset's action sequences
(offsets from their first state, added to the current state) instead of the VLA: N = 500, p = 30, k = 5.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ConfigError, LawmEvalError, ModelError, did_you_mean
from lawm_eval.interfaces import Planner
from lawm_eval.planners.selection import FinalEmbeddingDistance
from lawm_eval.rollouts import check_states
from lawm_eval.suites.base import EpisodeOutcome, Suite
from lawm_eval.types import EpisodeSpec

SPLITS = ("unseen_instances", "unseen_categories")
VARIANTS = ("vla", "training_set")
SPLIT_SEEDS = {"unseen_instances": 200_000, "unseen_categories": 300_000}  # placement seeds: base + episode


class BFASelectionSuite(Suite):
    action_dim = 25
    domain = "bfa"

    def __init__(self, manifest, params=None):
        super().__init__(manifest, params)
        p = self.params
        unknown = [s for s in p["splits"] if s not in SPLITS]
        if unknown:
            raise ConfigError(f"suite.splits: unknown split '{unknown[0]}'{did_you_mean(unknown[0], SPLITS)}")
        if p["variant"] not in VARIANTS:
            raise ConfigError(f"suite.variant must be one of {', '.join(VARIANTS)}, got '{p['variant']}'")
        if p["episodes_per_split"] < 1 or not p["seeds"] or p["chunk"] < 1 or p["demo_tries"] < 1:
            raise ConfigError("suite.episodes_per_split, suite.chunk and suite.demo_tries must be ≥ 1 and "
                              "suite.seeds must not be empty")

    # -- episodes ----------------------------------------------------------------------------------
    def episodes(self) -> list[EpisodeSpec]:
        from lawm_eval.envs.bfa_objects import objects

        specs = []
        for split in self.params["splits"]:
            pool = objects(split)
            for e in range(self.params["episodes_per_split"]):
                obj = pool[e % len(pool)]
                for seed in self.params["seeds"]:
                    specs.append(self.spec(split, len(specs), int(seed), group=split,
                                           params={"object": obj.name, "placement": SPLIT_SEEDS[split] + e,
                                                   "side": 1 if e % 2 == 0 else -1, "episode": e}))
        return specs

    def offered_inputs(self) -> dict[str, Any]:
        """One 64×64 head-camera frame; the controller gets 5-step chunks of the 25-D action (125-D)."""
        return {"observation": "image", "context_frames": 1, "action_dim": self.params["chunk"] * self.action_dim}

    def evaluation_contract(self, model: ModelBundle) -> dict[str, Any]:
        return {**super().evaluation_contract(model), "camera": "head (64×64)",
                "goal": "subgoal images every p steps of one scripted demonstration from the same placement",
                "candidates": self.params["variant"], "embedding": self.params["embedding"],
                "actions_to_model": f"(N, p / {self.params['chunk']}, {self.params['chunk']}·25): 5-step chunks"}

    # -- models -------------------------------------------------------------------------------------
    def check_model(self, model: ModelBundle) -> None:
        """A world model with encoder and controller for ``choose=world_model``; the VLA-only baselines
        need only a sampling policy (the model's own, or ``suite.sampler``)."""
        if self.params["variant"] == "vla" and model.sampler is None and not self.params["sampler"]:
            raise ModelError(f"suite '{self.name}' needs a sampling policy: a model with a sampler or suite.sampler")

    def check_planner(self, planner: Any, model: ModelBundle) -> None:
        """A selection planner (it picks among sampled candidates) whose horizon is whole chunks; with
        ``choose=world_model`` the model must also encode, control and predict."""
        if planner is None or not isinstance(getattr(getattr(planner, "cfg", None), "choose", None), str):
            given = "none" if planner is None else type(planner).__name__
            raise ConfigError(f"suite '{self.name}' selects among sampled action sequences: it needs planner="
                              f"vla_selection, vla_mean or vla_random (got {given})")
        p = planner.cfg.horizon
        if p < 1 or p % self.params["chunk"]:
            raise ConfigError(f"planner.horizon ({p}) must be a positive multiple of suite.chunk ({self.params['chunk']})")
        if planner.cfg.choose == "world_model":
            model.require(("encoder", "controller", "world_model"), self.name)

    def sampler(self, model: ModelBundle) -> Any:
        """The candidates' source: the training set (variant training_set), the model's own sampler, or
        the ``suite.sampler`` model's."""
        if self.params["variant"] == "training_set":
            sampler = getattr(self, "_live_training_set", None)
            if sampler is None:
                sampler = self._live_training_set = TrainingSetSampler(self.params["training_dataset"])
            return sampler
        if model.sampler is not None:
            return model.sampler
        sampler = getattr(self, "_live_sampler", None)
        if sampler is None:
            from lawm_eval.models.zoo import build_bundled

            sampler = self._live_sampler = build_bundled(self.params["sampler"]).sampler
        return sampler

    def embedding(self) -> Any:
        """The fixed image embedding of δf and δf_g (the same for every model)."""
        encoder = getattr(self, "_live_embedding", None)
        if encoder is None:
            from lawm_eval.models.zoo import load_autoencoder

            encoder = self._live_embedding = load_autoencoder(self.params["embedding"])
        return encoder

    def probe_model(self, model: ModelBundle, spec: EpisodeSpec) -> None:
        """Resolve the candidates' source and the δf embedding before the first episode, so that a
        misspelled ``suite.sampler`` or a missing checkpoint is one error, not one per episode."""
        self.sampler(model)
        self.embedding()

    def embed(self, frames: list[np.ndarray]) -> torch.Tensor:
        """(T, 64, 64, 3) uint8 -> (T, D) with the suite's embedding."""
        video = torch.from_numpy(np.stack(frames))[None]  # (1, T, 64, 64, 3)
        return self.embedding().encode(video)[0].flatten(1)

    @staticmethod
    def encode(model: ModelBundle, frame: np.ndarray) -> torch.Tensor:
        """(64, 64, 3) uint8 -> (1, 1, *S) with the model's encoder."""
        video = torch.from_numpy(frame).permute(2, 0, 1)[None, None].contiguous()  # (1, 1, 3, 64, 64)
        states = model.encoder.encode(video)
        shape = tuple(states.shape[2:]) if isinstance(states, torch.Tensor) else ()
        check_states(states, (1, 1), shape, "encoder.encode")
        return states

    # -- the simulator ------------------------------------------------------------------------------
    def env(self, object_name: str) -> Any:
        from lawm_eval.envs.bfa_env import BFAEnv
        from lawm_eval.envs.bfa_objects import find

        cache = getattr(self, "_live_envs", None) or {}
        if object_name not in cache:
            size = tuple(self.params["image_size"])
            cache[object_name] = BFAEnv(find(object_name), (int(size[0]), int(size[1])))
            self._live_envs = cache
        return cache[object_name]

    def close(self) -> None:
        for env in (getattr(self, "_live_envs", None) or {}).values():
            env.close()
        self._live_envs = {}

    def demonstration(self, env: Any, placement: int, side: int, p: int) -> tuple[int, list[int], list[np.ndarray], bool]:
        """(placement used, subgoal steps, subgoal frames, whether the demonstration succeeded); kept in
        ``$LAWM_EVAL_CACHE/bfa_demonstrations`` (the scripted rollout is deterministic for its key)."""
        from lawm_eval.data.generate.bfa import EPISODE_STEPS

        steps = list(range(p, EPISODE_STEPS, p)) + [EPISODE_STEPS]
        key = demonstration_key(env.obj.name, placement, side, steps, self.params["demo_tries"],
                                tuple(self.params["image_size"]))
        cached = load_demonstration(key)
        if cached is not None:
            return cached
        for attempt in range(self.params["demo_tries"]):
            seed = placement + 1000 * attempt
            frames = scripted_subgoals(env, seed, side, steps)
            if env.outcome.as_dict()["success"] or attempt == self.params["demo_tries"] - 1:
                result = seed, steps, frames, bool(env.outcome.as_dict()["success"])
                save_demonstration(key, result)
                return result
        raise AssertionError("unreachable")

    # -- one episode --------------------------------------------------------------------------------
    @torch.no_grad()
    def run_episode(self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *,
                    frames: bool = False) -> EpisodeOutcome:
        self.check_planner(planner, model)
        p, choose = planner.cfg.horizon, planner.cfg.choose
        env = self.env(spec.params["object"])
        timing = dict.fromkeys(("demonstration", "simulation", "rendering", "sampling", "world_model"), 0.0)
        tic = time.perf_counter()
        placement, subgoal_steps, subgoal_frames, demo_ok = self.demonstration(env, spec.params["placement"],
                                                                               spec.params["side"], p)
        timing["demonstration"] = time.perf_counter() - tic
        obs = env.reset(placement)
        obs["task"] = env.obj.instruction
        sampler = self.sampler(model)
        if hasattr(sampler, "reset"):
            sampler.reset(spec.seed)
        generator = torch.Generator().manual_seed(spec.seed)
        goals = self.embed(subgoal_frames)  # (J, D)
        reached, video, chosen_costs = [], [obs["image"]] if frames else [], []
        segments = np.diff([0, *subgoal_steps])  # p actions per subgoal; the last one up to the demo's end
        for frame, length in zip(subgoal_frames, segments.tolist()):
            tic = time.perf_counter()
            candidates = torch.as_tensor(sample(sampler, obs, planner.cfg.num_samples, generator, p),
                                         dtype=torch.float32)
            timing["sampling"] += time.perf_counter() - tic
            if candidates.ndim != 3 or candidates.shape[1] < p or candidates.shape[2] != self.action_dim:
                raise ModelError(f"sampler.sample returned {tuple(candidates.shape)}, expected "
                                 f"({planner.cfg.num_samples}, ≥{p}, {self.action_dim})")
            candidates = candidates[:, :length]
            tic = time.perf_counter()
            objective = None
            if choose == "world_model":
                objective = FinalEmbeddingDistance(model.world_model, model.controller, self.encode(model, obs["image"]),
                                                   self.encode(model, frame)[:, 0], self.params["chunk"])
            result = planner.plan(objective, generator, candidates=candidates)
            timing["world_model"] += time.perf_counter() - tic
            chosen_costs.append(result.cost)
            for t, action in enumerate(result.actions.double().numpy()):
                tic = time.perf_counter()
                obs = env.step(action, render=False)
                timing["simulation"] += time.perf_counter() - tic
                if t == length - 1 or frames:
                    tic = time.perf_counter()
                    obs["image"] = env.render()
                    timing["rendering"] += time.perf_counter() - tic
                    if frames:
                        video.append(obs["image"])
            obs["task"] = env.obj.instruction
            reached.append(obs["image"])
        distances = (self.embed(reached) - goals).norm(dim=1)  # (J,)
        outcome = env.outcome.as_dict()
        metrics = {"sr_contact": float(outcome["contact"]), "sr_lift": float(outcome["lifted"]),
                   "delta_f": float(distances.mean()), "delta_f_goal": float(distances[-1])}
        finite = [c for c in chosen_costs if np.isfinite(c)]
        if finite:
            metrics["selected_distance"] = float(np.mean(finite))
        if self.params["variant"] == "training_set":
            proposer = "training_set"
        else:
            proposer = model.model_id if model.sampler is not None else self.params["sampler"]
        info = {"object": env.obj.name, "category": env.obj.category, "placement": placement,
                "demonstration_succeeded": demo_ok, "subgoal_steps": subgoal_steps, "choose": choose,
                "sampler": proposer, "seconds": {k: round(v, 3) for k, v in timing.items()}}
        return EpisodeOutcome(success=bool(outcome["success"]), metrics=metrics, steps=int(subgoal_steps[-1]),
                              info=info, frames=np.stack(video) if frames else None)


def sample(sampler: Any, obs: dict, n: int, generator: torch.Generator, horizon: int) -> np.ndarray:
    """n candidates from a SamplingPolicy; the training-set sampler draws windows of the planner's horizon."""
    if isinstance(sampler, TrainingSetSampler):
        return sampler.sample(obs, n, generator, horizon=horizon)
    return sampler.sample(obs, n, generator)


class TrainingSetSampler:
    """App. A.6's candidates: action sequences of the training dataset, each as offsets from its own first
    state added to the current state (our actions are absolute poses)."""

    name = "training_set"

    def __init__(self, dataset: str):
        from lawm_eval.data.formats import open_dataset
        from lawm_eval.data.recipes import resolve_dataset

        episodes = list(open_dataset(resolve_dataset(dataset)))
        self.actions = [e.actions[:-1] for e in episodes]  # (T - 1, 25) each
        self.states = [e.states for e in episodes]
        if not self.actions:
            raise LawmEvalError(f"the training set '{dataset}' has no episodes")

    def sample(self, obs: dict, n: int, generator: torch.Generator, horizon: int = 100) -> np.ndarray:
        state = np.asarray(obs["state"], dtype=np.float32)
        out = np.empty((n, horizon, state.shape[0]), dtype=np.float32)
        picks = torch.randint(len(self.actions), (n,), generator=generator).tolist()
        for i, e in enumerate(picks):
            actions = self.actions[e]
            t = int(torch.randint(max(1, len(actions) - horizon), (1,), generator=generator))
            window = actions[t:t + horizon]
            window = np.concatenate([window, np.repeat(window[-1:], horizon - len(window), axis=0)])
            out[i] = window - self.states[e][t] + state
        return out


# -- demonstrations ---------------------------------------------------------------------------------
DEMONSTRATION_VERSION = "v1"  # bump when the scene, the objects or the scripted policy change


def scripted_subgoals(env: Any, seed: int, side: int, steps: list[int]) -> list[np.ndarray]:
    """The scripted policy (no noise) from placement ``seed``: the head-camera frames at ``steps``."""
    from lawm_eval.envs.bfa_scripted import ScriptedPickPlace

    env.reset(seed)
    policy = ScriptedPickPlace(env, np.random.default_rng(seed), side=side)
    frames = []
    for t in range(steps[-1]):
        obs = env.step(policy(t), render=(t + 1) in steps)
        if (t + 1) in steps:
            frames.append(obs["image"])
    return frames


def demonstration_key(*parts: Any) -> str:
    import hashlib

    from lawm_eval.envs.bfa_objects import OBJECT_SET_VERSION

    text = repr((DEMONSTRATION_VERSION, OBJECT_SET_VERSION, *parts))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def demonstration_path(key: str):
    from lawm_eval.paths import cache_dir

    return cache_dir() / "bfa_demonstrations" / f"{key}.npz"


def load_demonstration(key: str) -> tuple[int, list[int], list[np.ndarray], bool] | None:
    path = demonstration_path(key)
    try:
        with np.load(path, allow_pickle=False) as data:
            return int(data["seed"]), data["steps"].tolist(), list(data["frames"]), bool(data["success"])
    except (OSError, KeyError, ValueError):
        return None


def save_demonstration(key: str, result: tuple[int, list[int], list[np.ndarray], bool]) -> None:
    """Written to a temporary name, then renamed: parallel workers never read half a file."""
    from lawm_eval.util.files import replace_atomically

    seed, steps, frames, success = result
    replace_atomically(demonstration_path(key), lambda temporary: np.savez_compressed(
        temporary, seed=seed, steps=np.asarray(steps), frames=np.stack(frames), success=success), ".npz")
