"""Any policy with Gaussian noise on its motion commands: ``model=noisy_policy model.base=libero_bc
model.noise=0.2``. A ladder of learned policies of graded skill for the LIBERO policy population that
an imagined evaluation can also run (the perturbed oracle reads the simulator, which imagination lacks).

Each action's first six dimensions (the delta pose) get N(0, noise²), then are clipped to [−1, 1], the
range of LIBERO's OSC commands; the gripper command is left as it is. Seeded per episode."""

from __future__ import annotations

from typing import Any

import numpy as np

from lawm_eval.errors import ConfigError

TRAITS = ("needs_images", "closed_loop", "privileged", "needs_simulator")  # passed through to the suites


class NoisyPolicy:
    def __init__(self, base: Any, noise: float):
        self.base, self.noise = base, noise
        for trait in TRAITS:
            if hasattr(base, trait):
                setattr(self, trait, getattr(base, trait))
        self.rng = np.random.default_rng(0)

    def reset(self, seed: int) -> None:
        self.base.reset(seed)
        self.rng = np.random.default_rng([int(seed), 1])

    def act(self, obs: dict) -> np.ndarray:
        chunk = np.array(self.base.act(obs), dtype=np.float64, copy=True)
        single = chunk.ndim == 1
        chunk = chunk.reshape(-1, chunk.shape[-1])
        chunk[:, :6] = np.clip(chunk[:, :6] + self.rng.normal(0.0, self.noise, (len(chunk), 6)), -1.0, 1.0)
        return chunk[0] if single else chunk


def noisy_policy(suite: Any = None, base: str = "libero_bc", noise: float = 0.1):
    """The bundle of model ``base`` (any model with a config file) with its policy made noisy."""
    from lawm_eval.bundle import ModelBundle, make_bundle
    from lawm_eval.models.specs import model_spec

    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise <= 2:
        raise ConfigError(f"model.noise={noise!r}: a standard deviation in [0, 2] (actions are in [-1, 1])")
    inner = make_bundle(model_spec(base).config, suite)
    if inner.policy is None:
        raise ConfigError(f"model.base={base!r} has no policy to make noisy")
    return ModelBundle("noisy_policy", policy=NoisyPolicy(inner.policy, float(noise)), inputs=inner.inputs,
                       checkpoint=inner.checkpoint, checkpoint_sha256=inner.checkpoint_sha256,
                       info={**inner.info, "base": base, "noise": float(noise),
                             "provenance": f"{base} with N(0, {noise}²) on its motion commands"})
