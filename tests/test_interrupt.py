"""Ctrl-C is never lost: the executors record SIGINT (runner/executor.py:InterruptGuard) and stop at
the next safe point, even when the KeyboardInterrupt Python raised for it was swallowed because it
landed in a fork hook, a ``__del__`` or a weakref callback. (Ray: tests/test_ray.py.)"""

from __future__ import annotations

import signal

import pytest
import torch

from lawm_eval.runner.executor import InterruptGuard
from lawm_eval.runner.records import EPISODES_FILE, read_records
from lawm_eval.runner.run import run_evaluation

ignore_unraisable = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class SignalOnDelete:
    def __del__(self):
        signal.raise_signal(signal.SIGINT)


def swallowed_sigint() -> None:
    """SIGINT from inside ``__del__``: Python prints the KeyboardInterrupt ("Exception ignored in")
    and drops it, as it does in the fork hooks that ray.init runs."""
    SignalOnDelete()


@pytest.fixture(autouse=True)
def default_sigint_handler():
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    yield
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # every guard restored it


@ignore_unraisable
def test_python_alone_drops_such_a_sigint():
    swallowed_sigint()  # no KeyboardInterrupt gets here: the premise of the guard


@ignore_unraisable
@pytest.mark.parametrize("defer", [True, False])
def test_the_guard_keeps_a_swallowed_sigint(defer):
    with InterruptGuard(defer=defer) as guard:
        swallowed_sigint()
        with pytest.raises(KeyboardInterrupt):
            guard.check()


def test_deferred_the_first_sigint_waits_for_check_and_a_second_raises_at_once():
    with InterruptGuard(defer=True) as guard:
        signal.raise_signal(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            guard.check()


def test_not_deferred_a_sigint_raises_at_once():
    with InterruptGuard(defer=False) as guard:
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            guard.check()


def test_a_host_programs_own_handler_is_left_alone():
    seen: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        with InterruptGuard(defer=True) as guard:
            signal.raise_signal(signal.SIGINT)
        guard.check()  # nothing recorded: the host's handler got the signal
        assert seen == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


class SwallowingEncoder:
    """Identity encoder that sends itself one swallowed SIGINT during the episode with seed ``at_seed``."""

    def __init__(self, inner, at_seed: int):
        self.inner, self.at_seed, self.fired = inner, at_seed, False

    def encode(self, observations):
        if torch.initial_seed() == self.at_seed and not self.fired:
            self.fired = True
            swallowed_sigint()
        return self.inner.encode(observations)


def swallowing_model(suite, at_seed: int = 1):
    from lawm_eval.models.linear import build_linear_model

    bundle = build_linear_model(suite)
    bundle.encoder = SwallowingEncoder(bundle.encoder, at_seed)
    return bundle


@ignore_unraisable
def test_a_serial_run_stops_after_a_swallowed_ctrl_c(compose, tmp_path):
    torch.manual_seed(10**9)  # the model probe before the first episode runs with this seed: no signal
    with pytest.raises(KeyboardInterrupt, match="interrupted after 2 new episodes; rerun with run_id=sigint"):
        run_evaluation(compose("suite.episodes=4", "run_id=sigint", "model=custom",
                               "model.factory=test_interrupt:swallowing_model"))
    recorded, tail = read_records(tmp_path / "runs" / "sigint" / EPISODES_FILE)
    assert tail == b"" and [r.episode_idx for r in recorded] == [0, 1]  # episode 1 finished, then it stopped
