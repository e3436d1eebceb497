"""The toy protocol end to end: an exact linear model + CEM reaches every goal."""

from __future__ import annotations

import numpy as np
import pytest

from lawm_eval.envs.point_mass import PointMassEnv
from lawm_eval.runner.records import EPISODES_FILE, read_records
from lawm_eval.runner.run import run_evaluation


def run_episodes(compose, *overrides: str) -> dict:
    """Run the suite; its error-free records by (episode index, seed), so that runs pair episode by episode."""
    outcome = run_evaluation(compose(*overrides))
    records = read_records(outcome.run_dir / EPISODES_FILE)[0]
    assert [r.error for r in records if r.error] == []
    return {(r.episode_idx, r.seed): r for r in records}


def mean(records: dict, name: str) -> float:
    return float(np.mean([r.metrics[name] for r in records.values()]))


def success_rate(records: dict) -> float:
    return float(np.mean([bool(r.success) for r in records.values()]))


def test_dynamics_are_the_stated_linear_system():
    env = PointMassEnv(dt=0.1, damping=0.1)
    rng = np.random.default_rng(0)
    s, a = rng.normal(size=(5, 4)), rng.uniform(-1, 1, size=(5, 2))
    v = 0.9 * s[:, 2:] + 0.1 * a
    p = s[:, :2] + 0.1 * v
    assert np.allclose(env.transition(s, a), np.concatenate([p, v], axis=1))
    # actions are clipped to [-1, 1]
    assert np.allclose(env.transition(s, 3 * np.ones((5, 2))), env.transition(s, np.ones((5, 2))))


def test_least_squares_fit_recovers_the_dynamics():
    from lawm_eval.models.linear import fit_linear_dynamics

    env = PointMassEnv()
    A, B = fit_linear_dynamics(env, transitions=50, seed=0)
    assert np.allclose(A, env.A, atol=1e-10) and np.allclose(B, env.B, atol=1e-10)


def test_cem_with_the_linear_model_reaches_every_goal(compose):
    records = run_episodes(compose, "suite.episodes=6", "run_id=exact")
    assert len(records) == 6
    assert success_rate(records) == 1.0
    assert mean(records, "final_distance") < 0.05


def test_a_wrong_model_does_worse(compose):
    good = run_episodes(compose, "suite.episodes=4", "run_id=good")
    bad = run_episodes(compose, "suite.episodes=4", "run_id=bad", "model.gain_error=4.0", "suite.max_steps=25")
    assert success_rate(bad) < success_rate(good)
    assert mean(bad, "final_distance") > 2 * mean(good, "final_distance")


@pytest.mark.parametrize("planner", ["mppi", "random_shooting"])
def test_other_planners_reach_the_goals_that_no_planning_misses(compose, planner):
    planned = run_episodes(compose, "suite.episodes=3", f"planner={planner}", f"run_id={planner}")
    # the same episodes (seeds) with one random action sequence per step and no model query
    unplanned = run_episodes(compose, "suite.episodes=3", "planner=random", "run_id=random")
    assert planned.keys() == unplanned.keys() and len(planned) == 3
    assert success_rate(planned) == 1.0 and success_rate(unplanned) == 0.0
    for key, record in planned.items():
        assert record.metrics["final_distance"] < 0.05  # suite.success_radius
        assert unplanned[key].metrics["min_distance"] > 0.2  # without planning the mass never came near


def test_mppi_solves_the_toy(compose):
    assert success_rate(run_episodes(compose, "suite.episodes=4", "planner=mppi", "run_id=m")) == 1.0


def test_rgb_observation_renders_frames():
    env = PointMassEnv(image_size=32)
    env.reset(0)
    image = env.render()
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    env.step(np.array([1.0, 1.0]))
    env.step(np.array([1.0, 1.0]))
    assert not np.array_equal(image, env.render())  # the mass moved
