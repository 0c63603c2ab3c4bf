"""The generation pipeline end to end: services -> django-q2 (sync) -> real Gradio stand-in."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_q.tasks import async_task

from questionbank.models import CallLog, GenerationJob, ModelEndpoint, Problem, Solution
from questionbank.services import generation
from questionbank.services.calllogs import calllog_verify
from questionbank.services.endpoints import endpoint_update
from questionbank.services.generation import claims as claims_mod
from questionbank.services.generation import outcomes as outcomes_mod
from questionbank.services.generation import runner as runner_mod
from questionbank.services.solutions import problem_vote, solution_create
from tests.conftest import PIPELINE_STANDIN_AUTH
from tests.factories import make_endpoint, make_problem, make_teacher, make_template
from tests.servers.fault_server import refused_port
from tests.servers.fixtures import run_standins
from tests.servers.openai_server import start_server

Status = GenerationJob.Status

# The runner's calls and write-ups run in threads with their own database connections,
# as in production: the tests see committed data only, so every test here commits.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def pipeline(settings):
    """Tasks run in-process; retries are due at once so a second run picks them up."""
    settings.QB_TASKS_SYNC = True
    settings.QB_RETRY_BASE_SECONDS = 0
    settings.QB_RETRY_CAP_SECONDS = 0
    settings.QB_BREAKER_THRESHOLD = 3
    settings.QB_JOB_MAX_ATTEMPTS = 4
    return settings


@pytest.fixture
def slow_retries(monkeypatch):
    """Every backoff outlasts the runner's budget, so one run makes one attempt per job
    (a runner waits for retries that come within its budget); ``backoff_ends`` ends it."""
    monkeypatch.setattr(outcomes_mod, "backoff_delay", lambda *args: 24 * 3600)


def backoff_ends(job) -> None:
    GenerationJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())


@pytest.fixture
def standin(pipeline_standins, db):
    return make_endpoint(name="stand-in", base_url=pipeline_standins["plain"], is_standin=True,
                         stream=False)


def start(django_capture_on_commit_callbacks, **kwargs):
    """batch_create, running the enqueued tasks (sync) as the transaction commits."""
    with django_capture_on_commit_callbacks(execute=True):
        return generation.batch_create(**kwargs)


def queued(**kwargs):
    """batch_create with its runner tasks left in the queue: the test runs them itself."""
    with override_settings(QB_TASKS_SYNC=False):
        return generation.batch_create(**kwargs)


def stats(url: str) -> dict:
    reply = requests.post(f"{url}/gradio_api/api/stats/", json={"data": []}, timeout=10)
    return reply.json()["data"][0]


def reset_stats(url: str) -> None:
    requests.post(f"{url}/gradio_api/api/reset_stats/", json={"data": []}, timeout=10)


# --- A batch completing -----------------------------------------------------------------


def test_batch_of_problems_times_samples_completes(pipeline, standin,
                                                   django_capture_on_commit_callbacks):
    teacher = make_teacher("t1")
    problems = [make_problem(statement=f"What is {n}*7?", reference_answer=str(n * 7))
                for n in (3, 4, 5)]
    template = make_template()
    batch = start(django_capture_on_commit_callbacks, problems=problems, template=template,
                  endpoints=[standin], samples=2, created_by=teacher, name="week 1")

    jobs = list(batch.jobs.all())
    assert len(jobs) == 6
    assert {j.status for j in jobs} == {Status.SUCCEEDED}
    assert all(j.attempts == 1 and j.endpoint_id == standin.pk for j in jobs)
    solutions = Solution.objects.filter(job__batch=batch).select_related("current_revision")
    assert solutions.count() == 6
    for s in solutions:
        assert s.status == Solution.Status.DRAFT
        assert s.current_revision.number == 1 and s.current_revision.author is None
        assert s.from_standin and s.endpoint == standin and s.template == template
        assert s.problem_version == s.problem.version
        assert s.call_log.outcome == CallLog.Outcome.SUCCESS and s.call_log.job_id == s.job_id
        assert s.final_answer == s.problem.reference_answer
        assert s.verdict == Solution.Verdict.AGREES
        assert s.majority_share == 1.0 and s.answer_group == 0
        assert "stand-in" in s.reasoning and "<think>" not in s.current_revision.body
    for p in problems:
        assert Solution.objects.filter(problem=p, is_best=True).count() == 1
    logs = CallLog.objects.filter(batch=batch)
    assert logs.count() == 6
    assert all(log.user == teacher and log.attempt == 1 for log in logs)
    batch.refresh_from_db()
    assert batch.finished_at is not None
    progress = generation_progress(batch)
    assert progress["counts"]["succeeded"] == 6 and progress["finished"]
    assert progress["eta_seconds"] is None and progress["running"] == []


def generation_progress(batch):
    from questionbank.selectors import batch_progress

    return batch_progress(batch)


def test_batch_create_refuses_what_cannot_run(pipeline, standin):
    template = make_template(kind="programming")
    maths = make_problem()
    with pytest.raises(ValueError, match="is for programming problems"):
        generation.batch_create(problems=[maths], template=template, endpoints=[standin])
    with pytest.raises(ValueError, match="at least one problem"):
        generation.batch_create(problems=[], template=make_template(), endpoints=[standin])
    with pytest.raises(ValueError, match="at least one model server"):
        generation.batch_create(problems=[maths], template=make_template(), endpoints=[])
    off = make_endpoint(enabled=False)
    with pytest.raises(ValueError, match="disabled"):
        generation.batch_create(problems=[maths], template=make_template(), endpoints=[off])
    with pytest.raises(ValueError, match="between 1 and 16"):
        generation.batch_create(problems=[maths], template=make_template(), endpoints=[standin],
                                samples=0)
    assert not GenerationJob.objects.exists()


def test_non_english_problem_gets_a_warning(pipeline, standin,
                                            django_capture_on_commit_callbacks):
    problem = make_problem(title="二次方程", statement="求解方程 x 的值：计算 6*7 的结果是多少？",
                           reference_answer="42")
    batch = start(django_capture_on_commit_callbacks, problems=[problem],
                  template=make_template(), endpoints=[standin])
    job = batch.jobs.get()
    assert job.status == Status.SUCCEEDED
    assert job.warnings and "English" in job.warnings[0]


def test_programming_solutions_are_not_checked(pipeline, standin,
                                               django_capture_on_commit_callbacks):
    problem = make_problem(kind="programming", statement="Print the sum of two numbers.",
                           test_cases=[{"input": "1 2", "output": "3"}], reference_answer="")
    template = make_template(user_prompt="{statement}\n\nTests:\n{test_cases}")
    batch = start(django_capture_on_commit_callbacks, problems=[problem], template=template,
                  endpoints=[standin], samples=2)
    solutions = Solution.objects.filter(job__batch=batch)
    assert solutions.count() == 2
    assert {s.verdict for s in solutions} == {Solution.Verdict.NOT_CHECKED}
    sent = CallLog.objects.filter(batch=batch).first().request_body
    assert "Expected output" in sent and "1 2" in sent


# --- Cancel and retry ---------------------------------------------------------------------


def test_cancel_stops_queued_jobs_and_keeps_running_ones(pipeline, standin):
    teacher = make_teacher("t2")
    problems = [make_problem() for _ in range(3)]
    batch = queued(problems=problems, template=make_template(),
                   endpoints=[standin], created_by=teacher)
    # One job is already running when the teacher cancels.
    endpoint, claims = claims_mod.claim_jobs(endpoint_id=standin.pk, limit=1)
    assert len(claims) == 1
    assert generation.batch_cancel(batch=batch, user=teacher) == 2
    assert generation.batch_cancel(batch=batch, user=teacher) == 0
    assert batch.cancelled_at is not None and batch.cancelled_by == teacher
    runner_mod.Runner(endpoint).run(claims)  # the running one finishes and is kept

    statuses = dict(batch.jobs.values_list("pk", "status"))
    assert statuses[claims[0].job_id] == Status.SUCCEEDED
    assert sorted(statuses.values()).count(Status.CANCELLED) == 2
    assert generation.endpoint_run(endpoint_id=standin.pk) == 0  # cancelled never start
    assert CallLog.objects.filter(batch=batch).count() == 1
    batch.refresh_from_db()
    assert batch.finished_at is not None


def test_retry_failed_requeues_and_runs_them(pipeline, standin,
                                             django_capture_on_commit_callbacks):
    problem = make_problem(statement="What is 2+2? [[standin:fail=gr-error]]",
                           reference_answer="4")
    batch = start(django_capture_on_commit_callbacks, problems=[problem],
                  template=make_template(), endpoints=[standin])
    job = batch.jobs.get()
    assert job.status == Status.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        assert generation.batch_retry_failed(batch=batch) == 1
    job.refresh_from_db()
    # Still refused (the input asks for it), but it was tried again as a new attempt.
    assert job.status == Status.FAILED and job.attempts == 2
    assert list(CallLog.objects.filter(job=job).values_list("attempt", flat=True)) == [2, 1]


# --- Failures -----------------------------------------------------------------------------


def test_transient_failures_are_retried_then_succeed(pipeline, pipeline_standins, standin,
                                                     slow_retries):
    # The server is down (connection refused) for two attempts, then comes back.
    endpoint_update(endpoint=standin, base_url=f"http://127.0.0.1:{refused_port()}")
    problem = make_problem(statement="What is 6*7?", reference_answer="42")
    batch = queued(problems=[problem], template=make_template(),
                   endpoints=[standin])
    job = batch.jobs.get()
    for attempt in (1, 2):
        assert generation.endpoint_run(endpoint_id=standin.pk) == 1
        job.refresh_from_db()
        assert job.status == Status.QUEUED and job.attempts == attempt
        assert job.error_class == "ConnectFailed"
        assert f"Attempt {attempt} of 4 failed" in job.last_error
        backoff_ends(job)
    standin.refresh_from_db()
    assert standin.consecutive_failures == 2 and not standin.is_paused
    endpoint_update(endpoint=standin, base_url=pipeline_standins["plain"])
    assert generation.endpoint_run(endpoint_id=standin.pk) == 1
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.attempts == 3 and job.last_error == ""
    logs = list(CallLog.objects.filter(job=job).order_by("id"))
    assert [(log.attempt, log.outcome, log.error_class) for log in logs] == [
        (1, "error", "ConnectFailed"), (2, "error", "ConnectFailed"), (3, "success", "")]
    assert job.solution.call_log == logs[-1]
    standin.refresh_from_db()
    assert standin.consecutive_failures == 0


def test_a_reply_cut_off_mid_stream_is_named_so_not_a_connection_failure(pipeline,
                                                                         fault_server, db,
                                                                         slow_retries):
    # The real fault server answers HTTP 200, streams the beginning, then resets.
    fault_server.generator, fault_server.mode = True, "cut-stream"
    endpoint = make_endpoint(name="cut", base_url=fault_server.base_url, stream=True)
    batch = queued(problems=[make_problem()], template=make_template(),
                   endpoints=[endpoint])
    assert generation.endpoint_run(endpoint_id=endpoint.pk) == 1
    job = batch.jobs.get()
    assert job.status == Status.QUEUED and job.error_class == "ReplyCutOff"
    assert job.last_error.startswith("Attempt 1 of 4 failed: The model server at ")
    assert "started its reply (HTTP 200) but it stopped after" in job.last_error
    assert "connect" not in job.last_error.lower()
    log = CallLog.objects.get(job=job)
    assert (log.error_class, log.response_status, log.retryable) == ("ReplyCutOff", 200, True)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1  # a server failure: the breaker counts it


def test_transient_failures_give_up_after_the_bound(pipeline, standin):
    pipeline.QB_JOB_MAX_ATTEMPTS = 2
    pipeline.QB_BREAKER_THRESHOLD = 10
    endpoint_update(endpoint=standin, base_url=f"http://127.0.0.1:{refused_port()}")
    batch = queued(problems=[make_problem()], template=make_template(),
                   endpoints=[standin])
    generation.endpoint_run(endpoint_id=standin.pk)
    generation.endpoint_run(endpoint_id=standin.pk)
    job = batch.jobs.get()
    assert job.status == Status.FAILED and job.attempts == 2
    assert "Gave up after 2 attempts" in job.last_error and "retry" in job.last_error
    assert generation.endpoint_run(endpoint_id=standin.pk) == 0


def test_permanent_failure_fails_once_with_the_reason(pipeline, standin,
                                                      django_capture_on_commit_callbacks):
    problem = make_problem(statement="What is 1+1? [[standin:fail=gr-error]]")
    batch = start(django_capture_on_commit_callbacks, problems=[problem],
                  template=make_template(), endpoints=[standin])
    job = batch.jobs.get()
    assert job.status == Status.FAILED and job.attempts == 1
    assert job.error_class == "ServerReportedError"
    assert "reported an error: stand-in: requested failure" in job.last_error
    log = CallLog.objects.get(job=job)
    assert log.outcome == "error" and log.retryable is False and log.response_status
    assert not Solution.objects.exists()
    standin.refresh_from_db()
    assert standin.consecutive_failures == 0  # a refused input says nothing of the server


def test_breaker_opens_after_three_failures_holds_jobs_and_closes_after_a_probe(
        pipeline, pipeline_standins, db):
    endpoint = make_endpoint(name="flaky", base_url=f"http://127.0.0.1:{refused_port()}",
                             max_concurrency=2)
    problems = [make_problem() for _ in range(4)]
    batch = queued(problems=problems, template=make_template(),
                   endpoints=[endpoint])
    generation.endpoint_run(endpoint_id=endpoint.pk)  # runs until the breaker opens
    endpoint.refresh_from_db()
    # The third failure pauses it. A failed call's slot is filled again only after its
    # failure is counted, so only the other call in flight can fail after the third.
    # The exact threshold is tested without HTTP in test_generation_breaker.py, and with
    # one slot in test_a_server_stopped_mid_batch_pauses_at_exactly_the_threshold.
    assert 3 <= endpoint.consecutive_failures <= 3 + (2 - 1) and endpoint.is_paused
    assert endpoint.pause_message().startswith(f"paused: {endpoint.consecutive_failures} "
                                               "failures, retrying at ")
    assert "refused the connection: is the WEBUI running?" in endpoint.last_error
    held = batch.jobs.filter(status=Status.QUEUED).count()
    assert held == 4  # jobs wait instead of failing
    calls = CallLog.objects.count()
    assert generation.endpoint_run(endpoint_id=endpoint.pk) == 0  # held while open
    assert generation.jobs_sweep()["kicked"] == 0
    assert CallLog.objects.count() == calls

    # The server comes back and the cool-down passes: exactly one probe goes through.
    endpoint_update(endpoint=endpoint, base_url=pipeline_standins["wide"])
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(
        paused_until=timezone.now() - timedelta(seconds=1))
    probe_endpoint, claims = claims_mod.claim_jobs(endpoint_id=endpoint.pk, limit=5)
    assert len(claims) == 1 and claims[0].probe
    assert claims_mod.claim_jobs(endpoint_id=endpoint.pk, limit=5)[1] == []  # no second probe
    runner_mod.Runner(probe_endpoint).run(claims)

    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.paused_until is None
    assert endpoint.pause_message() == ""
    assert set(batch.jobs.values_list("status", flat=True)) == {Status.SUCCEEDED}


def test_a_server_stopped_mid_batch_pauses_at_exactly_the_threshold(pipeline, db,
                                                                     slow_retries,
                                                                     tmp_path_factory):
    """Issue 14, defect 4: 12 jobs, one slot, and the real Gradio server stops mid-batch.
    Each failure is counted before the next claim, so exactly QB_BREAKER_THRESHOLD calls
    fail before the pause, and only the first of them costs its job an attempt."""
    server = run_standins({"doomed": {}}, tmp_path_factory.mktemp("doomed"))
    url = next(server)["doomed"]
    endpoint = make_endpoint(name="doomed", base_url=url, max_concurrency=1, stream=False)
    problems = [make_problem(statement=f"What is {n}+{n}? [[standin:delay=0.3]]",
                             reference_answer=str(2 * n)) for n in range(12)]
    batch = queued(problems=problems, template=make_template(), endpoints=[endpoint],
                   samples=1)
    runner = threading.Thread(target=_run_in_thread, args=(endpoint.pk,))
    runner.start()
    try:
        deadline = time.monotonic() + 120
        while batch.jobs.filter(status=Status.SUCCEEDED).count() < 2:
            assert time.monotonic() < deadline, "the first answers never came"
            time.sleep(0.05)
    finally:
        server.close()  # the server stops, mid-batch
        runner.join(120)
    assert not runner.is_alive()
    endpoint.refresh_from_db()
    assert endpoint.is_paused
    assert endpoint.consecutive_failures == 3
    errors = CallLog.objects.filter(endpoint=endpoint, outcome="error")
    assert errors.count() == 3
    failed = batch.jobs.filter(pk__in=errors.values("job"))
    assert set(failed.values_list("status", flat=True)) == {Status.QUEUED}
    # Attempts left per failed job: the first failure costs one, the other two, which
    # failed while others already had, cost none.
    assert sorted(j.max_attempts - j.attempts for j in failed) == [3, 4, 4]
    first = min(failed, key=lambda j: j.pk)
    assert "does not count against the job" not in first.last_error
    assert all("does not count against the job" in j.last_error
               for j in failed if j.pk != first.pk)
    untouched = batch.jobs.exclude(pk__in=failed).exclude(status=Status.SUCCEEDED)
    assert untouched.count() == 12 - 3 - batch.jobs.filter(status=Status.SUCCEEDED).count()
    assert set(untouched.values_list("attempts", flat=True)) == {0}


def test_a_retry_runs_when_its_backoff_ends_in_the_same_run(pipeline, fault_server, db,
                                                            monkeypatch):
    """Issue 14, defect 13: the runner waits for the retry's backoff instead of leaving it
    to the minute sweep: one run makes both attempts, the second claimed once its backoff
    ended (the claim's own condition), with no sweep and no second task."""
    fault_server.mode = "500-null"  # a server failure with a hidden reason: transient
    monkeypatch.setattr(outcomes_mod, "backoff_delay", lambda *args: 1.0)
    retry_at = []
    job_fields = outcomes_mod._job_fields

    def recording(job, error, now, **kwargs):
        fields = job_fields(job, error, now, **kwargs)
        if fields.get("next_attempt_at"):
            retry_at.append(fields["next_attempt_at"])
            fault_server.mode = "ok"  # the server is back as the failure is written up
        return fields

    monkeypatch.setattr(outcomes_mod, "_job_fields", recording)
    endpoint = make_endpoint(name="blip", base_url=fault_server.base_url, stream=False)
    batch = queued(problems=[make_problem()], template=make_template(), endpoints=[endpoint])
    generation.endpoint_run(endpoint_id=endpoint.pk)  # one task, no sweep
    job = batch.jobs.get()
    assert job.status == Status.SUCCEEDED and job.attempts == 2
    assert len(retry_at) == 1 and job.started_at >= retry_at[0]
    assert list(CallLog.objects.filter(job=job).order_by("id")
                .values_list("attempt", "outcome")) == [(1, "error"), (2, "success")]


@pytest.mark.postgresql
def test_terminated_database_connections_lose_no_reply(pipeline, pipeline_standins, db):
    """Issue 14, defect 5: the worker's PostgreSQL backends are terminated again and again
    mid-batch. The runner reconnects and writes up every reply it received: one call per
    job, each in the call log with its real request and reply, none lost as WorkerLost."""
    pipeline.QB_PARTIAL_SAVE_SECONDS = 0.5  # a lease renewal every half second
    url = pipeline_standins["wide"]
    endpoint = make_endpoint(name="blip", base_url=url, max_concurrency=4, stream=False)
    problems = [make_problem(statement=f"What is {n}+{n}? [[standin:delay=1.2]]",
                             reference_answer=str(2 * n)) for n in range(20)]
    batch = queued(problems=problems, template=make_template(), endpoints=[endpoint],
                   samples=1)
    reset_stats(url)

    def terminate_backends() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            return cursor.fetchone()[0]

    runner = threading.Thread(target=_run_in_thread, args=(endpoint.pk,))
    runner.start()
    terminated = 0
    try:
        deadline = time.monotonic() + 180
        for done in (0, 3, 8, 14):  # while the first calls run, then between write-ups
            while batch.jobs.filter(status=Status.SUCCEEDED).count() < done or not (
                    batch.jobs.filter(status=Status.RUNNING).exists()):
                assert time.monotonic() < deadline, f"stuck before {done} answers"
                time.sleep(0.05)
            terminated += terminate_backends()
    finally:
        runner.join(180)
    assert not runner.is_alive()
    assert terminated >= 4
    assert set(batch.jobs.values_list("status", flat=True)) == {Status.SUCCEEDED}
    assert stats(url)["calls"] == 20  # every model call made once
    logs = CallLog.objects.filter(batch=batch)
    assert logs.count() == 20 and not logs.exclude(outcome="success").exists()
    assert all(log.request_body and "\\boxed{" in log.response_body for log in logs)
    assert Solution.objects.filter(job__batch=batch).count() == 20


def test_concurrency_limit_is_never_exceeded(pipeline, pipeline_standins, db):
    url = pipeline_standins["wide"]  # the server would take 4 at once
    endpoint = make_endpoint(name="two at a time", base_url=url, max_concurrency=2,
                             stream=False)
    problems = [make_problem(statement=f"What is {n}+1? [[standin:delay=0.4]]",
                             reference_answer=str(n + 1)) for n in range(6)]
    batch = queued(problems=problems, template=make_template(),
                   endpoints=[endpoint])
    reset_stats(url)
    assert generation.endpoint_run(endpoint_id=endpoint.pk) == 6
    seen = stats(url)
    assert seen["calls"] == 6
    assert seen["max_in_flight"] == 2  # used both slots, never a third
    assert set(batch.jobs.values_list("status", flat=True)) == {Status.SUCCEEDED}


def test_a_problem_edited_after_the_batch_started_is_sent_as_edited(pipeline, db):
    """Prompts are rendered when a job is claimed, so an edit made while the job waited
    is what the model gets."""
    from questionbank.services.problems import problem_update

    server, url = start_server(delay=0.1)
    try:
        endpoint = make_endpoint(name="ahead", protocol="openai", base_url=url,
                                 max_concurrency=1, stream=False)
        problems = [make_problem(title=f"Sum {n}", statement=f"What is {n}+1?",
                                 reference_answer=str(n + 1)) for n in range(3)]
        batch = queued(
            problems=problems, template=make_template(user_prompt="{title}: {statement}"),
            endpoints=[endpoint])
        endpoint, claims = claims_mod.claim_jobs(endpoint_id=endpoint.pk, limit=1)
        runner = runner_mod.Runner(endpoint)
        assert batch.jobs.filter(status=Status.QUEUED).count() == 2  # waiting, not claimed
        problem_update(problem=problems[1], title="Sum edited")  # not a versioned field
        assert runner.run(claims) == 3
    finally:
        server.stop()
    sent = [r["messages"][-1]["content"] for r in server.requests]
    assert sent == ["Sum 0: What is 0+1?", "Sum edited: What is 1+1?", "Sum 2: What is 2+1?"]
    assert set(batch.jobs.values_list("status", flat=True)) == {Status.SUCCEEDED}
    assert set(batch.jobs.values_list("attempts", flat=True)) == {1}


def test_batch_over_two_endpoints_uses_both(pipeline, pipeline_standins, db):
    a = make_endpoint(name="a", base_url=pipeline_standins["plain"], stream=False)
    b = make_endpoint(name="b", base_url=pipeline_standins["wide"], stream=False)
    problems = [make_problem() for _ in range(4)]
    batch = queued(problems=problems, template=make_template(),
                   endpoints=[a, b])
    # Both runners are started (as batch_create's tasks would); each takes a free slot.
    ep_a, claims_a = claims_mod.claim_jobs(endpoint_id=a.pk, limit=4)
    ep_b, claims_b = claims_mod.claim_jobs(endpoint_id=b.pk, limit=1)
    assert len(claims_a) == 1 and len(claims_b) == 1
    runner_mod.Runner(ep_b).run(claims_b)
    runner_mod.Runner(ep_a).run(claims_a)
    jobs = batch.jobs.all()
    assert {j.status for j in jobs} == {Status.SUCCEEDED}
    assert {j.endpoint_id for j in jobs} == {a.pk, b.pk}


# --- Redelivery and idempotence -----------------------------------------------------------


def test_redelivered_task_does_nothing(pipeline, standin, django_capture_on_commit_callbacks):
    batch = start(django_capture_on_commit_callbacks, problems=[make_problem()],
                  template=make_template(), endpoints=[standin])
    job = batch.jobs.get()
    assert job.status == Status.SUCCEEDED
    calls, solutions = CallLog.objects.count(), Solution.objects.count()
    assert async_task("questionbank.tasks.run_job", job.pk, sync=True)
    assert async_task("questionbank.tasks.run_endpoint", standin.pk, sync=True)
    assert generation.job_run(job_id=job.pk) == 0
    assert generation.endpoint_run(endpoint_id=standin.pk) == 0
    assert (CallLog.objects.count(), Solution.objects.count()) == (calls, solutions)
    job.refresh_from_db()
    assert job.attempts == 1


def test_a_stale_worker_cannot_finish_a_reclaimed_job(pipeline, standin):
    """A worker whose lease lapsed mid-call (and whose job the sweep gave to another) keeps
    its call-log row but neither changes the job nor adds a second solution."""
    batch = queued(
        problems=[make_problem(statement="What is 2+2? [[standin:delay=1]]")],
        template=make_template(), endpoints=[standin])
    endpoint, stale = claims_mod.claim_jobs(endpoint_id=standin.pk, limit=1)
    slow = runner_mod.Runner(endpoint)
    slow._start(stale)  # its call is now in flight, and it stops renewing its lease
    GenerationJob.objects.filter(pk=stale[0].job_id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1))
    # The sweep requeues the job and kicks a runner (in-process here) that runs it again.
    assert generation.jobs_sweep() == {"requeued": 1, "failed": 0, "kicked": 1}
    job = batch.jobs.get()
    assert job.status == Status.SUCCEEDED and job.attempts == 2
    slow.run([])  # the old worker's call returns: logged, but the job is not touched
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.attempts == 2
    assert Solution.objects.filter(job=job).count() == 1
    rows = list(CallLog.objects.filter(job=job).order_by("id")
                .values_list("attempt", "error_class", "outcome"))
    assert rows == [(1, "WorkerLost", "error"), (2, "", "success"), (1, "", "success")]
    assert job.solution.call_log.attempt == 2


def test_sweep_requeues_lapsed_leases_and_fails_when_attempts_are_used_up(pipeline, standin):
    batch = queued(problems=[make_problem(), make_problem()],
                   template=make_template(), endpoints=[standin])
    standin.max_concurrency = 2
    ModelEndpoint.objects.filter(pk=standin.pk).update(max_concurrency=2)
    _, claims = claims_mod.claim_jobs(endpoint_id=standin.pk, limit=2)
    first, second = (c.job_id for c in claims)
    GenerationJob.objects.filter(pk=second).update(attempts=4)
    GenerationJob.objects.filter(pk__in=[first, second]).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1))
    pipeline.QB_TASKS_SYNC = False  # look at what the sweep enqueues without running it
    result = generation.jobs_sweep()
    assert result["requeued"] == 1 and result["failed"] == 1 and result["kicked"] == 1
    assert GenerationJob.objects.get(pk=first).status == Status.QUEUED
    failed = GenerationJob.objects.get(pk=second)
    assert failed.status == Status.FAILED and "last allowed attempt" in failed.last_error
    assert batch.jobs.filter(status=Status.RUNNING).count() == 0


# --- Sanitization end to end ---------------------------------------------------------------


def test_prompt_is_sanitized_and_the_report_is_logged(pipeline, standin,
                                                      django_capture_on_commit_callbacks):
    statement = ("What is 2+\u200b3?\x07 \u202eevil\u202c {system} {0.__class__} {statement}"
                 " e\u0301")
    problem = make_problem(reference_answer="5")
    # Saving cleans these texts now (issue 14): this is a row stored before that.
    Problem.objects.filter(pk=problem.pk).update(title="Add\u2066 it\u2069", statement=statement)
    problem.refresh_from_db()
    template = make_template(system_prompt="Solve: {title}",
                             user_prompt="{statement}\n\n\\boxed{} please.")
    batch = start(django_capture_on_commit_callbacks, problems=[problem], template=template,
                  endpoints=[standin])
    job = batch.jobs.get()
    assert job.status == Status.SUCCEEDED
    log = CallLog.objects.get(job=job)
    sent = json.loads(log.request_body)
    text = json.dumps(sent, ensure_ascii=False)
    for bad in ("\u200b", "\x07", "\u202e", "\u202c", "\u2066", "\u2069"):
        assert bad not in text
    assert "{system} {0.__class__} {statement}" in text  # placeholders in data stay literal
    assert "\u00e9" in text and "e\u0301" not in text  # NFC
    assert "Solve: Add it" in text and "\\\\boxed{} please." in text
    report = log.sanitize_report
    removed = report["fields"]["statement"]["removed"]
    assert removed["zero_width"] == 1 and removed["control"] == 1 and removed["bidi"] == 2
    assert report["fields"]["title"]["removed"]["bidi"] == 2
    assert "statement" in report["changed"]
    assert job.solution.final_answer == "5"


def test_nul_and_control_characters_are_removed_before_sending(pipeline, db):
    problem = Problem(title="T\x00itle", statement="a\x00b\x1bc\x7fd\te\nf", kind="maths")
    template = make_template(user_prompt="{title}: {statement}")
    preview = generation.render_job_prompt(template=template, problem=problem, tag_names=[])
    assert preview.error == ""
    assert preview.user == "Title: abcd\te\nf"
    assert preview.report["fields"]["statement"]["removed"]["nul"] == 1
    assert preview.report["fields"]["statement"]["removed"]["control"] == 2


def test_oversize_statement_fails_with_a_clear_reason_and_sends_nothing(
        pipeline, standin, django_capture_on_commit_callbacks):
    pipeline.QB_MAX_STATEMENT_CHARS = 100
    problem = make_problem(statement="x" * 101)
    batch = start(django_capture_on_commit_callbacks, problems=[problem],
                  template=make_template(), endpoints=[standin])
    job = batch.jobs.get()
    assert job.status == Status.FAILED and job.error_class == "SanitizationError"
    assert "Statement is too long: 101 characters, and the limit is 100" in job.last_error
    assert not CallLog.objects.exists()
    preview = generation.prompt_preview(template=make_template(), problem=problem)
    assert preview.error.startswith("Statement is too long") and preview.user == ""


def test_prompt_preview_shows_what_would_be_sent(pipeline, db):
    problem = make_problem(title="Sum", statement="Add $1+1$.", tags=["Algebra"])
    Problem.objects.filter(pk=problem.pk).update(statement="Add $1+1$.\u200b")  # stored before
    problem.refresh_from_db()  # saving cleaned texts (issue 14)
    template = make_template(system_prompt="You teach {kind}.",
                             user_prompt="{title} [{tags}]: {statement}")
    preview = generation.prompt_preview(template=template, problem=problem)
    assert preview.system == "You teach maths."
    assert preview.user == "Sum [Algebra]: Add $1+1$."
    assert preview.warnings == [] and preview.error == ""
    assert preview.report["changed"] == ["statement"]


# --- Secrets and the hash chain ---------------------------------------------------------------


def test_no_secret_reaches_any_call_log_row(pipeline, pipeline_standins, db,
                                            django_capture_on_commit_callbacks):
    user, password = PIPELINE_STANDIN_AUTH
    gradio = make_endpoint(name="with login", base_url=pipeline_standins["auth"],
                           username=user, password=password, stream=False)
    server, url = start_server(api_key="sk-pipeline-SECRET-42")
    try:
        openai = make_endpoint(name="vllm", protocol="openai", base_url=url,
                               api_key="sk-pipeline-SECRET-42", max_concurrency=4)
        for endpoint in (gradio, openai):
            start(django_capture_on_commit_callbacks, problems=[make_problem()],
                  template=make_template(), endpoints=[endpoint])
        # A failing call too: its request is logged as well.
        start(django_capture_on_commit_callbacks,
              problems=[make_problem(statement="[[openai:error]] 1+1")],
              template=make_template(), endpoints=[openai])
    finally:
        server.stop()
    assert set(GenerationJob.objects.values_list("status", flat=True)) == {
        Status.SUCCEEDED, Status.FAILED}
    assert CallLog.objects.count() == 3
    for row in CallLog.objects.values():
        blob = json.dumps(row, default=str)
        assert password not in blob and "sk-pipeline-SECRET-42" not in blob
    headers = CallLog.objects.get(endpoint=openai, outcome="success").request_headers
    assert headers.get("Authorization") == "[redacted]"


def test_hash_chain_detects_an_edited_row(pipeline, standin, django_capture_on_commit_callbacks):
    start(django_capture_on_commit_callbacks, problems=[make_problem() for _ in range(3)],
          template=make_template(), endpoints=[standin])
    assert calllog_verify().ok
    row = CallLog.objects.order_by("id")[1]
    CallLog.objects.filter(pk=row.pk).update(response_body=row.response_body + " (edited)")
    report = calllog_verify()
    assert not report.ok and report.first_broken_id == row.pk


# --- Answers ----------------------------------------------------------------------------------


def test_final_answer_extraction_end_to_end(pipeline, standin,
                                            django_capture_on_commit_callbacks):
    nested = make_problem(statement=r"[[standin:answer=\frac{1}{\sqrt{2}}]] Simplify.",
                          reference_answer=r"\frac{\sqrt{2}}{2}")
    several = make_problem(statement=r"[[standin:answer=3} or $\boxed{4]] Which?",
                           reference_answer="4")
    start(django_capture_on_commit_callbacks, problems=[nested, several],
          template=make_template(), endpoints=[standin])
    first = Solution.objects.get(problem=nested)
    assert first.final_answer == r"\frac{1}{\sqrt{2}}"
    assert first.verdict == Solution.Verdict.AGREES  # equivalent forms
    second = Solution.objects.get(problem=several)
    assert second.final_answer == "4"  # the last box wins
    assert second.verdict == Solution.Verdict.AGREES


def _solutions_with_answers(problem, answers, endpoint):
    batch = queued(problems=[problem], template=make_template(),
                   endpoints=[endpoint], samples=len(answers))
    for job, answer in zip(batch.jobs.order_by("sample_index"), answers, strict=True):
        solution_create(problem=problem, body=f"... $\\boxed{{{answer}}}$", job=job,
                        final_answer=answer or "")
    return batch


def test_vote_groups_equivalent_forms_and_marks_the_best(pipeline, standin):
    problem = make_problem(reference_answer="0.5")
    _solutions_with_answers(problem, [r"\frac{1}{3}", r"\frac{1}{2}", "0.5", ""],
                                    standin)
    problem_vote(problem_id=problem.pk)
    got = list(Solution.objects.filter(problem=problem).order_by("job__sample_index")
               .values_list("answer_group", "majority_share", "is_best", "verdict"))
    assert got == [
        (0, 0.25, False, "disagrees"),
        (1, 0.5, True, "agrees"),
        (1, 0.5, False, "agrees"),
        (None, 0.0, False, "unchecked"),  # no answer: could not check
    ]


def test_vote_with_roots_and_without_reference(pipeline, standin):
    problem = make_problem(reference_answer="")
    _solutions_with_answers(problem, [r"2\sqrt{2}", r"\sqrt{8}", "3"], standin)
    problem_vote(problem_id=problem.pk)
    got = list(Solution.objects.filter(problem=problem).order_by("job__sample_index")
               .values_list("answer_group", "is_best", "verdict"))
    assert got == [(0, True, "unchecked"), (0, False, "unchecked"), (1, False, "unchecked")]
    assert Solution.objects.filter(problem=problem, is_best=True).get().majority_share == \
        pytest.approx(2 / 3)


def test_vote_accepts_the_problem_s_alternative_answers(pipeline, standin):
    # Issue 15: a Moodle short answer {=four =4} keeps "4" as an accepted answer.
    problem = make_problem(reference_answer="four", accepted_answers=["4"])
    _solutions_with_answers(problem, ["4", "Four", "5"], standin)
    problem_vote(problem_id=problem.pk)
    got = list(Solution.objects.filter(problem=problem).order_by("job__sample_index")
               .values_list("verdict", flat=True))
    assert got == ["agrees", "agrees", "disagrees"]


# --- Progress and streaming ----------------------------------------------------------------


def test_progress_counts_and_eta(pipeline, standin, django_capture_on_commit_callbacks,
                               monkeypatch):
    from questionbank.selectors import batch_progress

    done = start(django_capture_on_commit_callbacks, problems=[make_problem()],
                 template=make_template(), endpoints=[standin])
    job = done.jobs.get()
    GenerationJob.objects.filter(pk=job.pk).update(
        started_at=job.finished_at - timedelta(seconds=10))
    later = queued(problems=[make_problem() for _ in range(3)],
                   template=make_template(), endpoints=[standin])
    progress = batch_progress(later)
    assert progress["counts"]["queued"] == 3 and progress["eta_seconds"] is None
    # Observed durations in this batch drive the ETA. The clock stands still, so the
    # estimate is exact whatever the machine's speed.
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    GenerationJob.objects.filter(pk=later.jobs.first().pk).update(
        status=Status.SUCCEEDED, started_at=now - timedelta(seconds=20), finished_at=now)
    GenerationJob.objects.filter(pk=later.jobs.last().pk).update(
        status=Status.RUNNING, started_at=now - timedelta(seconds=5),
        partial_text="So far", endpoint=standin)
    progress = batch_progress(later)
    assert progress["counts"] == {"queued": 1, "running": 1, "succeeded": 1, "failed": 0,
                                  "cancelled": 0, "not_needed": 0}
    assert progress["remaining"] == 2 and not progress["finished"]
    assert progress["eta_seconds"] == 35  # 2 x 20 s - 5 s elapsed
    (running,) = progress["running"]
    assert running["partial_text"] == "So far" and running["elapsed_seconds"] == 5
    assert running["endpoint"] == "stand-in"


def test_streamed_partial_text_and_lease_are_saved_while_the_call_runs(
        pipeline, pipeline_standins):
    pipeline.QB_PARTIAL_SAVE_SECONDS = 1
    pipeline.QB_TASKS_SYNC = False  # commits are real here: run the runner ourselves
    endpoint = make_endpoint(name="streaming", base_url=pipeline_standins["stream"],
                             stream=True)
    batch = queued(problems=[make_problem()], template=make_template(),
                   endpoints=[endpoint])
    job = batch.jobs.get()
    runner = threading.Thread(target=_run_in_thread, args=(endpoint.pk,))
    runner.start()
    partials, leases = set(), set()
    deadline = time.monotonic() + 30
    while runner.is_alive() and time.monotonic() < deadline:
        row = GenerationJob.objects.get(pk=job.pk)
        if row.status == Status.RUNNING:
            leases.add(row.lease_expires_at)
            partials.add(row.partial_text)
        time.sleep(0.2)
    runner.join(30)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    # Saved mid-call (every second or so), before the answer was complete.
    assert any(p.startswith("<think>") and "\\boxed{" not in p for p in partials)
    assert len(leases) >= 2  # renewed while in flight
    assert job.partial_text == ""


def _run_in_thread(endpoint_id):
    try:
        generation.endpoint_run(endpoint_id=endpoint_id)
    finally:
        connection.close()


def test_language_placeholder_carries_the_problems_language(db):
    from questionbank.services.generation import prompt_preview
    from tests.factories import make_problem, make_template

    problem = make_problem(language="fr", statement="Calculez $2+2$.")
    template = make_template(user_prompt="[{language}] {statement}")
    assert prompt_preview(template=template, problem=problem).user.startswith("[fr] Calculez")


def test_batch_create_with_a_template_per_kind(db):
    from questionbank.services.generation import batch_create

    endpoint = make_endpoint()
    maths_t, code_t = make_template(kind="maths"), make_template(kind="programming")
    maths = [make_problem(kind="maths"), make_problem(kind="maths")]
    code = make_problem(kind="programming")
    batch = batch_create(problems=[*maths, code], endpoints=[endpoint],
                         templates_by_kind={"maths": maths_t, "programming": code_t})
    assert {(j.problem.kind, j.template_id) for j in batch.jobs.select_related("problem")} == {
        ("maths", maths_t.pk), ("programming", code_t.pk)}
    assert batch.template == maths_t  # the one most of its problems use
    with pytest.raises(ValueError, match="Choose a template for the programming problems."):
        batch_create(problems=[code], endpoints=[endpoint], templates_by_kind={"maths": maths_t})
    # A kind's template must still suit it, whatever the caller passed.
    with pytest.raises(ValueError, match="is for maths problems"):
        batch_create(problems=[code], endpoints=[endpoint],
                     templates_by_kind={"programming": maths_t})
