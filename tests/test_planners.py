"""Planners: analytic optimum on a linear-quadratic problem, determinism, one batched call per iteration;
the no-planning baseline (``random``) never queries the model."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from lawm_eval.envs.point_mass import PointMassEnv
from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.planners.cem import CEMPlanner
from lawm_eval.planners.common import ActionBox, per_dim
from lawm_eval.planners.mppi import MPPIPlanner
from lawm_eval.planners.random_shooting import RandomPlanner, RandomShootingPlanner

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


def never_called(actions):
    raise AssertionError("the random planner queried the model")


@pytest.mark.parametrize("distribution", ["uniform", "gaussian"])
def test_random_planner_never_queries_the_model(distribution):
    planner = RandomPlanner(2, horizon=H, distribution=distribution)
    result = planner.plan(never_called, torch.Generator().manual_seed(0), init_mean=torch.zeros(2, 2))
    assert result.actions.shape == (H, 2) and math.isnan(result.cost)
    assert result.info == {"note": "random baseline, no model query"}


@pytest.mark.parametrize("distribution", ["uniform", "gaussian"])
def test_random_planner_is_seeded(distribution):
    def plan(seed):
        planner = RandomPlanner(2, horizon=H, distribution=distribution, init_std=0.3)
        return planner.plan(never_called, torch.Generator().manual_seed(seed)).actions

    assert torch.equal(plan(5), plan(5))
    assert not torch.equal(plan(5), plan(6))


def test_random_planner_is_uniform_on_its_box():
    low, high = torch.tensor([-0.1, -0.75]), torch.tensor([0.3, 0.25])
    planner = RandomPlanner(2, horizon=4, action_low=low.tolist(), action_high=high.tolist())
    plans = torch.stack([planner.plan(never_called, torch.Generator().manual_seed(s)).actions for s in range(500)])
    flat = plans.reshape(-1, 2).double()  # 2000 actions
    assert bool((flat >= low).all() and (flat <= high).all())
    width = (high - low).double()
    # U(low, high): mean at the centre, std width/√12 (4 standard errors of tolerance)
    assert torch.allclose(flat.mean(0), (low + high).double() / 2, atol=float(0.03 * width.max()))
    assert torch.allclose(flat.std(0), width / math.sqrt(12), rtol=0.05)


def test_random_gaussian_is_centred_on_the_warm_start_and_clipped_to_the_box():
    planner = RandomPlanner(2, horizon=3, distribution="gaussian", init_std=[0.01, 5.0], action_low=-1.0,
                            action_high=1.0)
    warm = torch.tensor([[0.5, 0.0], [-0.3, 0.0]])  # padded to the horizon by repeating its last step
    plans = torch.stack([planner.plan(never_called, torch.Generator().manual_seed(s), init_mean=warm).actions
                         for s in range(300)])  # (300, 3, 2)
    assert torch.allclose(plans[..., 0].mean(0), torch.tensor([0.5, -0.3, -0.3]), atol=0.004)
    assert float(plans[..., 1].abs().max()) <= 1.0
    assert float((plans[..., 1].abs() == 1.0).float().mean()) > 0.75  # P(|N(0, 5)| > 1) = 0.84


def test_random_shooting_returns_the_best_of_its_samples():
    problem = LinearQuadratic()
    seen = []
    planner = RandomShootingPlanner(2, horizon=H, num_samples=50, action_low=-0.5, action_high=0.5)
    result = planner.plan(lambda a: seen.append(a) or problem(a), torch.Generator().manual_seed(0))
    assert len(seen) == 1 and seen[0].shape == (50, H, 2)
    assert float(seen[0].abs().max()) <= 0.5
    costs = problem(seen[0]).double()
    assert torch.equal(result.actions, seen[0][int(costs.argmin())])
    assert result.cost == float(costs.min())


def test_registered_random_planners_keep_their_names_and_options():
    from lawm_eval.catalog import registries

    planners = registries()["planner"]
    assert planners.get("random") is RandomPlanner and planners.get("random_shooting") is RandomShootingPlanner
    options = {"horizon", "distribution", "init_std", "action_low", "action_high"}
    assert set(dataclasses.asdict(RandomPlanner.Config())) == options
    assert set(dataclasses.asdict(RandomShootingPlanner.Config())) == options | {"num_samples"}
    with pytest.raises(TypeError, match="num_samples"):  # one sequence: no sample count to set
        RandomPlanner(2, num_samples=3)


def test_per_dim_values_and_unbounded_boxes():
    assert torch.equal(per_dim(0.5, 3, "init_std"), torch.full((3,), 0.5))
    assert torch.equal(per_dim([1, 2], 2, "init_std"), torch.tensor([1.0, 2.0]))
    with pytest.raises(ConfigError, match="planner.init_std must be set"):
        per_dim(None, 2, "init_std")
    box = ActionBox(None, [1.0, 2.0], 2)
    assert bool(torch.isinf(box.low).all() and (box.low < 0).all()) and box.high.tolist() == [1.0, 2.0]
    assert torch.equal(box.clip(torch.tensor([[-9.0, 9.0]])), torch.tensor([[-9.0, 2.0]]))
    with pytest.raises(ConfigError, match="needs finite planner.action_low"):
        RandomPlanner(2, action_low=None)
    with pytest.raises(ConfigError, match="distribution"):
        RandomShootingPlanner(2, distribution="beta")
