"""The model interface: structural Protocols a user's model satisfies without inheriting from us.

Shapes (B batch, T time, Tc context length, H horizon, A real-action dim, L latent-action dim,
S the model's state shape, e.g. (D,) or (N_tokens, D), C/Hi/W image channels/height/width):

    Encoder.encode(observations (B,T,C,Hi,W) uint8|float or (B,T,D) proprio) -> states (B,T,*S)
    LatentActionModel.infer(states (B,T+1,*S))               -> latent_actions (B,T,L)
    WorldModel.step(context (B,Tc,*S), latent (B,1,L))       -> next_state (B,1,*S)
    WorldModel.rollout(context (B,Tc,*S), latent (B,H,L))    -> states (B,H,*S)
    ActionController.to_latent(actions (B,H,A), states (B,H,*S) | None) -> latent (B,H,L)
    Decoder.decode(states (B,T,*S))                          -> frames (B,T,C,Hi,W) float in [0,1]
    Policy.reset(seed); Policy.act(obs)                      -> action chunk (Hc,A)
    SamplingPolicy.sample(obs, n, generator)                 -> n action chunks (n,Hc,A)
    Objective(actions (N,H,A))                               -> costs (N,)  (lower is better)
    Planner.plan(objective, generator, init_mean (H',A)|None) -> PlanResult(actions (H,A), cost, info)

A model that predicts pixels directly uses frames as its state and the identity as its Encoder.
An ActionController whose latent actions depend on the predicted state sets
``needs_states = True``; planners then roll out one step at a time (still one batched call over all
candidates per step). Without it, one ``rollout`` call covers the whole horizon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import torch

    Tensor = torch.Tensor


@runtime_checkable
class Encoder(Protocol):
    def encode(self, observations: Tensor) -> Tensor:
        """(B,T,C,H,W) images or (B,T,D) vectors -> (B,T,*S) states."""
        ...


@runtime_checkable
class LatentActionModel(Protocol):
    """An inverse dynamics model (IDM) that explains transitions with latent actions."""

    def infer(self, states: Tensor) -> Tensor:
        """(B,T+1,*S) -> (B,T,L) latent actions, one per transition."""
        ...


@runtime_checkable
class WorldModel(Protocol):
    def step(self, context: Tensor, latent_actions: Tensor) -> Tensor:
        """(B,Tc,*S), (B,1,L) -> (B,1,*S) the next state."""
        ...

    def rollout(self, context: Tensor, latent_actions: Tensor) -> Tensor:
        """(B,Tc,*S), (B,H,L) -> (B,H,*S) the next H states, fed back autoregressively."""
        ...


@runtime_checkable
class ActionController(Protocol):
    """Maps real robot actions to the latent actions the world model understands."""

    def to_latent(self, actions: Tensor, states: Tensor | None) -> Tensor:
        """(B,H,A), (B,H,*S) or None -> (B,H,L)."""
        ...


@runtime_checkable
class Decoder(Protocol):
    def decode(self, states: Tensor) -> Tensor:
        """(B,T,*S) -> (B,T,C,H,W) float frames in [0, 1]."""
        ...


@runtime_checkable
class Policy(Protocol):
    def reset(self, seed: int) -> None:
        """Start a new episode; the seed makes a stochastic policy reproducible."""
        ...

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        """Observation dict -> (Hc,A) action chunk; the suite executes ``execute_steps`` of it."""
        ...


@runtime_checkable
class SamplingPolicy(Protocol):
    """A policy that draws several candidate chunks (VLA noise seeds) for selection protocols."""

    def sample(self, obs: dict[str, Any], n: int, generator: torch.Generator) -> np.ndarray:
        """Observation dict -> (n,Hc,A) candidate action chunks."""
        ...


@runtime_checkable
class Objective(Protocol):
    """A batched planning cost: all N candidate action sequences in one call."""

    def __call__(self, actions: Tensor) -> Tensor:
        """(N,H,A) -> (N,) costs, lower is better."""
        ...


@dataclass
class PlanResult:
    actions: Tensor  # (H, A) the plan to execute (first steps) and warm-start from
    cost: float  # the objective's value for ``actions`` (or for the best sample)
    info: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Planner(Protocol):
    """Stateless: the suite passes the unexecuted rest of the last plan as ``init_mean``."""

    def plan(
        self, objective: Objective, generator: torch.Generator, init_mean: Tensor | None = None
    ) -> PlanResult:
        ...


MODEL_PARTS: dict[str, type] = {
    "encoder": Encoder,
    "lam": LatentActionModel,
    "world_model": WorldModel,
    "controller": ActionController,
    "decoder": Decoder,
    "policy": Policy,
    "sampler": SamplingPolicy,
}
