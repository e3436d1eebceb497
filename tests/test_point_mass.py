"""The toy protocol end to end: an exact linear model + CEM reaches every goal."""

from __future__ import annotations

import numpy as np
import pytest

from lawm_eval.envs.point_mass import PointMassEnv
from lawm_eval.runner.run import run_evaluation


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
    outcome = run_evaluation(compose("suite.episodes=6", "run_id=exact"))
    overall = outcome.summary["overall"]
    assert overall["episodes"] == 6 and overall["errors"] == 0
    assert overall["success_rate"]["value"] == 1.0
    assert overall["metrics"]["final_distance"]["value"] < 0.05


def test_a_wrong_model_does_worse(compose):
    good = run_evaluation(compose("suite.episodes=4", "run_id=good")).summary["overall"]
    bad = run_evaluation(compose("suite.episodes=4", "run_id=bad", "model.gain_error=4.0",
                                 "suite.max_steps=25")).summary["overall"]
    assert bad["success_rate"]["value"] < good["success_rate"]["value"]
    assert bad["metrics"]["final_distance"]["value"] > 2 * good["metrics"]["final_distance"]["value"]


@pytest.mark.parametrize("planner", ["mppi", "random_shooting"])
def test_other_planners_run_the_protocol(compose, planner):
    outcome = run_evaluation(compose("suite.episodes=3", f"planner={planner}", f"run_id={planner}"))
    assert outcome.summary["overall"]["errors"] == 0
    assert outcome.summary["overall"]["success_rate"]["n"] == 3


def test_mppi_solves_the_toy(compose):
    overall = run_evaluation(compose("suite.episodes=4", "planner=mppi", "run_id=m")).summary["overall"]
    assert overall["success_rate"]["value"] == 1.0


def test_rgb_observation_renders_frames():
    env = PointMassEnv(image_size=32)
    env.reset(0)
    image = env.render()
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    env.step(np.array([1.0, 1.0]))
    env.step(np.array([1.0, 1.0]))
    assert not np.array_equal(image, env.render())  # the mass moved
