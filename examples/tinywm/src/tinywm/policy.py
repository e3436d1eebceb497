"""A policy for lawm-eval's LIBERO suites: it reads the observation dict the suite builds each step
and returns a chunk of 7-D actions (Δposition 3, Δaxis-angle 3, gripper: −1 open, +1 closed).

Here it only holds the end effector still with the gripper open (it never solves a task); the point
is the interface: `reset(seed)` at the start of every episode, `act(obs)` -> (Hc, 7).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class HoldStillPolicy:
    needs_images = True  # the suite renders obs["image"] / obs["wrist_image"] (False: faster, no images)

    def __init__(self, chunk: int = 8):
        self.chunk = chunk
        self.rng = np.random.default_rng(0)

    def reset(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)  # a stochastic policy seeds itself here

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        image = obs["image"]  # (256, 256, 3) uint8, agentview, rotated 180° as the reference scripts do
        wrist = obs["wrist_image"]  # (256, 256, 3) uint8
        state = obs["state"]  # (8,) float32: eef position (3), axis-angle (3), gripper finger positions (2)
        instruction = obs["task"]  # the task's language instruction, a str
        assert image.shape == wrist.shape and image.dtype == np.uint8 and state.shape == (8,) and instruction
        actions = np.zeros((self.chunk, 7), dtype=np.float32)
        actions[:, 6] = -1.0  # gripper open
        return actions


def make_policy(chunk: int = 8) -> dict:
    """The factory lawm-eval calls (entry point `model.tinywm_policy`); `+model.chunk=4` changes the chunk."""
    return {"policy": HoldStillPolicy(chunk)}
