"""Retries with exponential backoff and full jitter, for retryable errors only."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from .errors import WebUIError

T = TypeVar("T")


def backoff_delay(
    attempt: int, base: float = 1.0, cap: float = 60.0, rng: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = first retry).

    Full jitter (uniform in ``[0, min(cap, base * 2**(attempt-1))]``) spreads the retries of
    many workers that failed together, so they do not hammer a recovering server in step.
    """
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return rng() * ceiling


def call_with_retries(
    fn: Callable[[], T],
    *,
    attempts: int = 4,
    base: float = 1.0,
    cap: float = 60.0,
    total: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.monotonic,
    on_retry: Callable[[WebUIError, int, float], None] | None = None,
) -> T:
    """Call ``fn`` up to ``attempts`` times, retrying only errors with ``retryable`` set.

    A server's ``retry_after`` is honoured (as a lower bound on the wait, never above
    ``cap``). Gives up, re-raising the last error, when the attempts are used up or the
    next wait would pass ``total`` seconds since the first call. ``on_retry(error,
    attempt, delay)`` is called before each wait (for logging).
    """
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except WebUIError as err:
            if not err.retryable or attempt >= attempts:
                raise
            delay = backoff_delay(attempt, base, cap, rng)
            if err.retry_after is not None:
                delay = max(delay, min(err.retry_after, cap))
            if clock() - started + delay > total:
                raise
            if on_retry is not None:
                on_retry(err, attempt, delay)
            sleep(delay)
