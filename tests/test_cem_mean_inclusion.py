"""CEM mean-sample inclusion (jepa-wms planner.py: sample 0 := the current mean every iteration)."""

from __future__ import annotations

import torch

from lawm_eval.planners.cem import CEMPlanner

H, A = 3, 2


class Recorder:
    """A bumpy cost that records every batch it scores: ‖a − target‖² plus a ripple, so the elite mean
    is not always better than the elites."""

    def __init__(self):
        self.target = torch.tensor([[0.3, -0.2], [0.1, 0.4], [-0.3, 0.2]])  # (H, A)
        self.batches: list[torch.Tensor] = []

    def cost(self, actions: torch.Tensor) -> torch.Tensor:  # (N,H,A) -> (N,)
        d = actions - self.target
        return (d**2).flatten(1).sum(1) + 0.05 * torch.sin(25 * actions).flatten(1).sum(1) ** 2

    def __call__(self, actions: torch.Tensor) -> torch.Tensor:
        self.batches.append(actions.clone())
        return self.cost(actions)


def elite_mean(batch: torch.Tensor, costs: torch.Tensor, k: int) -> torch.Tensor:
    return batch[torch.argsort(costs, stable=True)[:k]].mean(0)


def run(include_mean: bool, iterations: int = 6) -> Recorder:
    objective = Recorder()
    planner = CEMPlanner(A, horizon=H, num_samples=40, num_elites=5, iterations=iterations, init_std=0.5,
                         select="mean", include_mean=include_mean, action_low=-1.0, action_high=1.0)
    planner.plan(objective, torch.Generator().manual_seed(3))
    return objective


def test_sample_zero_is_the_current_mean_at_every_iteration():
    objective = run(include_mean=True)
    batches = objective.batches[:-1]  # the last call scores the returned mean (select=mean)
    assert torch.equal(batches[0][0], torch.zeros(H, A))  # the initial mean
    for before, batch in zip(batches, batches[1:]):
        assert torch.allclose(batch[0], elite_mean(before, objective.cost(before), 5), atol=1e-6)


def test_with_mean_inclusion_an_iteration_never_scores_worse_than_the_mean_it_starts_from():
    objective = run(include_mean=True, iterations=10)
    batches = objective.batches[:-1]
    for before, batch in zip(batches, batches[1:]):
        mean = elite_mean(before, objective.cost(before), 5)
        assert float(objective.cost(batch).min()) <= float(objective.cost(mean[None])[0]) + 1e-6


def test_without_mean_inclusion_sample_zero_is_a_random_draw():
    objective = run(include_mean=False)
    batches = objective.batches[:-1]
    assert not torch.equal(batches[0][0], torch.zeros(H, A))
    assert not any(torch.allclose(b[0], elite_mean(a, objective.cost(a), 5), atol=1e-6)
                   for a, b in zip(batches, batches[1:]))


def test_mean_inclusion_keeps_the_random_stream_of_the_other_samples():
    # the mean replaces sample 0 only: the other N-1 draws are those of the run without it
    with_mean, without = run(include_mean=True, iterations=1), run(include_mean=False, iterations=1)
    assert torch.equal(with_mean.batches[0][1:], without.batches[0][1:])
