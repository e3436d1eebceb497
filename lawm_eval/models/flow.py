"""Conditional flow matching over flat action vectors, shared by the flow-matching action heads.

A velocity field v(a_τ, τ) is trained with MSE to (a₁ − a₀) on a_τ = (1 − τ) a₀ + τ a₁, a₀ ~ N(0, I),
τ ~ U[0, 1), a₁ the normalised expert actions; sampling integrates Euler steps from noise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

Tensor = torch.Tensor
Velocity = Callable[[Tensor, Tensor], Tensor]  # (a_τ (B,D), τ (B,1)) -> (B,D)


def flow_matching_loss(velocity: Velocity, a1: Tensor, generator: torch.Generator) -> Tensor:
    """Mean squared error of the velocity at a random point of each straight noise → data path."""
    a0 = torch.randn(a1.shape, generator=generator)
    tau = torch.rand(len(a1), 1, generator=generator)
    return (velocity((1 - tau) * a0 + tau * a1, tau) - (a1 - a0)).pow(2).mean()


def initial_noise(shape: tuple[int, int],
                  generator: torch.Generator | Sequence[torch.Generator] | None) -> Tensor:
    """a₀ (B,D): zeros without a generator (the deterministic path), N(0, I) from one generator, or
    row i from generator i (as B calls of one row each would draw)."""
    if generator is None:
        return torch.zeros(shape)
    if isinstance(generator, torch.Generator):
        return torch.randn(shape, generator=generator)
    return torch.cat([torch.randn((1, shape[1]), generator=g) for g in generator])


def euler_sample(velocity: Velocity, a0: Tensor, steps: int) -> Tensor:
    """Integrate da/dτ = v(a, τ) from τ = 0 to 1 in ``steps`` Euler steps: (B,D) -> (B,D)."""
    a, dt = a0, 1.0 / steps
    for i in range(steps):
        a = a + dt * velocity(a, torch.full((len(a), 1), i * dt))
    return a
