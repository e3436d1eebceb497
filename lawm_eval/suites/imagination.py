"""Policy-in-the-loop imagined episodes: a world model stands in for the simulator.

From a real first frame (and the robot's real state), the policy acts on what the world model shows:
the actions it returns (the executed part of each chunk, in the environment's action convention) are
imagined ``action_stride`` at a time (the world model's transition; a policy that returns fewer is
asked again on the same frame until there are enough, and the episode's last actions are padded by
repeating the last one), turned into latent actions by the model's
controller (real → latent), rolled out, and decoded into the frames the policy sees next; with
``reencode`` (the suites' default) the world model goes on from those frames encoded again, not from
its own predicted states, which keeps long episodes on the frames its encoder knows
(docs/protocols/libero_imagined.md); re-encoded imagination needs only frames, so several episodes'
transitions go through the networks in one batch (``frames_after``, ``ImaginationService``). The robot
state comes from the shared proprio model (``models/libero_proprio.py``). A success judge scores
every imagined frame; the episode succeeds at the first transition whose frame it judges successful
(as the simulator's ``done`` ends a real episode), else it runs to ``max_steps`` actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ConfigError, ModelError


@dataclass
class ImaginedEpisode:
    success: bool
    steps: int  # actions until the transition judged successful (included), else every action taken
    queries: int  # policy calls
    frames: np.ndarray  # (T+1, h, w, 3) uint8: the real first frame, then one per world-model transition
    scores: np.ndarray  # (T+1,) the judge's probability of success per frame
    states: np.ndarray  # (T+1, 8) the robot state at each frame


def to_frames(decoded: torch.Tensor) -> np.ndarray:
    """(B, T, 3, h, w) floats in [0, 1] → (B, T, h, w, 3) uint8."""
    return (decoded.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2).numpy()


def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """(B, T, h, w, 3) uint8 → (B, T, 3, h, w), what the encoder reads."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 1, 4, 2, 3)


class Imagination:
    """One world model (encoder, controller, world model, decoder), one judge, one proprio model."""

    def __init__(self, world: ModelBundle, judge: Any, proprio: Any, action_stride: int = 1, context: int = 1,
                 reencode: bool = True):
        missing = [part for part in ("encoder", "controller", "world_model", "decoder") if getattr(world, part) is None]
        if missing:
            raise ModelError(f"world model '{world.model_id}' cannot imagine episodes: it lacks {', '.join(missing)}")
        if action_stride < 1 or context < 1:
            raise ConfigError("action_stride and context must be ≥ 1")
        self.world, self.judge, self.proprio = world, judge, proprio
        self.action_stride, self.context, self.reencode = action_stride, context, reencode

    def transitions(self, context: torch.Tensor, actions: np.ndarray) -> torch.Tensor:
        """(B, Tc, *S) context and (B, n, 7) actions (n a multiple of the stride) → (B, n / stride, *S),
        by the planners' ``rollout_actions`` (step by step when the controller reads the state; shapes
        checked)."""
        from lawm_eval.rollouts import rollout_actions

        b, n, dim = actions.shape
        grouped = torch.from_numpy(np.ascontiguousarray(actions, np.float32)).view(b, n // self.action_stride, -1)
        with torch.no_grad():
            return rollout_actions(self.world.world_model, self.world.controller, context, grouped)

    def frames_after(self, contexts: list[np.ndarray], actions: list[np.ndarray]) -> list[np.ndarray]:
        """Re-encoded imagination of several episodes in one pass of the networks: each episode's
        (Tc, h, w, 3) uint8 context (the frames the world model goes on from) and (n, 7) actions (n a
        multiple of the stride) → its (n / stride, h, w, 3) frames. Every transition starts from the
        frames before it, encoded again. Episodes with the same context length and number of actions
        are batched together; the rows do not depend on each other."""
        answers: list[np.ndarray | None] = [None] * len(contexts)
        alike: dict[tuple[int, int], list[int]] = {}
        for i, (context, acts) in enumerate(zip(contexts, actions)):
            alike.setdefault((len(context), len(acts)), []).append(i)
        for rows in alike.values():
            produced = self._reencoded(np.stack([contexts[i] for i in rows]), np.stack([actions[i] for i in rows]))
            for row, i in enumerate(rows):
                answers[i] = produced[row]
        return answers  # type: ignore[return-value]

    def _reencoded(self, frames: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """(B, Tc, h, w, 3) uint8 and (B, n, 7) → (B, n / stride, h, w, 3) uint8."""
        k, produced = self.action_stride, []
        with torch.no_grad():
            context = self.world.encoder.encode(frames_to_tensor(frames))  # (B, Tc, *S)
            for i in range(0, actions.shape[1], k):
                if produced:  # the previous transition's decoded frame, encoded again
                    context = torch.cat([context, self.world.encoder.encode(frames_to_tensor(produced[-1]))],
                                        dim=1)[:, -self.context:]
                produced.append(to_frames(self.world.decoder.decode(self.transitions(context, actions[:, i:i + k]))))
        return np.concatenate(produced, axis=1)

    def _rolled(self, context: torch.Tensor, actions: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
        """Without re-encoding: (1, Tc, *S) states and (n, 7) actions → the world model's own next
        states (1, n / stride, *S) and their decoded frames (n / stride, h, w, 3)."""
        with torch.no_grad():
            predicted = self.transitions(context, actions[None])
            return predicted, to_frames(self.world.decoder.decode(predicted))[0]

    def open_loop(self, first_frame: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The frames ``actions`` lead to from ``first_frame`` ((h, w, 3) uint8), imagined as an
        episode imagines them: (n / stride, h, w, 3)."""
        if self.reencode:
            return self.frames_after([first_frame[None]], [actions])[0]
        with torch.no_grad():
            context = self.world.encoder.encode(frames_to_tensor(first_frame[None, None]))
        return self._rolled(context, actions)[1]

    def run(self, policy: Any, first_frame: np.ndarray, first_state: np.ndarray, instruction: str, *,
            max_steps: int, executed: Callable[[Any], np.ndarray],
            observe: Callable[[np.ndarray, np.ndarray], dict],
            frames_after: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> ImaginedEpisode:
        """One imagined episode. ``executed(policy answer)`` → the (n, 7) actions that run (the suite's
        chunk rules and gripper convention); ``observe(frame, state)`` → the policy's observation;
        ``frames_after(context frames, actions)`` → the next frames (default: this imagination's
        ``frames_after`` for this one episode; a side-by-side run passes a batcher's session, which
        answers several episodes' requests in one call)."""
        k = self.action_stride
        if frames_after is None:
            frames_after = lambda context, acts: self.frames_after([context], [acts])[0]  # noqa: E731
        states_context = None
        if not self.reencode:
            with torch.no_grad():
                states_context = self.world.encoder.encode(frames_to_tensor(first_frame[None, None]))
        frames, states = [first_frame], [np.asarray(first_state, np.float32)]
        scores = [float(self.judge.probabilities(first_frame[None], [instruction])[0])]
        taken, queries = 0, 0
        pending = np.zeros((0, 7))  # actions decided but not yet imagined (fewer than a transition's k)
        while taken < max_steps:
            chunk = executed(policy.act(observe(frames[-1], states[-1])))
            queries += 1
            pending = np.concatenate([pending, chunk[: max_steps - taken - len(pending)]])
            usable = len(pending) // k * k
            if usable == 0 and taken + len(pending) < max_steps:
                continue  # less than one transition: the policy is asked again on the same frame
            real = usable or len(pending)
            if usable == 0:  # the episode's last actions: the last one repeats to fill the transition
                pending = np.concatenate([pending, np.repeat(pending[-1:], k - len(pending), axis=0)])
                usable = k
            group, pending = pending[:usable], pending[usable:]
            if self.reencode:
                new_frames = np.asarray(frames_after(np.stack(frames[-self.context:]), group))  # (H, h, w, 3)
            else:
                predicted, new_frames = self._rolled(states_context, group)
                states_context = torch.cat([states_context, predicted], dim=1)[:, -self.context:]
            if new_frames.shape[1:] != first_frame.shape:
                raise ModelError(f"world model '{self.world.model_id}' decodes frames of {new_frames.shape[1:]}, "
                                 f"not the {first_frame.shape} it was given")
            new_states = self.proprio.step(states[-1], group)[k - 1::k]  # (H, 8)
            new_scores = self.judge.probabilities(new_frames, [instruction] * len(new_frames))
            hits = np.flatnonzero(new_scores > self.judge.threshold)
            keep = int(hits[0]) + 1 if len(hits) else len(new_frames)
            frames += list(new_frames[:keep])
            states += list(new_states[:keep])
            scores += [float(s) for s in new_scores[:keep]]
            if len(hits):
                return ImaginedEpisode(True, taken + min(keep * k, real), queries, np.stack(frames),
                                       np.asarray(scores), np.stack(states))
            taken += real
        return ImaginedEpisode(False, max_steps, queries, np.stack(frames), np.asarray(scores), np.stack(states))


class ImaginationService:
    """An Imagination as a policy-like service, so that a side-by-side run's batcher can answer the
    world-model requests of K episodes with one call: ``act({"context": (Tc, h, w, 3), "actions":
    (n, 7)})`` → (n / stride, h, w, 3) frames; ``act_batch`` answers several. Stateless (re-encoding
    needs nothing but the frames), so every episode's session shares it."""

    def __init__(self, imagination: Imagination):
        if not imagination.reencode:
            raise ConfigError("only re-encoded imagination (suite.reencode=true) can be batched across episodes")
        self.imagination = imagination

    def fork(self) -> ImaginationService:
        return self

    def reset(self, seed: int) -> None:
        """Nothing to reset: a request carries all it needs."""

    def act(self, request: dict[str, np.ndarray]) -> np.ndarray:
        return self.imagination.frames_after([request["context"]], [request["actions"]])[0]

    def act_batch(self, sessions: list[Any], requests: list[dict[str, np.ndarray]]) -> list[np.ndarray]:
        return self.imagination.frames_after([r["context"] for r in requests], [r["actions"] for r in requests])
