"""Predict the states that real actions lead to through a model's controller and world model, and check
what the model returned: the one path every suite, planner and wrapping model (``models/ensemble.py``) takes."""

from __future__ import annotations

import torch

from lawm_eval.errors import ModelError

Tensor = torch.Tensor


def type_name(obj: object) -> str:
    """'numpy.ndarray', 'list': what a model returned instead of a tensor."""
    cls = type(obj)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def check_states(states: Tensor, expected_lead: tuple[int, ...], state_shape: tuple[int, ...], who: str) -> None:
    """Raise ModelError on a wrong shape or non-finite values in a model's output."""
    if not isinstance(states, Tensor):
        raise ModelError(f"{who} returned a {type_name(states)}, expected a torch.Tensor")
    expected = (*expected_lead, *state_shape)
    if tuple(states.shape) != expected:
        raise ModelError(f"{who} returned shape {tuple(states.shape)}, expected {expected}")
    if not bool(torch.isfinite(states).all()):
        bad = int((~torch.isfinite(states)).sum())
        raise ModelError(f"{who} returned {bad} NaN/inf values")


def rollout_actions(world_model, controller, context: Tensor, actions: Tensor) -> Tensor:
    """Predict the states that real ``actions`` lead to.

    context (B,Tc,*S), actions (B,H,A) -> states (B,H,*S). A controller that needs the predicted
    states (``needs_states = True``) is applied one step at a time: ŝ_{i+1} = WM(ŝ_≤i, c(a_i, ŝ_i));
    otherwise the whole horizon goes through one ``rollout`` call.
    """
    B, H = actions.shape[:2]
    state_shape = tuple(context.shape[2:])
    if not getattr(controller, "needs_states", False):
        latents = controller.to_latent(actions, None)  # (B, H, L)
        if not isinstance(latents, Tensor):
            raise ModelError(f"controller.to_latent returned a {type_name(latents)}, expected a torch.Tensor")
        if latents.shape[:2] != (B, H):
            raise ModelError(f"controller.to_latent returned {tuple(latents.shape)}, expected ({B}, {H}, L)")
        states = world_model.rollout(context, latents)  # (B, H, *S)
        check_states(states, (B, H), state_shape, "world_model.rollout")
        return states
    history = context
    predicted = []
    for i in range(H):
        current = history[:, -1:]  # (B, 1, *S)
        latent = controller.to_latent(actions[:, i : i + 1], current)  # (B, 1, L)
        nxt = world_model.step(history, latent)  # (B, 1, *S)
        check_states(nxt, (B, 1), state_shape, "world_model.step")
        predicted.append(nxt)
        history = torch.cat([history, nxt], dim=1)
    return torch.cat(predicted, dim=1)
