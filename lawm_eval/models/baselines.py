"""Reference baselines that need no training.

- ``copy_last``: predicts that nothing moves — every future frame is the last observed frame. The
  bar every world model must clear in video prediction.
- ``oracle_droid`` / ``oracle_nav``: true-dynamics world models on the recorded robot state (the
  suite's ``observation=state``), for checking a planning protocol end to end: the Franka state
  changes exactly by the DROID-style delta action; the mobile base composes (dx, dy, dyaw) in its
  own frame.
"""

from __future__ import annotations

import torch

from lawm_eval.bundle import ModelBundle

Tensor = torch.Tensor


class CopyLast:
    """Pixel-space parts: identity encoder/decoder, zero latent actions, frozen world."""

    needs_states = False

    def encode(self, observations: Tensor) -> Tensor:  # (B,T,3,H,W) uint8/float -> float [0,1]
        return observations.float() / 255.0 if observations.dtype == torch.uint8 else observations.float()

    def decode(self, states: Tensor) -> Tensor:
        return states.clamp(0, 1)

    def infer(self, states: Tensor) -> Tensor:
        return torch.zeros(states.shape[0], states.shape[1] - 1, 1)

    def to_latent(self, actions: Tensor, states: Tensor | None) -> Tensor:
        return torch.zeros(actions.shape[0], actions.shape[1], 1)

    def step(self, context: Tensor, latent_actions: Tensor) -> Tensor:
        return context[:, -1:]

    def rollout(self, context: Tensor, latent_actions: Tensor) -> Tensor:
        return context[:, -1:].expand(-1, latent_actions.shape[1], *context.shape[2:]).clone()


def copy_last(suite=None) -> ModelBundle:
    part = CopyLast()
    return ModelBundle("copy_last", encoder=part, decoder=part, lam=part, world_model=part, controller=part,
                       info={"provenance": "baseline: repeats the last observed frame"})


class StateIdentity:
    """Encoder and controller of the oracles: the state is the observation (its angle dims
    unwrapped along time, so a goal across ±π stays one small step away), the latent the action."""

    needs_states = False

    def __init__(self, angle_dims: tuple[int, ...]):
        self.angle_dims = list(angle_dims)

    def encode(self, observations: Tensor) -> Tensor:  # (B,T,D) -> (B,T,D)
        states = observations.double().clone()
        angles = states[..., self.angle_dims]
        steps = torch.diff(angles, dim=1)
        wrapped = (steps + torch.pi) % (2 * torch.pi) - torch.pi
        states[:, 1:, self.angle_dims] = angles[:, :1] + torch.cumsum(wrapped, dim=1)
        return states.float()

    def to_latent(self, actions: Tensor, states: Tensor | None) -> Tensor:
        return actions.float()


class DeltaStateDynamics:
    """Franka state (xyz, euler, gripper) + DROID-style delta action = next state."""

    def step(self, context: Tensor, latent_actions: Tensor) -> Tensor:
        return context[:, -1:] + latent_actions

    def rollout(self, context: Tensor, latent_actions: Tensor) -> Tensor:
        return context[:, -1:] + torch.cumsum(latent_actions, dim=1)


class UnicycleDynamics:
    """Pose (x, y, yaw) ⊕ (dx, dy, dyaw) given in the pose's own frame."""

    def step(self, context: Tensor, latent_actions: Tensor) -> Tensor:
        return self.rollout(context, latent_actions)

    def rollout(self, context: Tensor, latent_actions: Tensor) -> Tensor:
        pose, out = context[:, -1], []
        for t in range(latent_actions.shape[1]):
            dx, dy, dyaw = latent_actions[:, t].unbind(-1)
            x, y, yaw = pose.unbind(-1)
            pose = torch.stack([x + dx * torch.cos(yaw) - dy * torch.sin(yaw),
                                y + dx * torch.sin(yaw) + dy * torch.cos(yaw), yaw + dyaw], dim=-1)
            out.append(pose)
        return torch.stack(out, dim=1)


def oracle_droid(suite=None) -> ModelBundle:
    part = StateIdentity(angle_dims=(3, 4, 5))
    return ModelBundle("oracle_droid", encoder=part, controller=part, world_model=DeltaStateDynamics(),
                       info={"provenance": "true dynamics of the generated Franka data (needs suite.observation=state)"})


PRIVILEGED_DYNAMICS = "privileged_dynamics"  # ModelBundle.info key: the suite's simulator is the world model


def robodesk_simulator(suite=None) -> ModelBundle:
    """No parts: suite vp2_robodesk plays each candidate in its own simulator from the true state
    (``robodesk_runtime.rollout_costs``) instead of asking a model."""
    return ModelBundle("robodesk_simulator", info={PRIVILEGED_DYNAMICS: True, "provenance": (
        "privileged reference: the simulator's true dynamics and state, not a model")})


def oracle_nav(suite=None) -> ModelBundle:
    part = StateIdentity(angle_dims=(2,))
    return ModelBundle("oracle_nav", encoder=part, controller=part, world_model=UnicycleDynamics(),
                       info={"provenance": "true dynamics of the generated navigation data (suite.observation=state)"})
