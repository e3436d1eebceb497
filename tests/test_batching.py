"""The shared model server (runner/batching.py): requests of K sessions answered in batches, each
session's answer what its own policy would give; K LIBERO environments sharing one policy
(executor.envs_per_worker) and Ray workers sharing one model server give the serial run's records."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from lawm_eval.errors import ModelError
from lawm_eval.runner.batching import PolicyBatcher, SharedPolicy


class CountingPolicy:
    """Deterministic per row (elementwise), seeded per episode; records the size of every batched call."""

    needs_images = False
    closed_loop = True

    def __init__(self, batched: bool = True):
        self.offset, self.calls = 0.0, []
        if not batched:
            self.act_batch = None

    def reset(self, seed: int) -> None:
        self.offset = float(seed)

    def act(self, obs: dict) -> np.ndarray:
        return np.array([[obs["x"] * 2.0 + self.offset]])

    def act_batch(self, sessions: list, observations: list[dict]) -> list[np.ndarray]:
        self.calls.append(len(sessions))
        xs = np.array([obs["x"] for obs in observations])
        offsets = np.array([session.offset for session in sessions])
        return list((xs * 2.0 + offsets)[:, None, None])


def drive(batcher: PolicyBatcher, sessions: int, steps: int) -> list[list[float]]:
    """``sessions`` threads, each an episode of ``steps`` act calls through a SharedPolicy."""
    answers: list[list[float]] = [[] for _ in range(sessions)]
    started = threading.Barrier(sessions)  # a batch waits only for the sessions inside an episode

    def episode(i: int) -> None:
        policy = SharedPolicy(batcher, {"closed_loop": True})
        policy.reset(100 * i)
        started.wait()
        for step in range(steps):
            answers[i].append(float(policy.act({"x": float(step)})[0, 0]))
        policy.finish()

    threads = [threading.Thread(target=episode, args=(i,)) for i in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.mark.parametrize("batched", [True, False])
def test_each_session_gets_its_own_answers(batched):
    policy = CountingPolicy(batched)
    batcher = PolicyBatcher(policy, max_batch=4, max_wait_s=1.0)
    answers = drive(batcher, 4, 20)
    batcher.shutdown()
    assert answers == [[2.0 * step + 100 * i for step in range(20)] for i in range(4)]
    assert batcher.stats.requests == 80
    if batched:  # every session waits for the others: all 20 calls are full batches
        assert batcher.stats.calls == 20 and policy.calls == [4] * 20 and batcher.stats.mean_batch == 4.0
    else:  # no act_batch: each session's act in turn, still one model copy
        assert policy.calls == []


def test_a_finished_episode_is_not_waited_for():
    batcher = PolicyBatcher(CountingPolicy(), max_batch=2, max_wait_s=30.0)
    first, second = SharedPolicy(batcher, {}), SharedPolicy(batcher, {})
    first.reset(0)
    second.reset(1)
    first.finish()
    start = time.monotonic()
    assert second.act({"x": 1.0})[0, 0] == 3.0
    assert time.monotonic() - start < 5  # not the 30 s max_wait: the only active session asked
    batcher.shutdown()


def test_an_environment_still_starting_is_waited_for():
    """A session opened whose first episode has not begun (its simulator is still starting) is waited
    for, so that the environments run in step from their first request."""
    batcher = PolicyBatcher(CountingPolicy(), max_batch=2, max_wait_s=30.0)
    early, late = SharedPolicy(batcher, {}), SharedPolicy(batcher, {})  # both environments opened
    early.reset(0)
    answer: dict = {}
    thread = threading.Thread(target=lambda: answer.update(early=early.act({"x": 1.0})))
    thread.start()
    time.sleep(0.5)
    assert not answer  # the early request waits for the late environment's first one
    late.reset(1)
    assert late.act({"x": 1.0})[0, 0] == 3.0
    thread.join(timeout=10)
    assert answer["early"][0, 0] == 2.0 and batcher.stats.calls == 1 and batcher.stats.largest == 2
    batcher.shutdown()


def test_an_environment_that_finishes_before_starting_is_not_waited_for():
    """A worker with no episode left (or whose episode failed before it began) finishes its session:
    the others stop waiting for it."""
    batcher = PolicyBatcher(CountingPolicy(), max_batch=2, max_wait_s=30.0)
    working, idle = SharedPolicy(batcher, {}), SharedPolicy(batcher, {})
    working.reset(0)
    idle.finish()
    start = time.monotonic()
    assert working.act({"x": 1.0})[0, 0] == 2.0
    assert time.monotonic() - start < 5  # not the 30 s max_wait
    batcher.shutdown()


def test_a_failing_batch_fails_each_of_its_episodes():
    class Broken(CountingPolicy):
        def act_batch(self, sessions, observations):
            raise RuntimeError("out of memory")

    batcher = PolicyBatcher(Broken(), max_batch=2, max_wait_s=5.0)
    errors = []
    started = threading.Barrier(2)

    def episode(seed: int) -> None:
        policy = SharedPolicy(batcher, {})
        policy.reset(seed)
        started.wait()
        try:
            policy.act({"x": 0.0})
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=episode, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == ["out of memory"] * 2
    batcher.shutdown()
    with pytest.raises(ModelError, match="shut down"):
        SharedPolicy(batcher, {}).act({"x": 0.0})


def test_the_bundled_image_policy_answers_a_batch_as_its_sessions_would():
    import copy

    from lawm_eval.models.zoo import build_bundled

    policy = build_bundled("vla_flow").policy
    rng = np.random.default_rng(0)
    observations = [{"image": rng.integers(0, 255, (96, 128, 3), dtype=np.uint8), "task": ""} for _ in range(3)]
    sessions = []
    for seed in range(3):
        sessions.append(copy.copy(policy))
        sessions[-1].reset(seed)
    singles = []
    for seed, obs in enumerate(observations):
        single = copy.copy(policy)
        single.reset(seed)
        singles.append(single.act(obs))
    batch = policy.act_batch(sessions, observations)
    # each row's noise comes from its own session's generator; batched float math differs only in rounding
    assert [b.shape for b in batch] == [s.shape for s in singles]
    np.testing.assert_allclose(np.stack(batch), np.stack(singles), atol=1e-5)
    assert not np.allclose(batch[0], batch[1])


def test_a_session_the_server_does_not_know_reruns_its_episode():
    from lawm_eval.errors import TransientError

    batcher = PolicyBatcher(CountingPolicy(), max_batch=2, max_wait_s=0.0)
    with pytest.raises(TransientError, match="restarted mid-episode"):  # a restarted server: the episode runs again
        batcher.act(12345, {"x": 0.0})
    batcher.reset(12345, 7)  # its next reset opens the session on the new server
    assert batcher.act(12345, {"x": 1.0})[0, 0] == 9.0
    batcher.shutdown()
    with pytest.raises(ModelError, match="shut down"):
        batcher.reset(12345, 7)


def test_a_silent_session_is_not_waited_for(monkeypatch):
    from lawm_eval.runner import batching

    monkeypatch.setattr(batching, "IDLE_S", 0.3)
    batcher = PolicyBatcher(CountingPolicy(), max_batch=2, max_wait_s=30.0)
    dead, alive = SharedPolicy(batcher, {}), SharedPolicy(batcher, {})
    dead.reset(0)  # its worker died inside the episode: it never asks, never finishes
    alive.reset(1)
    time.sleep(0.5)
    start = time.monotonic()
    assert alive.act({"x": 2.0})[0, 0] == 5.0
    assert time.monotonic() - start < 5  # not the 30 s max_wait
    batcher.shutdown()


def test_served_policies_fork_their_own_connection():
    from lawm_eval.models.policy_server import PolicyServerClient, ServedPolicy
    from lawm_eval.runner.batching import fork_policy

    policy = ServedPolicy(PolicyServerClient("ws://127.0.0.1:1", timeout_s=1, reconnect_s=0), "libero")
    fork = fork_policy(policy)  # sessions sharing one websocket would cross their answers
    assert fork.client is not policy.client and fork.client.address == policy.client.address


@pytest.mark.parametrize("linked", [True, False])
def test_sibling_batchers_do_not_wait_for_an_environment_queued_in_the_other(linked):
    """Two environments alternate a policy call and a world-model call, out of step (one starts with a
    world call). Each batcher waits for every active session; linked as siblings, a batch does not
    wait for an environment whose request sits in the other batcher, so the episodes finish; unlinked,
    each waits for the other's environment until its patience (here far longer than the test) runs out."""
    patience = 20.0
    policies = PolicyBatcher(CountingPolicy(), max_batch=2, max_wait_s=patience)
    worlds = PolicyBatcher(CountingPolicy(), max_batch=2, max_wait_s=patience, sibling=policies if linked else None)
    sessions = [(SharedPolicy(policies, {}), SharedPolicy(worlds, {})) for _ in range(2)]
    done = []

    def environment(i: int) -> None:
        policy, world = sessions[i]
        policy.reset(i)
        world.reset(i)
        try:
            if i == 1:
                world.act({"x": 0.0})  # one transition ahead: out of step with environment 0
            for step in range(4):
                policy.act({"x": float(step)})
                world.act({"x": float(step)})
        except ModelError:  # the batchers were shut down while it waited (the unlinked case)
            return
        policy.finish()
        world.finish()
        done.append(i)

    threads = [threading.Thread(target=environment, args=(i,), daemon=True) for i in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5.0
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    finished = sorted(done)
    policies.shutdown()
    worlds.shutdown()
    for thread in threads:
        thread.join(timeout=5.0)
    assert finished == ([0, 1] if linked else [])
