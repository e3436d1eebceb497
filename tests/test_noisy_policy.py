"""The noisy-policy wrapper: the base policy's chunk plus seeded noise on the motion commands."""

from __future__ import annotations

import numpy as np
import pytest

from lawm_eval.errors import ConfigError
from lawm_eval.models.noisy import NoisyPolicy, noisy_policy


class Constant:
    needs_images = False
    closed_loop = True

    def reset(self, seed):
        self.seed = seed

    def act(self, obs):
        return np.array([[0.9, 0, 0, 0, 0, -0.5, 1.0]] * 3)


def test_noise_moves_only_the_motion_commands_is_clipped_and_seeded():
    policy = NoisyPolicy(Constant(), 0.3)
    assert policy.needs_images is False and policy.closed_loop is True  # the base's traits pass through
    policy.reset(5)
    first = policy.act({})
    assert first.shape == (3, 7) and (first[:, 6] == 1.0).all()  # the gripper is untouched
    assert np.abs(first[:, :6]).max() <= 1.0 and not np.allclose(first[:, :6], Constant().act({})[:, :6])
    policy.reset(5)
    assert np.array_equal(policy.act({}), first)  # the same seed, the same noise
    policy.reset(6)
    assert not np.array_equal(policy.act({}), first)
    quiet = NoisyPolicy(Constant(), 0.0)
    quiet.reset(1)
    assert np.array_equal(quiet.act({}), Constant().act({}))


def test_the_factory_wraps_any_model_with_a_policy_and_checks_the_noise():
    from types import SimpleNamespace

    suite = SimpleNamespace(action_dim=7)
    bundle = noisy_policy(suite, base="noop", noise=0.2)
    assert bundle.model_id == "noisy_policy" and bundle.info["base"] == "noop" and bundle.info["noise"] == 0.2
    bundle.policy.reset(0)
    assert np.asarray(bundle.policy.act({"state": np.zeros(8)})).shape[-1] == 7
    with pytest.raises(ConfigError, match="model.noise"):
        noisy_policy(suite, base="noop", noise=-1)
    with pytest.raises(ConfigError, match="no policy"):
        noisy_policy(suite, base="copy_last")
