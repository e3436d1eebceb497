"""One policy shared by many episodes: ``PolicyBatcher`` gathers the ``act`` requests of K
environments and answers them with one batched call (dynamic batching), so that a run holds one
model copy, not one per environment.

- Every episode worker holds a *session*: its own per-episode copy of the policy (``policy.fork()``
  when the policy has one, else a shallow copy, which shares the network's weights), reset with the
  episode's seed. A session acts as the unshared policy would.
- Requests wait until every session that is inside an episode, or opened and not yet in its first
  one (an environment still starting), has asked (or waits in a sibling batcher: ``sibling``), or
  ``max_batch`` are waiting, or the first has waited ``max_wait_s``; then one call answers them all:
  ``policy.act_batch(sessions, observations)`` when the policy has it (each row must be what that
  session's ``act`` would return), else each session's ``act`` in turn (still one model copy).
- ``SharedPolicy`` is the Policy protocol over a batcher (or over the Ray model server, which runs a
  batcher in its actor); the executor tells it when an episode ends (``finish``), so that the
  others stop waiting for it.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from lawm_eval.errors import ConfigError, ModelError, TransientError

IDLE_S = 30.0  # a session silent this long (its worker died, say) is no longer waited for
# the policy attributes suites read (LIBERO: which images to render, how often to ask, whether it gets the simulator)
POLICY_TRAITS = ("needs_images", "closed_loop", "privileged", "needs_simulator")


def policy_traits(policy: Any) -> dict[str, Any]:
    """The POLICY_TRAITS ``policy`` declares (plain values: they travel to Ray workers)."""
    return {name: getattr(policy, name) for name in POLICY_TRAITS if hasattr(policy, name)}


def fork_policy(policy: Any) -> Any:
    """A per-episode copy of ``policy`` that shares its weights: ``policy.fork()``, else a shallow copy."""
    fork = getattr(policy, "fork", None)
    return fork() if callable(fork) else copy.copy(policy)


@dataclass
class BatchStats:
    """What the batcher did: model calls, requests answered, and each call's batch size."""

    calls: int = 0
    requests: int = 0
    largest: int = 0
    sizes: dict[int, int] = field(default_factory=dict)  # batch size -> calls of that size

    def add(self, size: int) -> None:
        self.calls += 1
        self.requests += size
        self.largest = max(self.largest, size)
        self.sizes[size] = self.sizes.get(size, 0) + 1

    @property
    def mean_batch(self) -> float:
        return self.requests / self.calls if self.calls else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "requests": self.requests, "mean_batch": round(self.mean_batch, 4),
                "largest": self.largest, "sizes": {str(k): v for k, v in sorted(self.sizes.items())}}


class _Request:
    __slots__ = ("session", "obs", "answer", "error", "done", "arrived")

    def __init__(self, session: int, obs: dict[str, Any]):
        self.session, self.obs = session, obs
        self.answer: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.arrived = time.monotonic()


class PolicyServer(Protocol):
    """What a SharedPolicy talks to: a PolicyBatcher here, or the Ray model server's handle."""

    def open(self) -> int: ...
    def reset(self, session: int, seed: int) -> None: ...
    def act(self, session: int, obs: dict[str, Any]) -> np.ndarray: ...
    def finish(self, session: int) -> None: ...


class PolicyBatcher:
    """Answers the ``act`` requests of many sessions with batched calls of one policy (thread-safe)."""

    def __init__(self, policy: Any, max_batch: int = 8, max_wait_s: float = 0.05, sibling: PolicyBatcher | None = None):
        """``sibling``: another batcher the same environments call in turn (the imagined suites' world
        model beside their policy), whose session i is this one's session i: a batch does not wait for
        an environment whose request waits in the sibling (it cannot ask here before that is answered)."""
        if max_batch < 1 or max_wait_s < 0:
            raise ConfigError("the model server's max_batch must be ≥ 1 and max_wait_ms ≥ 0")
        self.policy, self.max_batch, self.max_wait_s = policy, int(max_batch), float(max_wait_s)
        self.batched = callable(getattr(policy, "act_batch", None))
        self.stats = BatchStats()
        self._sessions: dict[int, Any] = {}
        # sessions a batch waits for -> last heard of: opened (its environment starting) or inside an episode
        self._active: dict[int, float] = {}
        self._pending: list[_Request] = []
        self._siblings: list[PolicyBatcher] = []
        self._cond = threading.Condition() if sibling is None else sibling._cond  # one lock over both queues
        if sibling is not None:
            self._siblings.append(sibling)
            sibling._siblings.append(self)
        self._calling = threading.Lock()  # a session's reset never overlaps a model call
        self._next = 0
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="lawm-policy-batcher", daemon=True)
        self._thread.start()

    # -- sessions ------------------------------------------------------------------------------
    def open(self) -> int:
        with self._cond:
            session, self._next = self._next, self._next + 1
            self._sessions[session] = fork_policy(self.policy)
            self._active[session] = time.monotonic()
        return session

    def reset(self, session: int, seed: int) -> None:
        """Start an episode of ``session`` (a session this batcher does not know is opened: a
        restarted server serves the workers of the one before)."""
        with self._cond:
            if self._closed:
                raise ModelError("the model server was shut down")
            if session not in self._sessions:
                self._sessions[session] = fork_policy(self.policy)
                self._next = max(self._next, session + 1)
            policy = self._sessions[session]
        with self._calling:
            policy.reset(int(seed))
        with self._cond:
            self._active[session] = time.monotonic()

    def act(self, session: int, obs: dict[str, Any]) -> np.ndarray:
        """The session's action chunk for ``obs``, answered with the other sessions' requests."""
        request = _Request(session, obs)
        with self._cond:
            if self._closed:
                raise ModelError("the model server was shut down")
            if session not in self._sessions:  # the episode runs again from its start, on the new server
                raise TransientError(f"the model server has no session {session} (it restarted mid-episode)")
            self._active[session] = request.arrived
            self._pending.append(request)
            self._cond.notify_all()
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.answer

    def finish(self, session: int) -> None:
        """The session's episode ended (or its worker has no episode left, or its episode failed
        before it began): batches no longer wait for it."""
        with self._cond:
            self._active.pop(session, None)
            self._cond.notify_all()

    def shutdown(self) -> None:
        """Fail the waiting requests and close the sessions' own resources (a fork's process)."""
        with self._cond:
            self._closed = True
            for request in self._pending:
                request.error = ModelError("the model server was shut down")
                request.done.set()
            self._pending.clear()
            sessions = list(self._sessions.values())
            self._cond.notify_all()
        for policy in sessions:
            close = getattr(policy, "close", None)
            if policy is not self.policy and callable(close):
                close()

    def _waited_for(self) -> int:
        """Sessions inside an episode and heard of lately, and sessions opened lately whose first
        episode has not started (their environments start while the first requests wait: the
        environments begin in step instead of one running episodes ahead of the other)."""
        now = time.monotonic()
        elsewhere = {request.session for sibling in self._siblings for request in sibling._pending}
        return sum(1 for session, seen in self._active.items() if now - seen < IDLE_S and session not in elsewhere)

    # -- the batching thread -------------------------------------------------------------------
    def _take(self) -> list[_Request] | None:
        """The next batch: wait for a first request, then for the other active sessions' (at most
        ``max_wait_s`` after the first arrived)."""
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            deadline = self._pending[0].arrived + self.max_wait_s
            while len(self._pending) < min(self.max_batch, max(1, self._waited_for())):
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    break
                self._cond.wait(left)
            batch = self._pending[: self.max_batch]
            del self._pending[: len(batch)]
            return batch or None

    def _loop(self) -> None:
        try:
            while (batch := self._take()) is not None:
                with self._calling:
                    self._answer(batch)
        finally:  # whatever ended the loop, no request may wait for an answer that never comes
            self.shutdown()

    def _answer(self, batch: list[_Request]) -> None:
        sessions = [self._sessions[request.session] for request in batch]
        try:
            if self.batched and len(batch) > 1:
                answers = list(self.policy.act_batch(sessions, [request.obs for request in batch]))
                if len(answers) != len(batch):
                    raise ModelError(f"policy.act_batch answered {len(answers)} of {len(batch)} observations")
                for request, answer in zip(batch, answers):
                    request.answer = np.asarray(answer)
            else:
                for request, policy in zip(batch, sessions):
                    try:
                        request.answer = np.asarray(policy.act(request.obs))
                    except Exception as exc:  # noqa: BLE001 - this session's episode records it
                        request.error = exc
        except Exception as exc:  # noqa: BLE001 - the batched call failed: every episode in it records it
            for request in batch:
                request.error = exc
        self.stats.add(len(batch))
        for request in batch:
            request.done.set()


class SharedPolicy:
    """The Policy protocol over a PolicyServer: one session per episode worker; the policy's
    declared traits (``needs_images``, ``closed_loop``, ...) are copied, so suites see the policy."""

    def __init__(self, server: PolicyServer, traits: dict[str, Any]):
        self.server = server
        for name, value in traits.items():
            setattr(self, name, value)
        self.session = server.open()

    def reset(self, seed: int) -> None:
        self.server.reset(self.session, seed)

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        return self.server.act(self.session, obs)

    def finish(self) -> None:
        self.server.finish(self.session)
