"""A circuit breaker per endpoint, its state kept behind a small store interface.

States: ``closed`` (calls flow; consecutive failures are counted), ``open`` (calls are
refused until ``open_until``), ``half_open`` (one probe call is out; its outcome closes
or re-opens the circuit).

The store is a compare-and-set register with a version number, so the generation
pipeline can keep it in the database, shared by every worker: ``get`` is a plain SELECT
and ``compare_and_set`` one conditional statement::

    UPDATE breaker SET state=%s, failures=%s, open_until=%s, version=version+1
     WHERE key=%s AND version=%s            -- won if one row changed
    INSERT ... ON CONFLICT (key) DO NOTHING  -- when ``expected`` is None

Each transition reads, computes and CASes; a lost race re-reads and tries again, so two
workers can never both take the single half-open probe.

One logic, two stores: ``InMemoryBreakerStore`` here (the ``ask`` command, tests) and the
endpoint row in the database (``questionbank.services.generation.breaker``), shared by
every worker of the pipeline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
_MAX_CAS_ROUNDS = 50


@dataclass(frozen=True)
class BreakerState:
    """One breaker's stored state. ``open_until`` is a wall-clock timestamp (seconds):
    the end of the cool-down when open, the end of the probe's lease when half-open."""

    state: str = CLOSED
    failures: int = 0
    open_until: float = 0.0
    version: int = 0


class BreakerStore(Protocol):
    """Where breaker state lives. Implementations must make ``compare_and_set`` atomic."""

    def get(self, key: str) -> BreakerState | None:
        """The stored state, or ``None`` if there is none yet."""
        ...

    def compare_and_set(
        self, key: str, expected: BreakerState | None, new: BreakerState
    ) -> bool:
        """Store ``new`` (with ``version = expected.version + 1``, or 1 when ``expected`` is
        None) only if the stored state still has ``expected``'s version (or, for None,
        nothing is stored). True when stored."""
        ...


class InMemoryBreakerStore:
    """A process-local store (the CLI, tests)."""

    def __init__(self) -> None:
        self._states: dict[str, BreakerState] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> BreakerState | None:
        with self._lock:
            return self._states.get(key)

    def compare_and_set(
        self, key: str, expected: BreakerState | None, new: BreakerState
    ) -> bool:
        with self._lock:
            current = self._states.get(key)
            if expected is None:
                if current is not None:
                    return False
                self._states[key] = replace(new, version=1)
                return True
            if current is None or current.version != expected.version:
                return False
            self._states[key] = replace(new, version=expected.version + 1)
            return True


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures, stays open ``cooldown`` seconds,
    then lets exactly one probe through; closes on its success, re-opens on its failure.

    A probe that never reports back (its worker died) holds the half-open state only for
    one more ``cooldown``; then another probe is let through.
    """

    def __init__(
        self,
        store: BreakerStore,
        key: str,
        threshold: int = 3,
        cooldown: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.store = store
        self.key = key
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock

    def _transition(self, decide: Callable[[BreakerState], tuple[BreakerState | None, bool]]):
        """Read, decide (new state or None for no change, and the answer), CAS; repeat on
        a lost race."""
        for _ in range(_MAX_CAS_ROUNDS):
            stored = self.store.get(self.key)
            current = stored or BreakerState()
            new, answer = decide(current)
            if new is None or self.store.compare_and_set(self.key, stored, new):
                return answer
        raise RuntimeError(f"circuit breaker {self.key!r}: too much contention")

    def acquire(self) -> str | None:
        """May a call go to the server now? ``"closed"``: yes, as usual; ``"probe"``: yes,
        as the one half-open probe (taking it counts as a call); ``None``: no."""
        now = self.clock()

        def decide(s: BreakerState) -> tuple[BreakerState | None, str | None]:
            if s.state == CLOSED:
                return None, CLOSED
            if now < s.open_until:
                return None, None  # cooling down, or the probe is still out
            return replace(s, state=HALF_OPEN, open_until=now + self.cooldown), "probe"

        return self._transition(decide)

    def allow(self) -> bool:
        """May a call go to the server now? Taking the half-open probe counts as a call."""
        return self.acquire() is not None

    def hold_probe(self) -> None:
        """A probe that is still running keeps the others out for one more cool-down."""
        now = self.clock()

        def decide(s: BreakerState) -> tuple[BreakerState | None, None]:
            if s.state == CLOSED:
                return None, None
            return replace(s, open_until=now + self.cooldown), None

        self._transition(decide)

    def record_success(self) -> None:
        """The call worked: close the circuit and forget the failures."""

        def decide(s: BreakerState) -> tuple[BreakerState | None, None]:
            if s.state == CLOSED and s.failures == 0:
                return None, None
            return replace(s, state=CLOSED, failures=0, open_until=0.0), None

        self._transition(decide)

    def record_failure(self) -> None:
        """The call failed in a way that says the server is unwell (the pipeline decides
        which: typically retryable errors only; a refused input is not the server's fault).
        From the threshold on, every failure (the probe's, or a late one) pauses the
        server for a full cool-down from now."""
        now = self.clock()

        def decide(s: BreakerState) -> tuple[BreakerState | None, None]:
            failures = s.failures + 1
            if s.state != CLOSED or failures >= self.threshold:
                return replace(s, state=OPEN, failures=failures,
                               open_until=now + self.cooldown), None
            return replace(s, failures=failures), None

        self._transition(decide)

    def state(self) -> tuple[str, int, float]:
        """``(state, consecutive failures, open_until)`` as stored."""
        s = self.store.get(self.key) or BreakerState()
        return s.state, s.failures, s.open_until
