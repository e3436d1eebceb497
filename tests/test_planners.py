"""Planners: analytic optimum on a linear-quadratic problem, determinism, one batched call per iteration."""

from __future__ import annotations

import pytest
import torch

from lawm_eval.envs.point_mass import PointMassEnv
from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.planners.cem import CEMPlanner
from lawm_eval.planners.mppi import MPPIPlanner
from lawm_eval.planners.random_shooting import RandomShootingPlanner

H, LAM = 5, 0.01


class LinearQuadratic:
    """J(a) = ‖s_H(a) − g‖² + λ‖a‖² on the point mass; s_H = c + M a is linear in a."""

    def __init__(self):
        env = PointMassEnv()
        A = torch.tensor(env.A, dtype=torch.float64)
        B = torch.tensor(env.B, dtype=torch.float64)
        s0 = torch.tensor([0.1, -0.2, 0.3, 0.0], dtype=torch.float64)
        self.goal = torch.tensor([0.15, -0.15, 0.2, 0.3], dtype=torch.float64)
        self.M = torch.cat([torch.linalg.matrix_power(A, H - 1 - t) @ B for t in range(H)], dim=1)  # (4, 2H)
        self.c = torch.linalg.matrix_power(A, H) @ s0  # (4,)
        self.calls: list[tuple[int, ...]] = []

    def optimum(self) -> torch.Tensor:
        M = self.M
        a = torch.linalg.solve(M.T @ M + LAM * torch.eye(2 * H, dtype=torch.float64), M.T @ (self.goal - self.c))
        return a.view(H, 2)

    def cost(self, actions: torch.Tensor) -> torch.Tensor:  # (N,H,2) -> (N,)
        a = actions.double().reshape(actions.shape[0], -1)
        s = self.c + a @ self.M.T
        return ((s - self.goal) ** 2).sum(1) + LAM * (a**2).sum(1)

    def __call__(self, actions: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(actions.shape))
        return self.cost(actions).float()


@pytest.mark.parametrize("select", ["best", "mean"])
def test_cem_reaches_the_analytic_optimum(select):
    problem = LinearQuadratic()
    optimum = problem.optimum()
    assert bool((optimum.abs() < 1).all())  # the bounds are not active: the optimum is unconstrained
    planner = CEMPlanner(2, horizon=H, num_samples=400, num_elites=40, iterations=25, init_std=1.0, select=select)
    result = planner.plan(problem, torch.Generator().manual_seed(0))
    j_star = float(problem.cost(optimum[None]))
    j_cem = float(problem.cost(result.actions[None]))
    assert j_cem - j_star < 1e-6 * max(1.0, j_star) + 1e-7
    assert torch.allclose(result.actions.double(), optimum, atol=2e-3)
    assert result.cost == pytest.approx(j_cem, rel=1e-4)


def test_one_cem_iteration_is_one_batched_objective_call():
    problem = LinearQuadratic()
    CEMPlanner(2, horizon=H, num_samples=123, num_elites=7, iterations=6).plan(problem, torch.Generator().manual_seed(1))
    assert problem.calls == [(123, H, 2)] * 6


def test_select_mean_evaluates_the_returned_plan_once_more():
    problem = LinearQuadratic()
    CEMPlanner(2, horizon=H, num_samples=50, num_elites=5, iterations=3, select="mean").plan(
        problem, torch.Generator().manual_seed(1))
    assert problem.calls == [(50, H, 2)] * 3 + [(1, H, 2)]


@pytest.mark.parametrize("make", [
    lambda: CEMPlanner(2, horizon=H, num_samples=64, num_elites=8, iterations=3),
    lambda: MPPIPlanner(2, horizon=H, num_samples=64, iterations=2),
    lambda: RandomShootingPlanner(2, horizon=H, num_samples=64),
])
def test_same_generator_seed_gives_the_same_plan(make):
    problem = LinearQuadratic()
    first = make().plan(problem, torch.Generator().manual_seed(5))
    second = make().plan(problem, torch.Generator().manual_seed(5))
    other = make().plan(problem, torch.Generator().manual_seed(6))
    assert torch.equal(first.actions, second.actions) and first.cost == second.cost
    assert not torch.equal(first.actions, other.actions)


def test_bounds_are_respected():
    problem = LinearQuadratic()
    planner = CEMPlanner(2, horizon=H, num_samples=64, num_elites=8, iterations=3, init_std=5.0,
                         action_low=[-0.1, -0.75], action_high=[0.1, 0.75])

    def objective(actions):
        assert bool((actions[..., 0].abs() <= 0.1 + 1e-7).all())
        assert bool((actions[..., 1].abs() <= 0.75 + 1e-7).all())
        return problem(actions)

    result = planner.plan(objective, torch.Generator().manual_seed(0))
    assert float(result.actions[:, 0].abs().max()) <= 0.1 + 1e-7


def test_cem_bound_variance_keeps_samples_near_inside():
    planner = CEMPlanner(1, horizon=1, num_samples=2000, num_elites=10, iterations=1, init_std=0.5,
                         bound_variance=True, action_low=-1, action_high=1)
    seen = []
    planner.plan(lambda a: seen.append(a) or a.sum(dim=(1, 2)), torch.Generator().manual_seed(0),
                 init_mean=torch.tensor([[0.9]]))
    samples = seen[0]
    # std shrinks to (1 - 0.9)/2 = 0.05 near the bound: samples stay within ~4 std of the mean
    assert float((samples - 0.9).abs().max()) < 0.25


def test_mppi_improves_on_its_warm_start_and_weights_by_temperature():
    problem = LinearQuadratic()
    start = torch.zeros(H, 2)
    cold = MPPIPlanner(2, horizon=H, num_samples=500, iterations=5, gamma=50.0, init_std=0.5)
    result = cold.plan(problem, torch.Generator().manual_seed(0), init_mean=start)
    assert float(problem.cost(result.actions[None])) < float(problem.cost(start[None]))
    # gamma → 0 gives the plain mean of the samples: no improvement beyond noise
    flat = MPPIPlanner(2, horizon=H, num_samples=500, iterations=1, gamma=0.0, init_std=0.5)
    mean_plan = flat.plan(problem, torch.Generator().manual_seed(0), init_mean=start)
    assert float(mean_plan.actions.abs().max()) < 0.1


def test_mppi_noise_is_correlated_in_time():
    planner = MPPIPlanner(1, horizon=6, num_samples=20000, init_std=1.0, beta=0.5, action_low=None,
                          action_high=None)
    noise = planner.correlated_noise(torch.Generator().manual_seed(0))[..., 0]  # (N, H)
    corr = torch.corrcoef(noise.T)
    # n_t = β n_{t−1} + (1−β) ε_t: corr(n_0, n_1) = β σ0 / sqrt(β²σ0² + (1−β)²) = 0.5/sqrt(0.5) ≈ 0.707
    assert float(corr[0, 1]) == pytest.approx(0.7071, abs=0.02)
    assert float(noise[:, 0].std()) == pytest.approx(1.0, abs=0.03)


def test_initial_mean_is_padded_by_repeating_the_last_action():
    planner = MPPIPlanner(2, horizon=4, num_samples=3, gamma=0.0, init_std=0.0)
    result = planner.plan(lambda a: a.sum(dim=(1, 2)), torch.Generator().manual_seed(0),
                          init_mean=torch.tensor([[0.1, 0.2], [0.3, 0.4]]))
    assert torch.allclose(result.actions, torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.3, 0.4], [0.3, 0.4]]))


def test_nan_costs_are_a_model_error():
    planner = CEMPlanner(2, horizon=3, num_samples=8, num_elites=2, iterations=1)

    def objective(actions):
        costs = actions.sum(dim=(1, 2))
        costs[3] = float("nan")
        return costs

    with pytest.raises(ModelError, match="NaN/inf for 1 of 8 candidates"):
        planner.plan(objective, torch.Generator().manual_seed(0))


def test_wrong_cost_shape_is_a_model_error():
    planner = RandomShootingPlanner(2, horizon=3, num_samples=8)
    with pytest.raises(ModelError, match=r"expected costs of shape \(8,\)"):
        planner.plan(lambda a: a.sum(dim=2), torch.Generator().manual_seed(0))


def test_bad_planner_options_are_config_errors():
    with pytest.raises(ConfigError, match="num_elites"):
        CEMPlanner(2, num_samples=5, num_elites=10)
    with pytest.raises(ConfigError, match="select"):
        CEMPlanner(2, select="median")
    with pytest.raises(ConfigError, match="3 values but the action has 2"):
        CEMPlanner(2, action_low=[0, 0, 0])
