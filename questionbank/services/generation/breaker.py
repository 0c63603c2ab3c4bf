"""The pipeline's circuit breaker: ``webui.CircuitBreaker``'s logic with its state on the
endpoint row (``consecutive_failures``, ``paused_until``), so every worker on every machine
shares it. Callers hold the endpoint row's lock (``select_for_update``) across a
transition; the store's compare-and-set then cannot lose a race, and it still checks the
failure count it read."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from questionbank.models import ModelEndpoint
from questionbank.webui.breaker import CLOSED, OPEN, BreakerState, CircuitBreaker


def _as_datetime(timestamp: float) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


class EndpointBreakerStore:
    """``BreakerStore`` over the endpoint table. The state is derived: closed below the
    threshold, open (or half-open: the same on the row) from it on."""

    def __init__(self, threshold: int):
        self.threshold = threshold

    def get(self, key: int) -> BreakerState | None:
        row = (ModelEndpoint.objects.filter(pk=key)
               .values_list("consecutive_failures", "paused_until").first())
        if row is None:
            return None
        failures, until = row
        return BreakerState(state=CLOSED if failures < self.threshold else OPEN,
                            failures=failures, open_until=until.timestamp() if until else 0.0,
                            version=failures)

    def compare_and_set(self, key: int, expected: BreakerState | None,
                        new: BreakerState) -> bool:
        rows = ModelEndpoint.objects.filter(pk=key)
        if expected is not None:
            rows = rows.filter(consecutive_failures=expected.failures)
        return rows.update(consecutive_failures=new.failures,
                           paused_until=_as_datetime(new.open_until)) == 1


def endpoint_breaker(endpoint_id: int) -> CircuitBreaker:
    """The breaker of one endpoint, with the configured threshold and cool-down."""
    return CircuitBreaker(
        EndpointBreakerStore(settings.QB_BREAKER_THRESHOLD), key=endpoint_id,
        threshold=settings.QB_BREAKER_THRESHOLD,
        cooldown=settings.QB_BREAKER_COOLDOWN_SECONDS,
        clock=lambda: timezone.now().timestamp(),
    )
