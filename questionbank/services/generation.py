"""Generating worked solutions: batches, the job runner, the breaker and the sweep.

The job table (``GenerationJob``) is the source of truth, not django-q2's queue:

- **Starting work** (``batch_create``) writes the batch and its jobs in one transaction
  and enqueues runner tasks on commit.
- **Claiming** is a conditional UPDATE (queued -> running, with a lease and a per-claim
  token) inside a transaction that locks the endpoint row. The endpoint's concurrency
  slots are its running jobs with a live lease, counted under that lock, so the limit
  holds across every worker process and machine sharing the database. The same lock
  guards the circuit breaker (``consecutive_failures`` / ``paused_until``).
- **Running**: a task becomes a *runner* for one endpoint. It keeps up to
  ``QB_RUNNER_THREADS`` calls in flight in a thread pool; the threads only do HTTP, while
  every database write happens in the runner's own thread, with no transaction open
  during a call. When a call ends, the runner claims the next waiting job for that
  endpoint at once (milliseconds, no queue round trip), then logs and finishes the
  ended one. A job that finds no free slot stays queued and ties up no worker: the
  runner that frees a slot picks it up, and the periodic sweep is the safety net.
- **Leases** are renewed while calls are in flight and streamed partial text is saved
  every ``QB_PARTIAL_SAVE_SECONDS``. The sweep (a django-q2 schedule, every minute)
  requeues jobs whose lease lapsed (worker killed, machine restarted) and kicks
  endpoints that have free slots and waiting jobs; this does not depend on the broker
  keeping receipts, so it holds with Redis too.
- **Every attempt** gets one call-log row, in its own transaction, before the job's
  state changes. A job finishes only if it still holds the claim that started the call,
  and ``Solution.job`` is one-to-one: a job never produces two solutions.
- **Retries** are the project's own: transient errors (cannot connect, timed out, 5xx,
  429, an empty reply, a server failure with a hidden reason) requeue the job with full
  jitter backoff (``QB_RETRY_BASE_SECONDS``, capped at ``QB_RETRY_CAP_SECONDS``), up to
  ``QB_JOB_MAX_ATTEMPTS`` attempts in all; permanent ones (4xx, layout mismatch, reply
  too large, cut off at the token budget, sanitization rejected) fail at once with the
  reason.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from questionbank.models import (
    CallLog,
    GenerationBatch,
    GenerationJob,
    ModelEndpoint,
    Problem,
    PromptTemplate,
)
from questionbank.services.solutions import problem_vote, solution_create

logger = logging.getLogger(__name__)

__all__ = [
    "PromptPreview",
    "batch_create",
    "batch_cancel",
    "batch_retry_failed",
    "endpoint_run",
    "job_run",
    "jobs_sweep",
    "prompt_preview",
    "render_job_prompt",
]

SWEEP_SCHEDULE_NAME = "questionbank: generation sweep"
SWEEP_FUNC = "questionbank.tasks.sweep"


# --- Prompts --------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptPreview:
    """What would be sent for one problem through one template.

    ``error`` is a sentence for the teacher when the prompt cannot be sent (then
    ``system`` and ``user`` are empty); ``warnings`` are sentences too (non-English text).
    ``report`` is the sanitization report stored with each call.
    """

    system: str = ""
    user: str = ""
    report: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str = ""


def _field_caps() -> dict[str, int]:
    return {
        "title": settings.QB_MAX_TITLE_CHARS,
        "statement": settings.QB_MAX_STATEMENT_CHARS,
        "source": settings.QB_MAX_TITLE_CHARS,
        "tags": settings.QB_MAX_TITLE_CHARS * 4,
        "test_cases": settings.QB_MAX_STATEMENT_CHARS,
    }


def _format_test_cases(cases) -> str:
    if not isinstance(cases, list):
        return ""
    blocks = []
    for n, case in enumerate(cases, 1):
        if not isinstance(case, dict):
            continue
        blocks.append(
            f"Example {n}\nInput:\n{case.get('input', '')}\nExpected output:\n"
            f"{case.get('output', '')}"
        )
    return "\n\n".join(blocks)


def _problem_values(problem: Problem, tag_names: list[str] | None = None) -> dict[str, str]:
    if tag_names is None:
        tag_names = [t.name for t in problem.tags.all()]
    programming = problem.kind == Problem.Kind.PROGRAMMING
    return {
        "title": problem.title,
        "statement": problem.statement,
        "kind": problem.get_kind_display().lower(),
        "difficulty": problem.get_difficulty_display(),
        "tags": ", ".join(tag_names),
        "language": problem.language,
        "source": problem.source,
        "test_cases": _format_test_cases(problem.test_cases) if programming else "",
    }


def render_job_prompt(*, template: PromptTemplate, problem: Problem,
                      tag_names: list[str] | None = None) -> PromptPreview:
    """Sanitize every field that goes into the prompt, render the template, sanitize the
    result. Never raises for bad input: the reason is in ``error``."""
    from questionbank.sanitize import (
        SanitizationError,
        detect_non_english,
        render_prompt,
        sanitize_fields,
        sanitize_prompt,
        template_placeholders,
    )

    if tag_names is None and "tags" not in template_placeholders(
            f"{template.system_prompt}\n{template.user_prompt}"):
        tag_names = []  # not used: spare the query
    warnings = []
    warning = detect_non_english(f"{problem.title}\n{problem.statement}")
    if warning:
        warnings.append(warning)
    try:
        values, field_reports = sanitize_fields(_problem_values(problem, tag_names), _field_caps())
        system = render_prompt(template.system_prompt or "", values)
        user = render_prompt(template.user_prompt, values)
        cap = settings.QB_MAX_PROMPT_CHARS
        system, user, prompt_report = sanitize_prompt(system, user, {"system": cap, "user": cap})
    except SanitizationError as err:
        return PromptPreview(warnings=warnings, error=str(err),
                             report={"rejected": {"field": err.field, "length": err.length,
                                                  "max_length": err.max_length}})
    except KeyError as err:  # a known placeholder without a value: a bug here, not the user's
        logger.exception("prompt rendering failed for template %s", template.pk)
        return PromptPreview(warnings=warnings, error=(
            f"The template uses a placeholder this version cannot fill ({err}); "
            "remove it from the template or tell the administrator."))
    changed = sorted(
        name for name, rep in {**field_reports, **prompt_report}.items() if rep.get("changed")
    )
    report = {"fields": field_reports, "prompt": prompt_report, "changed": changed}
    return PromptPreview(system=system, user=user, report=report, warnings=warnings)


def prompt_preview(*, template: PromptTemplate, problem: Problem) -> PromptPreview:
    """The prompt exactly as a job would send it (for the template editor's preview)."""
    return render_job_prompt(template=template, problem=problem)


# --- Starting, cancelling, retrying ----------------------------------------------------


def _enqueue(func: str, *args) -> None:
    """Hand a task to django-q2 (in-process when ``QB_TASKS_SYNC``; read per call so tests
    can switch it). The one place the project enqueues, so a later move is cheap."""
    from django_q.tasks import async_task

    async_task(func, *args, sync=settings.QB_TASKS_SYNC, task_name=f"{func.rsplit('.', 1)[-1]}"
               f"({', '.join(map(str, args))})")


def _kick_endpoints(endpoints) -> None:
    """Enqueue enough runners to fill each endpoint's slots (one runner has many threads)."""
    for endpoint in endpoints:
        for _ in range(max(1, math.ceil(endpoint.max_concurrency / settings.QB_RUNNER_THREADS))):
            _enqueue("questionbank.tasks.run_endpoint", endpoint.pk)


def batch_create(*, problems, template: PromptTemplate, endpoints, samples: int | None = None,
                 created_by=None, name: str = "") -> GenerationBatch:
    """Create a batch: ``problems`` x ``samples`` jobs through ``template`` on ``endpoints``.

    Rows are written in one transaction and runner tasks are enqueued when it commits.
    Each job goes to whichever of the endpoints has a free slot. ``samples`` defaults to
    the template's. Raises ``ValueError`` with a sentence for the teacher when the
    request cannot be run (no problems, no enabled endpoint, archived problems, a
    template meant for another kind of problem, samples out of range).
    """
    problems = list(problems)
    endpoints = list(endpoints)
    samples = template.samples if samples is None else int(samples)
    if not problems:
        raise ValueError("Choose at least one problem to generate solutions for.")
    if not endpoints:
        raise ValueError("Choose at least one model server to generate with.")
    disabled = [e.name for e in endpoints if not e.enabled]
    if disabled:
        raise ValueError(f"The model server {', '.join(disabled)} is disabled; enable it in "
                         "the admin or choose another one.")
    if not 1 <= samples <= 16:
        raise ValueError("Samples per problem must be between 1 and 16.")
    archived = [p for p in problems if p.status == Problem.Status.ARCHIVED]
    if archived:
        raise ValueError(f"{len(archived)} of the chosen problems are archived "
                         f"(e.g. “{archived[0].title}”); unarchive them or leave them out.")
    unsuited = [p for p in problems if not template.suits(p.kind)]
    if unsuited:
        raise ValueError(
            f"The template “{template.name}” is for {template.get_kind_display().lower()} "
            f"problems, but {len(unsuited)} chosen problems are not (e.g. "
            f"“{unsuited[0].title}”); choose a template for any problem or leave them out.")
    if len({p.pk for p in problems}) != len(problems):
        problems = list({p.pk: p for p in problems}.values())

    from questionbank.sanitize import detect_non_english

    with transaction.atomic():
        batch = GenerationBatch.objects.create(
            name=name[:200], template=template, samples=samples, created_by=created_by
        )
        batch.endpoints.set(endpoints)
        jobs = []
        for problem in problems:
            warning = detect_non_english(f"{problem.title}\n{problem.statement}")
            for index in range(samples):
                jobs.append(GenerationJob(
                    batch=batch, problem=problem, template=template, sample_index=index,
                    problem_version=problem.version, created_by=created_by,
                    max_attempts=settings.QB_JOB_MAX_ATTEMPTS,
                    warnings=[warning] if warning else [],
                ))
        GenerationJob.objects.bulk_create(jobs, batch_size=500)
        transaction.on_commit(lambda: _kick_endpoints(endpoints))
    return batch


def batch_cancel(*, batch: GenerationBatch, user=None) -> int:
    """Cancel a batch: queued jobs never start; running ones finish and are kept.

    Returns the number of jobs cancelled. Cancelling twice is harmless.
    """
    now = timezone.now()
    with transaction.atomic():
        n = GenerationJob.objects.filter(batch=batch, status=GenerationJob.Status.QUEUED).update(
            status=GenerationJob.Status.CANCELLED, finished_at=now, next_attempt_at=None,
            last_error=f"Cancelled by {user.get_username() if user else 'the system'}.",
        )
        GenerationBatch.objects.filter(pk=batch.pk, cancelled_at__isnull=True).update(
            cancelled_at=now, cancelled_by=user
        )
        _batch_mark_finished(batch.pk)
    batch.refresh_from_db()
    return n


def batch_retry_failed(*, batch: GenerationBatch, user=None) -> int:
    """Put a batch's failed jobs back in the queue, each with a fresh allowance of attempts.

    Returns the number of jobs requeued; runners are enqueued when the transaction commits.
    """
    with transaction.atomic():
        n = GenerationJob.objects.filter(batch=batch, status=GenerationJob.Status.FAILED).update(
            status=GenerationJob.Status.QUEUED, next_attempt_at=None, finished_at=None,
            lease_expires_at=None, claimed_by="", last_error="", error_class="",
            # Attempts keep counting (call-log rows stay distinct); the allowance restarts.
            max_attempts=F("attempts") + settings.QB_JOB_MAX_ATTEMPTS,
        )
        if n:
            GenerationBatch.objects.filter(pk=batch.pk).update(finished_at=None)
            endpoints = list(batch.endpoints.enabled())
            transaction.on_commit(lambda: _kick_endpoints(endpoints))
    batch.refresh_from_db()
    return n


def _batch_mark_finished(batch_id: int) -> None:
    active = GenerationJob.objects.filter(
        batch_id=batch_id,
        status__in=[GenerationJob.Status.QUEUED, GenerationJob.Status.RUNNING],
    )
    if not active.exists():
        GenerationBatch.objects.filter(pk=batch_id, finished_at__isnull=True).update(
            finished_at=timezone.now()
        )


# --- The model-server client, per endpoint and per process -----------------------------

_clients: dict[int, tuple[tuple, object]] = {}
_clients_lock = threading.Lock()


def _client_for(endpoint: ModelEndpoint):
    """A cached ``webui.Client`` (it keeps discovery); rebuilt when the endpoint changes."""
    from questionbank.services.endpoints import client_endpoint
    from questionbank.webui import Client

    key = (endpoint.updated_at, settings.QB_CALL_MAX_SECONDS)
    with _clients_lock:
        cached = _clients.get(endpoint.pk)
        if cached and cached[0] == key:
            return cached[1]
    # A call must end well inside django-q2's task timeout (settings.Q_CLUSTER).
    deadline = min(endpoint.deadline, settings.QB_CALL_MAX_SECONDS)
    client = Client(client_endpoint(endpoint, deadline=deadline))
    with _clients_lock:
        _clients[endpoint.pk] = (key, client)
    return client


# --- Claiming: the conditional UPDATE, the slot count and the breaker, under one lock ---


def _worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


@dataclass(frozen=True)
class _Claim:
    job_id: int
    token: str
    probe: bool
    # As the claim left the row, for a job the runner loaded and rendered beforehand:
    attempts: int | None = None
    max_attempts: int | None = None
    problem_stamp: tuple | None = None  # (version, updated_at) of the job's problem


def _eligible(endpoint_id: int, now):
    return GenerationJob.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        status=GenerationJob.Status.QUEUED,
        batch__endpoints=endpoint_id,
    )


def _busy(endpoint_id: int, now, exclude_ids=()) -> int:
    """Slots in use: running jobs on the endpoint whose lease is alive."""
    return (
        GenerationJob.objects.filter(
            endpoint_id=endpoint_id, status=GenerationJob.Status.RUNNING, lease_expires_at__gt=now
        )
        .exclude(pk__in=list(exclude_ids))
        .count()
    )


def _claim(*, endpoint_id: int, limit: int, exclude_ids=(), job_id: int | None = None
           ) -> tuple[ModelEndpoint | None, list[_Claim]]:
    """Claim up to ``limit`` waiting jobs for one endpoint, within its free slots.

    The endpoint row is locked (SELECT ... FOR UPDATE; on SQLite the IMMEDIATE
    transaction serializes writers), so concurrent claimers anywhere count slots one at
    a time. ``exclude_ids`` are this runner's jobs whose calls have already returned but
    are not yet written up: their slots are free on the server. When the breaker is open
    nothing is claimed; after the cool-down exactly one job is claimed as the probe, and
    ``paused_until`` moves one cool-down ahead so no other worker probes meanwhile.

    Two statements: the lock, then one conditional UPDATE that counts the busy slots,
    picks the waiting jobs (SKIP LOCKED on PostgreSQL) and claims them. The count runs in
    the second statement on purpose: a statement sees what was committed before it
    started, and only after the lock is held have earlier claimers' jobs all committed.
    """
    if limit <= 0:
        return None, []
    now = timezone.now()
    with transaction.atomic():
        endpoint = _lock_endpoint(endpoint_id)
        if endpoint is None or (endpoint.paused_until and endpoint.paused_until > now):
            return endpoint, []
        probe = endpoint.consecutive_failures >= settings.QB_BREAKER_THRESHOLD
        if probe:
            limit = 1
        token = f"{_worker_id()}/{uuid.uuid4().hex[:12]}"
        rows = _claim_update(endpoint, now, limit, token, exclude_ids, job_id)
        if not rows:
            return endpoint, []
        if probe:
            endpoint.paused_until = now + timedelta(seconds=settings.QB_BREAKER_COOLDOWN_SECONDS)
            endpoint.save(update_fields=["paused_until"])
    return endpoint, [
        _Claim(job_id=pk, token=token, probe=probe, attempts=attempts,
               max_attempts=max_attempts, problem_stamp=(version, _db_datetime(updated_at)))
        for pk, attempts, max_attempts, version, updated_at in rows
    ]


def _db_datetime(value):
    """A datetime column's value as raw SQL returned it (SQLite: text) as the ORM would."""
    convert = getattr(connection.ops, "convert_datetimefield_value", None)
    return convert(value, None, connection) if convert and value is not None else value


def _lock_sql() -> str:
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def _lock_endpoint(endpoint_id: int) -> ModelEndpoint | None:
    """The enabled endpoint's row, locked until the transaction ends (None if disabled)."""
    table = connection.ops.quote_name(ModelEndpoint._meta.db_table)
    rows = list(ModelEndpoint.objects.raw(
        f"SELECT * FROM {table} WHERE id = %s AND enabled = %s{_lock_sql()}",
        [endpoint_id, True]))
    return rows[0] if rows else None


def _claim_update(endpoint: ModelEndpoint, now, limit: int, token: str, exclude_ids,
                  job_id: int | None) -> list[tuple]:
    """Claim waiting jobs within the endpoint's free slots (its row must be locked).

    Returns ``(id, attempts, max_attempts, problem version, problem updated_at)`` rows
    in id order: enough to tell whether a job loaded earlier is still as it was.
    """
    qn, ops = connection.ops.quote_name, connection.ops
    job = qn(GenerationJob._meta.db_table)
    problem = qn(Problem._meta.db_table)
    through = GenerationBatch.endpoints.through._meta
    link = qn(through.db_table)
    link_batch = qn(through.get_field("generationbatch").column)
    link_endpoint = qn(through.get_field("modelendpoint").column)
    at = ops.adapt_datetimefield_value(now)
    lease = ops.adapt_datetimefield_value(
        now + timedelta(seconds=settings.QB_JOB_LEASE_SECONDS))
    queued, running = GenerationJob.Status.QUEUED, GenerationJob.Status.RUNNING
    greatest, least = ("GREATEST", "LEAST") if connection.vendor == "postgresql" else (
        "MAX", "MIN")
    exclude_ids = list(exclude_ids)
    not_mine = (f" AND b.id NOT IN ({', '.join(['%s'] * len(exclude_ids))})"
                if exclude_ids else "")
    only = " AND j.id = %s" if job_id is not None else ""
    skip = " FOR UPDATE OF j SKIP LOCKED" if connection.features.has_select_for_update_skip_locked \
        else ""
    # The pick is a MATERIALIZED CTE so it runs once: as an IN (subquery) PostgreSQL may
    # rescan it per row, and a rescan skips the rows just claimed and picks more.
    sql = (
        f"WITH picked AS MATERIALIZED ("
        f"SELECT j.id FROM {job} j WHERE j.status = %s"
        f" AND (j.next_attempt_at IS NULL OR j.next_attempt_at <= %s)"
        f" AND j.batch_id IN (SELECT {link_batch} FROM {link} WHERE {link_endpoint} = %s)"
        f"{only} ORDER BY j.id LIMIT ("
        f"SELECT {greatest}(0, {least}(%s, %s - COUNT(*))) FROM {job} b"
        f" WHERE b.endpoint_id = %s AND b.status = %s AND b.lease_expires_at > %s{not_mine})"
        f"{skip}) "
        f"UPDATE {job} SET status = %s, endpoint_id = %s, claimed_by = %s, "
        f"lease_expires_at = %s, attempts = attempts + 1, started_at = %s, "
        f"next_attempt_at = NULL, partial_text = '', partial_updated_at = NULL "
        f"WHERE status = %s AND id IN (SELECT id FROM picked) RETURNING id, attempts, "
        f"max_attempts, (SELECT p.version FROM {problem} p WHERE p.id = {job}.problem_id), "
        f"(SELECT p.updated_at FROM {problem} p WHERE p.id = {job}.problem_id)"
    )
    params = [queued, at, endpoint.pk, *([job_id] if job_id is not None else []), limit,
              endpoint.max_concurrency, endpoint.pk, running, at, *exclude_ids,
              running, endpoint.pk, token, lease, at, queued]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(tuple(row) for row in cursor.fetchall())


# --- Running: one runner per task, many calls in flight ---------------------------------


class _Flight:
    """One call in flight: the claimed job, its prompt, and the partial text so far."""

    def __init__(self, job: GenerationJob, claim: _Claim, prompt: PromptPreview):
        self.job = job
        self.claim = claim
        self.prompt = prompt
        self.problem_version = job.problem.version
        self.result = None
        self.error = None
        self._lock = threading.Lock()
        self._partial = ""
        self._dirty = False

    def on_partial(self, text: str) -> None:  # called from the HTTP thread, per chunk
        with self._lock:
            self._partial = text
            self._dirty = True

    def take_partial(self) -> str | None:
        with self._lock:
            if not self._dirty:
                return None
            self._dirty = False
            return self._partial


@dataclass
class _Ready:
    """A waiting job loaded (not claimed) ahead of its claim, with its prompt rendered."""

    job: GenerationJob
    reusable: bool  # False: its prompt reads rows the claim cannot vouch for (tags)
    prompt: PromptPreview | None = None  # None until rendered
    request: object = None


class _Runner:
    """Keeps one endpoint's slots busy from one task.

    Each call runs in a call thread (HTTP only, no database). When it returns, the runner
    is told at once and claims a replacement (so the server starts its next call within
    milliseconds). While calls are in flight the runner loads the next waiting jobs and
    renders their prompts (without claiming them), so a claim is one short transaction
    and the request is ready; the claim tells whether the problem changed since (its
    version and ``updated_at``), and then the job is loaded and rendered again. A few
    writer threads (``QB_RUNNER_WRITERS``, one database connection
    each) then write the call log, update the breaker, finish the job and create the
    solution, so write-ups run in parallel while database connections stay bounded.
    Inside an open transaction (a test's) other threads could not see the data, so there
    the runner's thread does the write-ups itself.
    The runner's thread also renews leases, saves partial text and runs the answer
    checks of multi-sample problems. No transaction is open during any call.
    """

    def __init__(self, endpoint: ModelEndpoint):
        self.endpoint = endpoint
        self.cap = settings.QB_RUNNER_THREADS
        self.stop_claiming_at = time.monotonic() + settings.QB_RUNNER_BUDGET_SECONDS
        self.budget_spent = False
        self.flights: dict[int, _Flight] = {}  # claimed and not yet written up
        self.returned: set[int] = set()  # their calls have ended
        self.held_back = False
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()  # calls to make
        self.writeups: queue.SimpleQueue = queue.SimpleQueue()  # returned calls to write up
        self.threads: list[threading.Thread] = []  # call threads: HTTP only, no database
        self.writers: list[threading.Thread] = []  # one database connection each
        self.threaded = not connection.in_atomic_block
        self._lock = threading.Lock()
        self.votes: dict[int, None] = {}  # problems whose candidates need a vote
        self.unwritten: list[_Flight] = []  # returned, not yet handed to the writers
        self.sent_at = 0.0  # when a call was last handed to a call thread
        self.ready: dict[int, _Ready] = {}  # waiting jobs loaded before their claim
        self.prefetch_due = True  # look for more waiting jobs when ``ready`` runs short
        self._tag_free: dict[int, bool] = {}  # template id -> its prompt uses no tags
        self.batches: set[int] = set()
        self.finished = 0
        self.client = _client_for(endpoint)
        lease = settings.QB_JOB_LEASE_SECONDS
        self.beat_every = max(0.5, min(lease / 3, settings.QB_PARTIAL_SAVE_SECONDS))
        self.next_beat = time.monotonic() + self.beat_every

    def run(self, claims: list[_Claim]) -> int:
        try:
            self._start(claims)
            self._fill()
            while self.flights:
                self._step()
            while self.votes:
                self._vote_next()
            for batch_id in self.batches:
                _batch_mark_finished(batch_id)
        finally:
            # On an error here (database gone) the threads still end their calls; the
            # leases lapse and the sweep puts the jobs back.
            for flight in self.unwritten:  # the writers may still manage
                self.writeups.put(flight)
            for _ in self.threads:
                self.inbox.put(None)
            for _ in self.writers:
                self.writeups.put(None)
            for thread in [*self.threads, *self.writers]:
                thread.join()
        if self.budget_spent and _eligible(self.endpoint.pk, timezone.now()).exists():
            _kick_endpoints([self.endpoint])  # hand over to a fresh task
        return self.finished

    def _step(self) -> None:
        """Wait for events (or the heartbeat), then act on all that arrived."""
        events = []
        idle_work = self.unwritten or self.votes or self._preparing()
        timeout = max(0.0, (self.sent_at + self.SEND_WINDOW if idle_work else self.next_beat)
                      - time.monotonic())
        try:
            started = time.monotonic()
            events.append(self.events.get(timeout=timeout) if timeout else
                          self.events.get_nowait())
            while True:
                events.append(self.events.get_nowait())
        except queue.Empty:
            pass
        if not events and idle_work and self._calm():
            # Calls just handed over are sent first; then, one small piece at a time
            # (events come first): write-ups to the writers, loading ahead, answer checks.
            if self.unwritten:
                for flight in self.unwritten:
                    self.writeups.put(flight)
                self.unwritten.clear()
            elif self._preparing():
                self._prepare()
            else:
                self._vote_next()
        if time.monotonic() - started > 5:
            _refresh_connection()  # a long wait may have outlived the connection
        returned = [f for kind, f in events if kind == "returned"]
        if returned:
            self.returned.update(f.job.pk for f in returned)
            try:
                self._fill()  # first: keep the server busy
            finally:
                if self.threaded:  # later: writers would slow the claim and send (the GIL)
                    self.unwritten.extend(returned)
        if not self.threaded:
            for flight in returned:
                self._finish(flight)
                self._done(flight)
        finished = [f for kind, f in events if kind == "finished"]
        for flight in finished:
            self._done(flight)
        if finished and self.held_back:
            self._fill()
        if time.monotonic() >= self.next_beat:
            self._beat()

    # A call thread needs the GIL for a few milliseconds to send its request: meanwhile
    # the runner leaves the GIL to it rather than waking writers or loading ahead.
    SEND_WINDOW = 0.003

    def _calm(self) -> bool:
        return time.monotonic() - self.sent_at >= self.SEND_WINDOW

    def _done(self, flight: _Flight) -> None:
        self.flights.pop(flight.job.pk, None)
        self.returned.discard(flight.job.pk)
        if flight.claim.probe:  # the probe's outcome decides: go on or stop
            self._fill()

    # -- the call threads and the writers ---------------------------------------------
    def _thread_main(self) -> None:
        while True:
            item = self.inbox.get()
            if item is None:
                return
            self._call(*item)

    def _call(self, flight: _Flight, request) -> None:
        from questionbank.webui import WebUIError

        try:
            flight.result = self.client.generate(request, on_partial=flight.on_partial)
        except WebUIError as err:
            flight.error = err
        except Exception as err:  # a bug in the client must still end the job, and be logged
            logger.exception("unexpected error calling %s for job %s", self.endpoint,
                             flight.job.pk)
            flight.error = _Unexpected(err)
        self.events.put(("returned", flight))

    def _writer_main(self) -> None:
        try:
            while True:
                flight = self.writeups.get()
                if flight is None:
                    return
                try:
                    close_old_connections()  # the wait may have outlived the connection
                    self._finish(flight)
                except Exception:
                    # The job stays running; its lease lapses and the sweep puts it back.
                    logger.exception("could not write up job %s", flight.job.pk)
                finally:
                    self.events.put(("finished", flight))
        finally:
            connection.close()

    # -- claiming and starting --------------------------------------------------------
    def _fill(self) -> None:
        if time.monotonic() >= self.stop_claiming_at:
            self.budget_spent = True
            return
        # Calls in flight stay under the cap; calls waiting to be written up stay under
        # it too, so a slow database slows claiming instead of piling up claimed jobs.
        calls_room = self.cap - (len(self.flights) - len(self.returned))
        room = min(calls_room, 2 * self.cap - len(self.flights))
        self.held_back = room < calls_room  # fill again as write-ups finish
        endpoint, claims = _claim(endpoint_id=self.endpoint.pk, limit=room,
                                  exclude_ids=list(self.returned))
        if endpoint is not None:
            self.endpoint = endpoint
        self._start(claims)

    def _start(self, claims: list[_Claim]) -> None:
        if not claims:
            return
        cold = {}
        for claim in claims:
            ready = self.ready.pop(claim.job_id, None)
            if ready is None or not self._still_valid(ready, claim):
                cold[claim.job_id] = claim
                continue
            job = ready.job  # as the claim left it (the rest does not change while queued)
            job.status, job.endpoint_id, job.claimed_by = (
                GenerationJob.Status.RUNNING, self.endpoint.pk, claim.token)
            job.attempts, job.max_attempts = claim.attempts, claim.max_attempts
            job.next_attempt_at, job.partial_text, job.partial_updated_at = None, "", None
            self._launch(job, claim, ready.prompt, ready.request)
        # Claims take the lowest waiting ids: a job loaded ahead below the highest one
        # claimed here was taken by another runner or is no longer waiting.
        top = max(c.job_id for c in claims)
        for pk in [pk for pk in self.ready if pk < top]:
            del self.ready[pk]
        self.prefetch_due = True
        if not cold:
            return
        jobs = (GenerationJob.objects.filter(pk__in=list(cold))
                .select_related("problem", "template", "batch", "created_by"))
        for job in jobs:
            claim = cold[job.pk]
            if job.claimed_by != claim.token:
                continue
            prompt = render_job_prompt(template=job.template, problem=job.problem)
            self._launch(job, claim, prompt, self._request(job, prompt))

    @staticmethod
    def _still_valid(ready: _Ready, claim: _Claim) -> bool:
        problem = ready.job.problem
        return (ready.reusable and ready.prompt is not None and claim.attempts is not None
                and claim.problem_stamp == (problem.version, problem.updated_at))

    @staticmethod
    def _request(job: GenerationJob, prompt: PromptPreview):
        if prompt.error:
            return None
        from questionbank.webui import GenerationRequest

        return GenerationRequest(
            system_prompt=prompt.system, user_input=prompt.user,
            temperature=job.template.temperature, top_p=job.template.top_p,
            max_new_tokens=job.template.max_new_tokens,
            repetition_penalty=job.template.repetition_penalty,
        )

    def _launch(self, job: GenerationJob, claim: _Claim, prompt: PromptPreview,
                request) -> None:
        flight = _Flight(job, claim, prompt)
        if prompt.error:
            # Nothing was sent, so there is no call to log: the reason goes on the job.
            self._complete(flight, None, _Rejected(prompt.error), None)
            return
        self.flights[job.pk] = flight
        if len(self.threads) < len(self.flights) - len(self.returned):
            self._spawn(self.threads, self._thread_main, "qb-call")
        if self.threaded and len(self.writers) < min(settings.QB_RUNNER_WRITERS,
                                                     len(self.flights)):
            self._spawn(self.writers, self._writer_main, "qb-write")
        self.inbox.put((flight, request))
        self.sent_at = time.monotonic()

    # -- loading ahead ----------------------------------------------------------------
    def _preparing(self) -> bool:
        """Whether there is work towards the next claims: jobs to load or to render."""
        if time.monotonic() >= self.stop_claiming_at:
            return False
        if any(r.prompt is None and r.reusable for r in self.ready.values()):
            return True
        return self.prefetch_due and len(self.ready) < self._ahead()

    def _ahead(self) -> int:
        """How many waiting jobs to keep loaded: as many as could be claimed at once."""
        return min(self.cap, self.endpoint.max_concurrency)

    def _prepare(self) -> None:
        """One small piece of that work (a query, or one prompt), between events."""
        raw = next((r for r in self.ready.values() if r.prompt is None and r.reusable), None)
        if raw is not None:
            job = raw.job
            raw.prompt = render_job_prompt(template=job.template, problem=job.problem,
                                           tag_names=[])
            raw.request = self._request(job, raw.prompt)
            return
        self.prefetch_due = False  # until the next claim changes what is waiting
        jobs = (_eligible(self.endpoint.pk, timezone.now())
                .filter(pk__gt=max(self.ready, default=0))
                .select_related("problem", "template", "batch", "created_by")
                .order_by("pk")[:self._ahead() - len(self.ready)])
        for job in jobs:
            self.ready[job.pk] = _Ready(job, reusable=self._tags_unused(job.template))

    def _tags_unused(self, template: PromptTemplate) -> bool:
        """Tags are rows of their own: a claim cannot tell that they changed, so a prompt
        that uses them is rendered after the claim, as the job is loaded again."""
        if template.pk not in self._tag_free:
            from questionbank.sanitize import template_placeholders

            self._tag_free[template.pk] = "tags" not in template_placeholders(
                f"{template.system_prompt}\n{template.user_prompt}")
        return self._tag_free[template.pk]

    @staticmethod
    def _spawn(pool: list, target, name: str) -> None:
        thread = threading.Thread(target=target, daemon=True, name=f"{name}-{len(pool) + 1}")
        thread.start()
        pool.append(thread)

    # -- finishing --------------------------------------------------------------------
    def _finish(self, flight: _Flight) -> None:
        result, error = flight.result, flight.error
        log = self._log(flight, result, error)
        self._breaker(flight, error)
        self._complete(flight, result, error, log)

    def _log(self, flight: _Flight, result, error) -> CallLog:
        from questionbank.services.calllogs import calllog_record

        exchange = result.exchange if result is not None else getattr(error, "exchange", None)
        job, endpoint = flight.job, self.endpoint
        tokens = result if result is not None else getattr(error, "result", None)
        fields = {}
        if exchange is not None:
            fields = {
                "method": exchange.method or "POST",
                "url": exchange.url or endpoint.base_url,
                "route": exchange.route or "",
                "server_version": exchange.server_version or "",
                "request_headers": exchange.request_headers,
                "request_body": exchange.request_body if exchange.request_body is not None
                else "",
                "response_status": exchange.response_status,
                "response_body": exchange.response_body or "",
                "response_size": exchange.response_size,
                "latency_ms": round(exchange.latency_s * 1000),
            }
        else:
            fields = {"url": endpoint.base_url}
        if error is not None:
            fields.update(outcome=CallLog.Outcome.ERROR, error_class=_error_class(error),
                          error_message=error.message, retryable=error.retryable)
        return calllog_record(
            endpoint=endpoint, protocol=endpoint.protocol,
            prompt_tokens=getattr(tokens, "prompt_tokens", None),
            completion_tokens=getattr(tokens, "completion_tokens", None),
            attempt=job.attempts, sanitize_report=flight.prompt.report, job=job,
            batch=job.batch, problem=job.problem, problem_version=flight.problem_version,
            template=job.template, user=job.created_by, **fields,
        )

    def _breaker(self, flight: _Flight, error) -> None:
        """Shared breaker state on the endpoint row: server failures count, success resets.

        Only retryable errors count: a refused input (4xx, a ``gr.Error`` with a message,
        a layout mismatch) says nothing about the server's health.
        """
        pk = self.endpoint.pk
        if error is None:
            ModelEndpoint.objects.filter(
                Q(consecutive_failures__gt=0) | Q(paused_until__isnull=False), pk=pk
            ).update(consecutive_failures=0, paused_until=None, last_error="")
            return
        if not error.retryable:
            if flight.claim.probe:  # the server answered: it is up again
                ModelEndpoint.objects.filter(pk=pk).update(
                    consecutive_failures=0, paused_until=None, last_error="")
            return
        now = timezone.now()
        with transaction.atomic():
            endpoint = ModelEndpoint.objects.select_for_update().get(pk=pk)
            endpoint.consecutive_failures += 1
            endpoint.last_error = error.message[:2000]
            fields = ["consecutive_failures", "last_error"]
            if endpoint.consecutive_failures >= settings.QB_BREAKER_THRESHOLD:
                endpoint.paused_until = now + timedelta(
                    seconds=settings.QB_BREAKER_COOLDOWN_SECONDS)
                fields.append("paused_until")
            endpoint.save(update_fields=fields)
        self.endpoint = endpoint

    def _complete(self, flight: _Flight, result, error, log: CallLog | None) -> None:
        job, claim = flight.job, flight.claim
        now = timezone.now()
        mine = GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.RUNNING,
                                            claimed_by=claim.token)
        done = {"lease_expires_at": None, "claimed_by": "", "partial_updated_at": None}
        if error is None:
            fields = {"status": GenerationJob.Status.SUCCEEDED, "finished_at": now,
                      "partial_text": "", "last_error": "", "error_class": ""}
        elif error.retryable and job.attempts < job.max_attempts and \
                job.batch.cancelled_at is None:
            from questionbank.webui import backoff_delay

            delay = backoff_delay(job.attempts, settings.QB_RETRY_BASE_SECONDS,
                                  settings.QB_RETRY_CAP_SECONDS)
            if error.retry_after is not None:
                delay = max(delay, min(error.retry_after, settings.QB_RETRY_CAP_SECONDS))
            at = now + timedelta(seconds=delay)
            fields = {"status": GenerationJob.Status.QUEUED, "next_attempt_at": at,
                      "error_class": _error_class(error),
                      "last_error": f"Attempt {job.attempts} of {job.max_attempts} failed: "
                      f"{error.message} It will be tried again at "
                      f"{timezone.localtime(at):%H:%M:%S}."}
        else:
            status, message = GenerationJob.Status.FAILED, error.message
            if error.retryable and job.batch.cancelled_at is not None:
                status = GenerationJob.Status.CANCELLED
                message += " The batch was cancelled, so it was not tried again."
            elif error.retryable:
                message += (f" Gave up after {job.attempts} attempts: check the model "
                            "server, then retry the batch's failed jobs.")
            fields = {"status": status, "finished_at": now, "error_class": _error_class(error),
                      "last_error": message,
                      "partial_text": getattr(error, "partial_text", "") or ""}
        with transaction.atomic():
            # The conditional UPDATE is the check that this worker still holds the claim
            # (and it locks the row until the solution is written).
            if not mine.update(**fields, **done):
                # The lease lapsed and the sweep gave the job to someone else: their result
                # counts. This attempt is in the call log all the same.
                logger.warning("job %s: claim %s was lost; result discarded", job.pk,
                               claim.token)
                return
            if error is None and self._create_solution(flight, result, log) and \
                    job.problem.kind == Problem.Kind.MATHS:
                # The best-candidate mark is chosen across all of the problem's solutions.
                with self._lock:
                    self.votes[job.problem_id] = None
        with self._lock:
            self.batches.add(job.batch_id)
            self.finished += 1

    def _create_solution(self, flight: _Flight, result, log: CallLog) -> bool:
        from questionbank.answers import extract_final_answer
        from questionbank.rendering import split_reasoning

        job = flight.job
        reasoning, explanation = split_reasoning(result.text)
        final = extract_final_answer(explanation) or extract_final_answer(result.text)
        try:
            with transaction.atomic():
                solution_create(
                    problem=job.problem, body=explanation or result.text, reasoning=reasoning,
                    final_answer=final or "", job=job, problem_version=flight.problem_version,
                    template=job.template, endpoint=self.endpoint, call_log=log,
                    from_standin=self.endpoint.is_standin,
                )
        except IntegrityError:  # Solution.job is one-to-one: this job already has one
            logger.warning("job %s already has a solution; not adding another", job.pk)
            return False
        return True

    # -- heartbeat and answer checks --------------------------------------------------
    def _beat(self) -> None:
        """Renew the leases of calls in flight and save partial text that changed."""
        self.next_beat = time.monotonic() + self.beat_every
        active = [f for pk, f in self.flights.items() if pk not in self.returned]
        if not active:
            return
        now = timezone.now()
        GenerationJob.objects.filter(
            pk__in=[f.job.pk for f in active], claimed_by__in={f.claim.token for f in active},
            status=GenerationJob.Status.RUNNING,
        ).update(lease_expires_at=now + timedelta(seconds=settings.QB_JOB_LEASE_SECONDS))
        for flight in active:
            text = flight.take_partial()
            if text is not None:
                GenerationJob.objects.filter(pk=flight.job.pk, claimed_by=flight.claim.token
                                             ).update(partial_text=text, partial_updated_at=now)
        if any(f.claim.probe for f in active):  # a long probe keeps the breaker half-open
            ModelEndpoint.objects.filter(
                pk=self.endpoint.pk, consecutive_failures__gte=settings.QB_BREAKER_THRESHOLD
            ).update(paused_until=now + timedelta(seconds=settings.QB_BREAKER_COOLDOWN_SECONDS))

    def _vote_next(self) -> None:
        with self._lock:
            problem_id = next(iter(self.votes))
            del self.votes[problem_id]
        problem_vote(problem_id=problem_id)


class _Rejected(Exception):
    """The prompt could not be built (sanitization refused it): permanent, nothing sent."""

    error_class = "SanitizationError"
    retryable = False
    retry_after = None
    exchange = None

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _Unexpected(Exception):
    """A bug (not a server failure) while calling: permanent, and logged with a traceback."""

    error_class = "UnexpectedError"
    retryable = False
    retry_after = None
    exchange = None

    def __init__(self, err: Exception):
        super().__init__(str(err))
        self.message = (f"The question bank hit an unexpected error while calling the model "
                        f"server ({type(err).__name__}); the administrator can find details in "
                        "the worker's log.")


def _error_class(error) -> str:
    return getattr(error, "error_class", None) or type(error).__name__


def _refresh_connection() -> None:
    """After a long wait, drop a database connection that died or outlived CONN_MAX_AGE
    (not inside a transaction: tests run in one, and it must not be closed there)."""
    if not connection.in_atomic_block:
        close_old_connections()


# --- Entry points for tasks -------------------------------------------------------------


def endpoint_run(*, endpoint_id: int) -> int:
    """Run waiting jobs on one endpoint until none can start; returns the jobs finished.

    Does nothing when the endpoint has no free slot, is paused or disabled, or no job is
    waiting: a redelivered or surplus task is harmless.
    """
    endpoint, claims = _claim(endpoint_id=endpoint_id, limit=settings.QB_RUNNER_THREADS)
    if not claims:
        return 0
    return _Runner(endpoint).run(claims)


def job_run(*, job_id: int) -> int:
    """Run one job on whichever of its batch's endpoints has a free slot, then keep that
    endpoint busy with other waiting jobs. Does nothing when the job is not waiting (taken
    by another worker, finished, cancelled) or no slot is free (it stays queued)."""
    job = GenerationJob.objects.filter(pk=job_id, status=GenerationJob.Status.QUEUED).first()
    if job is None:
        return 0
    for endpoint_id in (GenerationBatch.endpoints.through.objects
                        .filter(generationbatch_id=job.batch_id).order_by("modelendpoint_id")
                        .values_list("modelendpoint_id", flat=True)):
        endpoint, claims = _claim(endpoint_id=endpoint_id, limit=1, job_id=job_id)
        if claims:
            return _Runner(endpoint).run(claims)
    return 0


def jobs_sweep() -> dict:
    """The periodic safety net (a django-q2 schedule, every minute).

    - Running jobs whose lease lapsed (their worker was killed, ran out of memory, or
      the machine restarted) get a call-log row saying so and go back to the queue, or
      fail once they have used all their attempts.
    - Endpoints with free slots and waiting jobs (including jobs whose retry time came
      and endpoints whose breaker cool-down ended) get runners.
    - Batches with nothing left to do are marked finished.
    Independent of the broker's receipts, so it also holds with Redis.
    """
    from questionbank.services.calllogs import calllog_record

    now = timezone.now()
    requeued = failed = kicked = 0
    lapsed = (GenerationJob.objects.filter(status=GenerationJob.Status.RUNNING,
                                           lease_expires_at__lt=now)
              .select_related("endpoint", "batch", "problem", "template", "created_by"))
    for job in lapsed:
        message = ("The worker running this call stopped before it finished (killed, out of "
                   "memory, or the machine restarted).")
        calllog_record(
            endpoint=job.endpoint, endpoint_name=job.endpoint.name if job.endpoint else "?",
            protocol=job.endpoint.protocol if job.endpoint else "",
            url=job.endpoint.base_url if job.endpoint else "", outcome=CallLog.Outcome.ERROR,
            error_class="WorkerLost", error_message=message, retryable=True,
            attempt=job.attempts, job=job, batch=job.batch, problem=job.problem,
            problem_version=job.problem_version, template=job.template, user=job.created_by,
        )
        same = GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.RUNNING,
                                            claimed_by=job.claimed_by, lease_expires_at__lt=now)
        clear = {"lease_expires_at": None, "claimed_by": "", "error_class": "WorkerLost"}
        if job.attempts >= job.max_attempts:
            failed += same.update(
                status=GenerationJob.Status.FAILED, finished_at=now, **clear,
                last_error=f"{message} This happened on its last allowed attempt; check the "
                "workers' logs, then retry the batch's failed jobs.")
        else:
            requeued += same.update(status=GenerationJob.Status.QUEUED, next_attempt_at=None,
                                    last_error=f"{message} It was put back in the queue.",
                                    **clear)
    for endpoint in ModelEndpoint.objects.enabled().filter(
        Q(paused_until__isnull=True) | Q(paused_until__lte=now)
    ):
        if not _eligible(endpoint.pk, now).exists():
            continue
        free = endpoint.max_concurrency - _busy(endpoint.pk, now)
        if free > 0:
            for _ in range(math.ceil(free / settings.QB_RUNNER_THREADS)):
                _enqueue("questionbank.tasks.run_endpoint", endpoint.pk)
                kicked += 1
    for batch_id in (GenerationBatch.objects.filter(finished_at__isnull=True)
                     .values_list("pk", flat=True)):
        _batch_mark_finished(batch_id)
    return {"requeued": requeued, "failed": failed, "kicked": kicked}


def sweep_schedule_ensure(schedule_model=None) -> None:
    """Create or repair the django-q2 schedule that runs the sweep every minute.

    Called from the data migration (with the historical model) so every database that
    is migrated has it, and safe to call again.
    """
    if schedule_model is None:
        from django_q.models import Schedule as schedule_model
    schedule_model.objects.update_or_create(
        name=SWEEP_SCHEDULE_NAME,
        defaults={"func": SWEEP_FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1},
    )
