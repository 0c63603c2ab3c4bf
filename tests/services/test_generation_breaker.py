"""The database circuit breaker the pipeline uses, at its exact edges: the failure that
pauses an endpoint, the instant the probe may go, and the claim's slot arithmetic. No HTTP:
the claim and the breaker's bookkeeping are called directly, with the clock fixed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from questionbank.models import GenerationJob, ModelEndpoint
from questionbank.services import generation
from questionbank.services.generation import claims, outcomes
from questionbank.webui import InMemoryBreakerStore
from questionbank.webui.breaker import CLOSED, HALF_OPEN, OPEN, BreakerState, CircuitBreaker
from tests.factories import make_call_log, make_endpoint, make_problem, make_template

T = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
THRESHOLD = 3
COOLDOWN = 120


@pytest.fixture
def clock(monkeypatch):
    """timezone.now() fixed at T; ``clock.at(dt)`` moves it."""
    state = SimpleNamespace(now=T)
    monkeypatch.setattr(timezone, "now", lambda: state.now)
    state.at = lambda when: setattr(state, "now", when)
    return state


@pytest.fixture
def breaker_settings(settings):
    settings.QB_BREAKER_THRESHOLD = THRESHOLD
    settings.QB_BREAKER_COOLDOWN_SECONDS = COOLDOWN
    settings.QB_JOB_LEASE_SECONDS = 60
    return settings


@pytest.fixture
def endpoint(db, breaker_settings):
    return make_endpoint(max_concurrency=4)


def _queue(endpoint, jobs: int) -> list[int]:
    batch = generation.batch_create(problems=[make_problem() for _ in range(jobs)],
                                    template=make_template(), endpoints=[endpoint], samples=1)
    return sorted(batch.jobs.values_list("pk", flat=True))


def _flight(probe: bool = False):
    return SimpleNamespace(claim=SimpleNamespace(probe=probe))


def _server_down():
    return SimpleNamespace(retryable=True, message="Cannot connect to the server.")


def _refused():
    return SimpleNamespace(retryable=False, message="The server refused the input (400).")


def _record(endpoint, flight, error):
    """What a writer does with a call's outcome (services.generation.outcomes)."""
    return outcomes.breaker_record(endpoint=endpoint, probe=flight.claim.probe, error=error)


def _state(endpoint):
    endpoint.refresh_from_db()
    return endpoint.consecutive_failures, endpoint.paused_until, endpoint.last_error


# --- Recording failures: the exact threshold --------------------------------------------


def test_failures_below_the_threshold_count_but_do_not_pause(endpoint, clock):
    for n in range(1, THRESHOLD):
        _record(endpoint, _flight(), _server_down())
        assert _state(endpoint) == (n, None, "Cannot connect to the server.")


def test_the_threshold_failure_pauses_for_exactly_the_cooldown(endpoint, clock):
    for _ in range(THRESHOLD):
        stored = _record(endpoint, _flight(), _server_down())
    assert _state(endpoint) == (THRESHOLD, T + timedelta(seconds=COOLDOWN),
                                "Cannot connect to the server.")
    assert stored.consecutive_failures == THRESHOLD


def test_a_failure_after_the_threshold_moves_the_pause(endpoint, clock):
    for _ in range(THRESHOLD):
        _record(endpoint, _flight(), _server_down())
    clock.at(T + timedelta(seconds=500))
    _record(endpoint, _flight(probe=True), _server_down())
    assert _state(endpoint)[:2] == (THRESHOLD + 1, T + timedelta(seconds=500 + COOLDOWN))


def test_the_stored_error_is_capped(endpoint, clock):
    _record(endpoint,
        _flight(), SimpleNamespace(retryable=True, message="x" * 3000))
    assert len(_state(endpoint)[2]) == 2000


def test_a_success_resets_failures_and_pause(endpoint, clock):
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=THRESHOLD, paused_until=T, last_error="down")
    _record(endpoint, _flight(probe=True), None)
    assert _state(endpoint) == (0, None, "")


def test_a_success_clears_a_pause_even_without_failures(endpoint, clock):
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(paused_until=T, last_error="down")
    _record(endpoint, _flight(), None)
    assert _state(endpoint) == (0, None, "")


def test_a_success_after_one_failure_resets_the_count(endpoint, clock):
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=1, last_error="x")
    _record(endpoint, _flight(), None)
    assert _state(endpoint) == (0, None, "")


def test_a_success_touches_only_its_own_endpoint(endpoint, clock):
    other = make_endpoint()
    ModelEndpoint.objects.filter(pk=other.pk).update(
        consecutive_failures=THRESHOLD, paused_until=T, last_error="down")
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=1)
    _record(endpoint, _flight(), None)
    assert _state(other) == (THRESHOLD, T, "down")


def test_a_refused_input_does_not_count(endpoint, clock):
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=2, last_error="x")
    _record(endpoint, _flight(), _refused())
    assert _state(endpoint) == (2, None, "x")


def test_a_refused_probe_closes_the_breaker(endpoint, clock):
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=THRESHOLD, paused_until=T, last_error="down")
    _record(endpoint, _flight(probe=True), _refused())
    assert _state(endpoint) == (0, None, "")


# --- An outage does not use up jobs' attempts (issue 14, defect 4) -----------------------


def _failed_call(endpoint, job_id, *, retryable=True, outcome="error"):
    job = GenerationJob.objects.select_related("batch", "problem", "template").get(pk=job_id)
    return make_call_log(job=job, endpoint=endpoint, outcome=outcome, retryable=retryable)


def _outage(endpoint, log, error, failures):
    endpoint.consecutive_failures = failures  # as breaker_record left it
    return outcomes.server_outage(endpoint=endpoint, log=log, error=error)


def test_a_failure_right_after_another_job_s_is_an_outage(endpoint, clock):
    first, second = _queue(endpoint, 2)
    _failed_call(endpoint, first)
    log = _failed_call(endpoint, second)
    assert _outage(endpoint, log, _server_down(), failures=2)


def test_the_first_failure_of_a_streak_is_not_an_outage(endpoint, clock):
    first, second = _queue(endpoint, 2)
    _failed_call(endpoint, first)
    log = _failed_call(endpoint, second)
    assert not _outage(endpoint, log, _server_down(), failures=1)
    assert not _outage(endpoint, log, None, failures=2)  # a success is never one


def test_a_job_failing_again_after_itself_is_not_an_outage(endpoint, clock):
    (job,) = _queue(endpoint, 1)
    _failed_call(endpoint, job)
    assert not _outage(endpoint, _failed_call(endpoint, job), _server_down(), failures=2)


def test_after_a_refused_call_or_on_another_endpoint_it_is_not_an_outage(endpoint, clock):
    first, second = _queue(endpoint, 2)
    _failed_call(endpoint, first, retryable=False)
    log = _failed_call(endpoint, second)
    assert not _outage(endpoint, log, _server_down(), failures=2)
    other = make_endpoint()
    (elsewhere,) = _queue(other, 1)
    _failed_call(other, elsewhere)
    log = _failed_call(endpoint, second)  # the endpoint's previous row is its own job's
    assert not _outage(endpoint, log, _server_down(), failures=3)


def test_a_refused_input_or_no_call_is_never_an_outage(endpoint, clock):
    first, second = _queue(endpoint, 2)
    _failed_call(endpoint, first)
    log = _failed_call(endpoint, second, retryable=False)
    assert not _outage(endpoint, log, _refused(), failures=2)
    assert not _outage(endpoint, None, _server_down(), failures=2)


def test_an_outage_gives_the_attempt_back_even_on_the_last_one(endpoint, clock):
    (job_id,) = _queue(endpoint, 1)
    job = GenerationJob.objects.select_related("batch").get(pk=job_id)
    job.attempts = job.max_attempts
    error = SimpleNamespace(retryable=True, message="Cannot connect.", retry_after=None)
    fields = outcomes._job_fields(job, error, T, outage=True)
    assert fields["status"] == GenerationJob.Status.QUEUED
    assert fields["max_attempts"] == job.max_attempts + 1
    assert "does not count against the job" in fields["last_error"]
    assert outcomes._job_fields(job, error, T)["status"] == GenerationJob.Status.FAILED
    job.attempts = 1
    assert "max_attempts" not in outcomes._job_fields(job, error, T)


# --- Claiming: the exact probe time and the probe's single slot ---------------------------


def _claim(endpoint, limit=4, **kwargs):
    return claims.claim_jobs(endpoint_id=endpoint.pk, limit=limit, **kwargs)


def test_below_the_threshold_the_claim_fills_every_free_slot(endpoint, clock):
    jobs = _queue(endpoint, 6)
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=THRESHOLD - 1)
    _, claims = _claim(endpoint, limit=10)
    assert [c.job_id for c in claims] == jobs[:4]
    assert not any(c.probe for c in claims)
    assert _state(endpoint)[1] is None


def test_one_microsecond_before_the_pause_ends_nothing_is_claimed(endpoint, clock):
    _queue(endpoint, 3)
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=THRESHOLD,
                                                        paused_until=T)
    clock.at(T - timedelta(microseconds=1))
    assert _claim(endpoint)[1] == []
    assert GenerationJob.objects.filter(status=GenerationJob.Status.RUNNING).count() == 0


def test_at_the_exact_end_of_the_pause_one_probe_is_claimed(endpoint, clock):
    jobs = _queue(endpoint, 3)
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=THRESHOLD,
                                                        paused_until=T)
    _, claims = _claim(endpoint)
    assert [(c.job_id, c.probe) for c in claims] == [(jobs[0], True)]
    # The pause moves one cool-down ahead so no other worker probes meanwhile.
    assert _state(endpoint)[:2] == (THRESHOLD, T + timedelta(seconds=COOLDOWN))
    assert _claim(endpoint)[1] == []


def test_at_the_threshold_without_a_pause_the_claim_is_a_probe(endpoint, clock):
    jobs = _queue(endpoint, 2)
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=THRESHOLD)
    _, claims = _claim(endpoint)
    assert [(c.job_id, c.probe) for c in claims] == [(jobs[0], True)]


def test_a_probe_with_nothing_to_claim_does_not_move_the_pause(endpoint, clock):
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=THRESHOLD,
                                                        paused_until=T)
    assert _claim(endpoint)[1] == []
    assert _state(endpoint)[1] == T


def test_claims_respect_running_jobs_with_live_leases_only(endpoint, clock):
    jobs = _queue(endpoint, 6)
    _, first = _claim(endpoint, limit=3)
    assert len(first) == 3
    _, second = _claim(endpoint, limit=3)
    assert [c.job_id for c in second] == [jobs[3]]
    # Leases lapse after QB_JOB_LEASE_SECONDS: their slots count as free again.
    clock.at(T + timedelta(seconds=60))
    _, third = _claim(endpoint, limit=10)
    assert [c.job_id for c in third] == jobs[4:6]


def test_slots_whose_calls_returned_are_free_to_their_runner(endpoint, clock):
    jobs = _queue(endpoint, 6)
    _, first = _claim(endpoint)
    _, again = _claim(endpoint, exclude_ids=[first[0].job_id, first[1].job_id])
    assert [c.job_id for c in again] == jobs[4:6]


def test_a_zero_limit_or_a_disabled_endpoint_claims_nothing(endpoint, clock):
    _queue(endpoint, 2)
    assert claims.claim_jobs(endpoint_id=endpoint.pk, limit=0) == (None, [])
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    assert _claim(endpoint) == (None, [])


def test_a_claim_for_one_job_takes_only_that_job(endpoint, clock):
    jobs = _queue(endpoint, 3)
    _, claims = _claim(endpoint, job_id=jobs[1])
    assert [c.job_id for c in claims] == [jobs[1]]
    job = GenerationJob.objects.get(pk=jobs[1])
    assert (job.status, job.attempts, job.lease_expires_at) == (
        GenerationJob.Status.RUNNING, 1, T + timedelta(seconds=60))
    assert claims[0].token == job.claimed_by and not claims[0].probe


def test_busy_counts_only_live_running_jobs_on_the_endpoint(endpoint, clock):
    jobs = _queue(endpoint, 4)
    _claim(endpoint, limit=3)
    assert claims.busy(endpoint.pk, T) == 3
    assert claims.busy(endpoint.pk, T, exclude_ids=jobs[:1]) == 2
    assert claims.busy(endpoint.pk, T + timedelta(seconds=59)) == 3
    assert claims.busy(endpoint.pk, T + timedelta(seconds=60)) == 0


# --- The in-memory breaker at the same edges (used by `ask`) ------------------------------


def test_in_memory_breaker_exact_threshold_and_probe_time():
    now = [100.0]
    breaker = CircuitBreaker(InMemoryBreakerStore(), "ep", threshold=THRESHOLD,
                             cooldown=COOLDOWN, clock=lambda: now[0])
    for n in range(1, THRESHOLD):
        breaker.record_failure()
        assert breaker.state() == (CLOSED, n, 0.0) and breaker.allow()
    breaker.record_failure()
    assert breaker.state() == (OPEN, THRESHOLD, 100.0 + COOLDOWN)
    now[0] = 100.0 + COOLDOWN - 0.001
    assert not breaker.allow()
    now[0] = 100.0 + COOLDOWN
    assert breaker.allow()
    assert breaker.state() == (HALF_OPEN, THRESHOLD, 100.0 + 2 * COOLDOWN)
    assert not breaker.allow()
    breaker.record_success()
    assert breaker.state() == (CLOSED, 0, 0.0)


def test_in_memory_breaker_success_when_closed_writes_nothing():
    store = InMemoryBreakerStore()
    breaker = CircuitBreaker(store, "ep", threshold=2)
    breaker.record_success()
    assert store.get("ep") is None
    breaker.record_failure()
    breaker.record_success()
    assert store.get("ep") == BreakerState(CLOSED, 0, 0.0, 2)


def test_in_memory_breaker_refuses_a_zero_threshold():
    with pytest.raises(ValueError, match="^threshold must be at least 1$"):
        CircuitBreaker(InMemoryBreakerStore(), "ep", threshold=0)
    assert CircuitBreaker(InMemoryBreakerStore(), "ep", threshold=1).threshold == 1


def test_in_memory_breaker_defaults():
    breaker = CircuitBreaker(InMemoryBreakerStore(), "ep")
    assert (breaker.threshold, breaker.cooldown) == (3, 60.0)


def test_in_memory_breaker_gives_up_under_endless_contention():
    class Contended(InMemoryBreakerStore):
        def compare_and_set(self, key, expected, new):
            return False

    breaker = CircuitBreaker(Contended(), "busy", threshold=1)
    with pytest.raises(RuntimeError, match="circuit breaker 'busy': too much contention"):
        breaker.record_failure()
