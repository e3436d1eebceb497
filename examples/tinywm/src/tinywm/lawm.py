"""A world model of the point mass (lawm-eval's `point_mass` suite) with its exact linear dynamics.

lawm-eval checks methods, not base classes: the object below has `encode` (an Encoder), `to_latent`
(an ActionController) and `step` + `rollout` (a WorldModel), so it fills those three parts, which
is what `point_mass` requires. Every method takes and returns torch tensors (CPU, float32).
"""

from __future__ import annotations

import torch

from lawm_eval.bundle import ModelBundle


class TinyWM:
    """State s = (x, y, vx, vy); latent action z = the force, clipped to [-1, 1] as the simulator does.

        v' = (1 - damping) v + dt z,    p' = p + dt v'     i.e.  s' = A s + B z
    """

    needs_states = False  # to_latent ignores the states: planners roll out a whole horizon at once

    def __init__(self, dt: float = 0.1, damping: float = 0.1):
        keep = 1.0 - damping
        self.A = torch.tensor([[1, 0, dt * keep, 0], [0, 1, 0, dt * keep], [0, 0, keep, 0], [0, 0, 0, keep]],
                              dtype=torch.float32)
        self.B = torch.tensor([[dt * dt, 0], [0, dt * dt], [dt, 0], [0, dt]], dtype=torch.float32)

    def encode(self, observations: torch.Tensor) -> torch.Tensor:
        """(B,T,4) state vectors -> (B,T,4) states (point_mass with suite.observation=state)."""
        if observations.dim() != 3:
            raise ValueError(f"TinyWM reads (B,T,4) state vectors, got {tuple(observations.shape)}; "
                             "use suite.observation=state")
        return observations.float()

    def to_latent(self, actions: torch.Tensor, states: torch.Tensor | None) -> torch.Tensor:
        """(B,H,2) forces -> (B,H,2) latent actions."""
        return actions.clamp(-1.0, 1.0)

    def step(self, context: torch.Tensor, latent_actions: torch.Tensor) -> torch.Tensor:
        """(B,Tc,4), (B,1,2) -> (B,1,4)."""
        return self.rollout(context, latent_actions)

    def rollout(self, context: torch.Tensor, latent_actions: torch.Tensor) -> torch.Tensor:
        """(B,Tc,4), (B,H,2) -> (B,H,4): the next H states."""
        state, states = context[:, -1], []
        for t in range(latent_actions.shape[1]):
            state = state @ self.A.T + latent_actions[:, t] @ self.B.T
            states.append(state)
        return torch.stack(states, dim=1)


def make_wm(suite=None, model_id: str = "tinywm") -> ModelBundle:
    """The factory lawm-eval calls (entry point `model.tinywm`). With `suite=` it reads the point
    mass's dt and damping from the suite's parameters, so `suite.dt=...` changes both sides."""
    params = getattr(suite, "params", {})
    wm = TinyWM(dt=params.get("dt", 0.1), damping=params.get("damping", 0.1))
    # One object fills three parts; a ModelBundle also names the model in every record and leaderboard row.
    return ModelBundle(model_id, encoder=wm, controller=wm, world_model=wm,
                       info={"provenance": "examples/tinywm: exact point-mass dynamics"})
