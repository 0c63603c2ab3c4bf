"""Adaptive sampling in the pipeline: breadth-first claims, stopping, and cancellation
racing with a worker that claims (real threads, the runner's own database connections)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import override_settings

from questionbank.models import CallLog, GenerationJob, SamplingStop, Solution
from questionbank.services import generation
from questionbank.services.generation import claims as claims_mod
from questionbank.services.generation import runner as runner_mod
from questionbank.services.generation.stopping import problem_sampling_check
from questionbank.services.solutions import solution_create
from tests.factories import make_endpoint, make_problem, make_template
from tests.servers.openai_server import start_server

Status = GenerationJob.Status

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def pipeline(settings):
    settings.QB_TASKS_SYNC = True
    settings.QB_RETRY_BASE_SECONDS = 0
    settings.QB_RETRY_CAP_SECONDS = 0
    return settings


@pytest.fixture
def server():
    # Calls slow enough that each answer is written up before the next but one returns.
    srv, url = start_server(delay=0.3)
    yield srv, url
    srv.stop()


def queued(**kwargs):
    """batch_create with its runner tasks left in the queue: the test runs them."""
    with override_settings(QB_TASKS_SYNC=False):
        return generation.batch_create(**kwargs)


def adaptive_template(**fields):
    return make_template(sampling_policy="adaptive", **fields)


def statuses(batch) -> dict:
    out: dict[str, int] = {}
    for status in batch.jobs.values_list("status", flat=True):
        out[status] = out.get(status, 0) + 1
    return out


# --- Breadth-first order ----------------------------------------------------------------


def test_claims_are_breadth_first_across_two_servers(pipeline, db):
    first = make_endpoint(name="gpu-a", max_concurrency=8)
    second = make_endpoint(name="gpu-b", max_concurrency=8)
    problems = [make_problem(title=f"P{n}") for n in range(4)]
    batch = queued(problems=problems, template=make_template(), endpoints=[first, second],
                   samples=3)
    order = []
    for turn in range(12):
        endpoint = (first, second)[turn % 2]
        _, claims = claims_mod.claim_jobs(endpoint_id=endpoint.pk, limit=1)
        order += [GenerationJob.objects.get(pk=c.job_id) for c in claims]
    assert len(order) == 12
    # Every problem's sample 1 before any sample 2, and so on, whichever server claims.
    assert [j.sample_index for j in order] == [0] * 4 + [1] * 4 + [2] * 4
    assert {j.problem_id for j in order[:4]} == {p.pk for p in problems}
    assert {j.endpoint_id for j in order} == {first.pk, second.pk}
    assert statuses(batch) == {Status.RUNNING: 12}


def test_claims_in_bulk_take_a_whole_round_first(pipeline, db):
    endpoint = make_endpoint(max_concurrency=16)
    problems = [make_problem(title=f"P{n}") for n in range(5)]
    queued(problems=problems, template=make_template(), endpoints=[endpoint], samples=4)
    _, claims = claims_mod.claim_jobs(endpoint_id=endpoint.pk, limit=7)
    indexes = sorted(GenerationJob.objects.filter(pk__in=[c.job_id for c in claims])
                     .values_list("sample_index", flat=True))
    assert indexes == [0, 0, 0, 0, 0, 1, 1]


def test_a_claim_skips_the_problems_held_back(pipeline, db):
    # The runner holds back an adaptive problem whose answer is being written up.
    endpoint = make_endpoint(max_concurrency=8)
    held, other = make_problem(title="held"), make_problem(title="other")
    queued(problems=[held, other], template=adaptive_template(), endpoints=[endpoint],
           samples=3)
    _, claims = claims_mod.claim_jobs(endpoint_id=endpoint.pk, limit=8,
                                      hold_problem_ids=[held.pk])
    jobs = GenerationJob.objects.filter(pk__in=[c.job_id for c in claims])
    assert sorted(jobs.values_list("problem_id", "sample_index")) == [
        (other.pk, 0), (other.pk, 1), (other.pk, 2)]
    assert GenerationJob.objects.filter(problem=held, status=Status.QUEUED).count() == 3


# --- Fixed and adaptive batches end to end ----------------------------------------------


def run_all(endpoint) -> None:
    runner_mod.endpoint_run(endpoint_id=endpoint.pk)


def test_fixed_policy_runs_every_sample(pipeline, server):
    _, url = server
    endpoint = make_endpoint(protocol="openai", base_url=url, max_concurrency=2, stream=False)
    problems = [make_problem(statement=f"What is {n}*7?", reference_answer=str(7 * n))
                for n in (2, 3)]
    batch = queued(problems=problems, template=make_template(), endpoints=[endpoint],
                   samples=4)
    run_all(endpoint)
    assert statuses(batch) == {Status.SUCCEEDED: 8}
    assert not SamplingStop.objects.exists()
    assert Solution.objects.filter(job__batch=batch).count() == 8


def test_adaptive_with_a_reference_stops_once_two_agree(pipeline, server):
    srv, url = server
    endpoint = make_endpoint(protocol="openai", base_url=url, max_concurrency=1, stream=False)
    problem = make_problem(statement="What is 6*7?", reference_answer="42")
    batch = queued(problems=[problem], template=adaptive_template(), endpoints=[endpoint],
                   samples=8)
    run_all(endpoint)
    counts = statuses(batch)
    stop = SamplingStop.objects.get(batch=batch, problem=problem)
    assert (stop.reason, stop.agreeing) == (SamplingStop.Reason.REFERENCE, 2)
    # At C = 1 the problem's next sample is claimed only after the stopping rule has seen
    # the answer before it: no sample runs past the stop.
    assert counts == {Status.SUCCEEDED: 2, Status.NOT_NEEDED: 6}
    assert stop.cancelled == 6 and srv.stats["calls"] == 2
    assert batch.jobs.filter(status=Status.NOT_NEEDED, attempts=0).count() == 6
    batch.refresh_from_db()
    assert batch.finished_at is not None


def test_adaptive_without_a_reference_settles_on_three_of_three(pipeline, server):
    srv, url = server
    endpoint = make_endpoint(protocol="openai", base_url=url, max_concurrency=1, stream=False)
    problem = make_problem(statement="What is 5*9?", reference_answer="")
    batch = queued(problems=[problem], template=adaptive_template(), endpoints=[endpoint],
                   samples=8)
    run_all(endpoint)
    stop = SamplingStop.objects.get(batch=batch, problem=problem)
    assert stop.reason == SamplingStop.Reason.SETTLED and stop.agreeing == stop.answered == 3
    assert stop.probability == pytest.approx(121 / 126)
    assert statuses(batch) == {Status.SUCCEEDED: 3, Status.NOT_NEEDED: 5}
    assert srv.stats["calls"] == 3
    best = Solution.objects.get(job__batch=batch, is_best=True)
    assert best.final_answer == "45"


def test_fast_calls_never_run_past_a_settled_stop_at_c1(pipeline):
    # Calls that return at once: the runner would claim the problem's 4th sample while
    # the 3rd answer is still being written up, unless it holds the problem back.
    srv, url = start_server(delay=0)
    try:
        endpoint = make_endpoint(protocol="openai", base_url=url, max_concurrency=1,
                                 stream=False)
        problems = [make_problem(statement=f"What is {n}*3?", reference_answer="")
                    for n in (4, 5)]
        batch = queued(problems=problems, template=adaptive_template(),
                       endpoints=[endpoint], samples=8)
        run_all(endpoint)
    finally:
        srv.stop()
    assert statuses(batch) == {Status.SUCCEEDED: 6, Status.NOT_NEEDED: 10}
    assert srv.stats["calls"] == 6
    assert [s.answered for s in SamplingStop.objects.filter(batch=batch)] == [3, 3]


# --- Cancellation racing with a claiming worker -----------------------------------------


def _settled_problem_batch(endpoint, samples: int):
    """An adaptive batch whose problem already has two answers agreeing with the
    reference: the stopping rule says stop as soon as it is asked."""
    problem = make_problem(statement="What is 4*4?", reference_answer="16")
    batch = queued(problems=[problem], template=adaptive_template(), endpoints=[endpoint],
                   samples=samples)
    for job in batch.jobs.order_by("sample_index")[:2]:
        GenerationJob.objects.filter(pk=job.pk).update(status=Status.SUCCEEDED)
        solution_create(problem=problem, body="\\boxed{16}", job=job, final_answer="16",
                        problem_version=problem.version, template=job.template)
    return batch, problem


@pytest.mark.parametrize("head_start", [0.0, 0.01, 0.03, 0.06])
def test_cancelling_waiting_samples_races_safely_with_a_claiming_worker(
        pipeline, head_start):
    """A waiting sample is either claimed (then called, finished and counted) or marked
    not needed (then never called): never both, never lost. On PostgreSQL the two
    conditional UPDATEs race for real (row locks, SKIP LOCKED)."""
    srv, url = start_server(delay=0.02)
    try:
        endpoint = make_endpoint(protocol="openai", base_url=url, max_concurrency=3,
                                 stream=False)
        batch, problem = _settled_problem_batch(endpoint, samples=16)
        errors: list[BaseException] = []
        go = threading.Barrier(2)

        def worker():
            try:
                go.wait()
                runner_mod.endpoint_run(endpoint_id=endpoint.pk)
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        def canceller():
            try:
                go.wait()
                threading.Event().wait(head_start)
                problem_sampling_check(batch_id=batch.pk, problem_id=problem.pk)
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker), threading.Thread(target=canceller)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
    finally:
        srv.stop()
    counts = statuses(batch)
    stop = SamplingStop.objects.get(batch=batch)
    called = counts.get(Status.SUCCEEDED, 0) - 2  # the two made before the race
    assert counts.get(Status.SUCCEEDED, 0) + counts.get(Status.NOT_NEEDED, 0) == 16
    assert srv.stats["calls"] == called  # every claimed sample was called once, and kept
    assert Solution.objects.filter(job__batch=batch).count() == called + 2
    assert counts.get(Status.NOT_NEEDED, 0) == stop.cancelled
    cancelled = batch.jobs.filter(status=Status.NOT_NEEDED)
    assert not cancelled.exclude(attempts=0).exists()  # never claimed
    assert not CallLog.objects.filter(job__in=cancelled).exists()  # never called
