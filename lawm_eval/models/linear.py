"""A linear world model for the point-mass suite: s' = A s + B a, fitted by least squares on
random transitions of the suite's simulator (or taken exactly with ``fit='exact'``).

Encoder and controller are identities: the state is the observation vector and the latent
action is the real action, so CEM on this model solves the toy protocol.
"""

from __future__ import annotations

import numpy as np
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ConfigError, ModelError


class IdentityEncoder:
    def encode(self, observations: torch.Tensor) -> torch.Tensor:  # (B,T,D) -> (B,T,D)
        if observations.dim() != 3:
            raise ModelError(
                f"the linear model reads state vectors (B,T,D); got shape {tuple(observations.shape)} "
                "(use suite.observation=state)"
            )
        return observations.float()


class IdentityController:
    needs_states = False

    def to_latent(self, actions: torch.Tensor, states: torch.Tensor | None) -> torch.Tensor:
        return actions  # (B,H,A) -> (B,H,L=A)


class LinearWorldModel:
    """s_{t+1} = A s_t + B z_t with z the latent (= real) action."""

    def __init__(self, A: np.ndarray, B: np.ndarray):
        self.A = torch.as_tensor(A, dtype=torch.float32)  # (S, S)
        self.B = torch.as_tensor(B, dtype=torch.float32)  # (S, L)

    def step(self, context: torch.Tensor, latent_actions: torch.Tensor) -> torch.Tensor:
        # (B,Tc,S), (B,1,L) -> (B,1,S)
        return context[:, -1:] @ self.A.T + latent_actions @ self.B.T

    def rollout(self, context: torch.Tensor, latent_actions: torch.Tensor) -> torch.Tensor:
        # (B,Tc,S), (B,H,L) -> (B,H,S)
        state = context[:, -1]  # (B, S)
        states = []
        for t in range(latent_actions.shape[1]):
            state = state @ self.A.T + latent_actions[:, t] @ self.B.T
            states.append(state)
        return torch.stack(states, dim=1)


def fit_linear_dynamics(env, transitions: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares A, B from ``transitions`` random (s, a, s') triples of ``env``."""
    rng = np.random.default_rng(seed)
    states = np.concatenate(
        [rng.uniform(-1, 1, (transitions, 2)), rng.uniform(-1, 1, (transitions, 2))], axis=1
    )  # (N, 4)
    actions = rng.uniform(-1, 1, (transitions, env.action_dim))  # (N, 2)
    nxt = env.transition(states, actions)  # (N, 4)
    inputs = np.concatenate([states, actions], axis=1)  # (N, 6)
    solution, *_ = np.linalg.lstsq(inputs, nxt, rcond=None)  # (6, 4)
    A, B = solution[: env.state_dim].T, solution[env.state_dim :].T
    return A, B


def build_linear_model(suite, fit: str = "least_squares", transitions: int = 500, seed: int = 0,
                       gain_error: float = 0.0) -> ModelBundle:
    """Factory for ``model=linear``. ``gain_error`` scales B by (1 + gain_error): a wrong model."""
    if not hasattr(suite, "make_env"):
        raise ModelError(f"model 'linear' works only with suite 'point_mass', not '{suite.name}'")
    env = suite.make_env()
    if fit == "exact":
        A, B = env.A, env.B
    elif fit == "least_squares":
        if transitions < env.state_dim + env.action_dim:
            raise ConfigError("model.transitions must be at least 6 for a least-squares fit")
        A, B = fit_linear_dynamics(env, transitions, seed)
    else:
        raise ConfigError(f"model.fit must be 'exact' or 'least_squares', got '{fit}'")
    world_model = LinearWorldModel(A, B * (1.0 + gain_error))
    return ModelBundle(
        model_id="linear",
        encoder=IdentityEncoder(),
        controller=IdentityController(),
        world_model=world_model,
        info={"fit": fit, "transitions": transitions, "gain_error": gain_error},
    )
