"""Policy-in-the-loop imagined episodes: a world model stands in for the simulator.

From a real first frame (and the robot's real state), the policy acts on what the world model shows:
the actions it returns (the executed part of each chunk, in the environment's action convention) are
imagined ``action_stride`` at a time (the world model's transition; a policy that returns fewer is
asked again on the same frame until there are enough, and the episode's last actions are padded by
repeating the last one), turned into latent actions by the model's
controller (real → latent), rolled out, and decoded into the frames the policy sees next; with
``reencode`` (the suites' default) the world model goes on from those frames encoded again, not from
its own predicted states, which keeps long episodes on the frames its encoder knows (160 open-loop
LIBERO actions of ``lawm_libero``: 20.9 dB PSNR re-encoded, 17.6 dB in latent space;
docs/protocols/libero_imagined.md). The robot
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
    """(1, T, 3, h, w) floats in [0, 1] → (T, h, w, 3) uint8."""
    return (decoded[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


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
        """(1, Tc, *S) context and (n, 7) actions (n a multiple of the stride) → (1, n / stride, *S), by
        the planners' ``rollout_actions`` (step by step when the controller reads the state; shapes checked)."""
        from lawm_eval.planners.objectives import rollout_actions

        k = self.action_stride
        grouped = torch.from_numpy(np.ascontiguousarray(actions, np.float32)).view(1, -1, k * actions.shape[-1])
        with torch.no_grad():
            return rollout_actions(self.world.world_model, self.world.controller, context, grouped)

    def imagine(self, context: torch.Tensor, actions: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
        """(1, Tc, *S) context and (n, 7) actions (n a multiple of the stride) → the states the next
        transitions continue from, (1, n / stride, *S), and their decoded frames, (n / stride, h, w, 3)
        uint8. With ``reencode`` every transition starts from the previous one's decoded frame encoded
        again; without, the world model rolls its own states out."""
        if not self.reencode:
            predicted = self.transitions(context, actions)
            with torch.no_grad():
                return predicted, to_frames(self.world.decoder.decode(predicted))
        k, states, frames = self.action_stride, [], []
        for i in range(0, len(actions), k):
            with torch.no_grad():
                frame = to_frames(self.world.decoder.decode(self.transitions(context, actions[i:i + k])))  # (1,h,w,3)
                state = self.world.encoder.encode(torch.from_numpy(frame)[None].permute(0, 1, 4, 2, 3))
            context = torch.cat([context, state], dim=1)[:, -self.context:]
            states.append(state)
            frames.append(frame)
        return torch.cat(states, dim=1), np.concatenate(frames)

    def run(self, policy: Any, first_frame: np.ndarray, first_state: np.ndarray, instruction: str, *,
            max_steps: int, executed: Callable[[Any], np.ndarray],
            observe: Callable[[np.ndarray, np.ndarray], dict]) -> ImaginedEpisode:
        """One imagined episode. ``executed(policy answer)`` → the (n, 7) actions that run (the suite's
        chunk rules and gripper convention); ``observe(frame, state)`` → the policy's observation."""
        k = self.action_stride
        with torch.no_grad():
            context = self.world.encoder.encode(torch.from_numpy(first_frame)[None, None].permute(0, 1, 4, 2, 3))
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
            predicted, new_frames = self.imagine(context, group)  # (1, H, *S), (H, h, w, 3)
            if new_frames.shape[1:] != first_frame.shape:
                raise ModelError(f"world model '{self.world.model_id}' decodes frames of {new_frames.shape[1:]}, "
                                 f"not the {first_frame.shape} it was given")
            new_states = self.proprio.step(states[-1], group)[k - 1::k]  # (H, 8)
            new_scores = self.judge.probabilities(new_frames, [instruction] * len(new_frames))
            hits = np.flatnonzero(new_scores > self.judge.threshold)
            keep = hits[0] + 1 if len(hits) else len(new_frames)
            frames += list(new_frames[:keep])
            states += list(new_states[:keep])
            scores += [float(s) for s in new_scores[:keep]]
            if len(hits):
                return ImaginedEpisode(True, taken + min(keep * k, real), queries, np.stack(frames),
                                       np.asarray(scores), np.stack(states))
            taken += real
            context = torch.cat([context, predicted], dim=1)[:, -self.context:]
        return ImaginedEpisode(False, max_steps, queries, np.stack(frames), np.asarray(scores), np.stack(states))
