"""Running: one runner per task keeps one endpoint's slots busy, many calls in flight.

Each call runs in a call thread that only does HTTP. When a call returns, the runner
claims a replacement at once, so the server starts its next call within milliseconds,
(not the same problem's next sample when its template is adaptive: that waits until the
answer is written up and the stopping rule has decided, so no sample runs past a settled
stop; another problem's sample takes the slot meanwhile), and hands the ended call to a
writer thread (``QB_RUNNER_WRITERS``, one database
connection each) that logs it, updates the breaker, finishes the job and creates the
solution (outcomes.py). The runner's own thread renews leases, saves streamed partial
text and runs the answer checks of problems that got new candidates. No transaction is
open during any call. The same threaded path runs in production and in the tests.

A call that failed in a way the breaker counts is written up *before* its slot is
filled again, so the breaker has counted it before the next claim (issue 14, defect 4).
When nothing is in flight the runner waits for the earliest retry of its endpoint's
waiting jobs if it comes within its budget (and the endpoint is not paused), so a retry
runs when its backoff ends rather than at the next sweep (defect 13). A lost database
connection is reopened and the write tried again with backoff, never the model call:
every reply received is written up (defect 5).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import F
from django.utils import timezone

from questionbank.models import GenerationBatch, GenerationJob, ModelEndpoint, Problem
from questionbank.services.endpoints import client_endpoint
from questionbank.services.solutions import problem_vote
from questionbank.webui import Client, WebUIError

from .batches import batch_mark_finished, kick_endpoints
from .breaker import endpoint_breaker
from .claims import Claim, claim_jobs, eligible
from .outcomes import Rejected, Unexpected, breaker_record, call_log, job_complete
from .prompts import PromptPreview, generation_request, render_job_prompt
from .stopping import job_sampling_check

logger = logging.getLogger(__name__)

# A dropped or terminated database connection: reconnect and try the write again.
_CONNECTION_ERRORS = (OperationalError, InterfaceError)
_RECONNECT_FIRST_SECONDS, _RECONNECT_MAX_SECONDS = 0.2, 5.0


def _connection_lost(err: Exception) -> bool:
    """Was the PostgreSQL connection lost (a restart, a failover, a terminated backend:
    no SQLSTATE, class 08, or 57P01-03) rather than a statement failing on a working one?
    Django has reopened it by then when the error left an atomic block, so the error
    itself is what tells. A SQLite file has no connection to lose."""
    if connection.vendor != "postgresql":
        return False
    state = getattr(err.__cause__, "sqlstate", None)
    return state is None or state.startswith("08") or state in {"57P01", "57P02", "57P03"}


def with_reconnect(what: str, write, *args):
    """``write(*args)``, tried again with backoff after the database connection was lost
    (the connection is reopened first), until it goes through. Other errors, including
    database errors on a connection that still works, propagate."""
    delay = _RECONNECT_FIRST_SECONDS
    while True:
        try:
            return write(*args)
        except _CONNECTION_ERRORS as err:
            if not _connection_lost(err):
                raise
            logger.warning("database connection lost while %s (%s); reconnecting in %.1f s",
                           what, str(err).strip().split("\n")[0], delay)
            connection.close()
            time.sleep(delay)
            delay = min(2 * delay, _RECONNECT_MAX_SECONDS)

# --- The model-server client, per endpoint and per process -----------------------------

_clients: dict[int, tuple[tuple, Client]] = {}
_clients_lock = threading.Lock()


def client_for(endpoint: ModelEndpoint) -> Client:
    """A cached ``webui.Client`` (it keeps discovery); rebuilt when the endpoint changes."""
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


class Flight:
    """One call in flight: the claimed job, its prompt, and the partial text so far."""

    def __init__(self, job: GenerationJob, claim: Claim, prompt: PromptPreview):
        self.job = job
        self.claim = claim
        self.prompt = prompt
        self.problem_version = job.problem.version
        self.result = None
        self.error = None
        self.log = None  # the write-up's steps done so far: a retried write-up resumes
        self.recorded: ModelEndpoint | None = None
        self._lock = threading.Lock()
        self._partial = ""
        self._dirty = False

    def on_partial(self, text: str) -> None:  # called from the HTTP thread, per chunk
        with self._lock:
            self._partial = text
            self._dirty = True

    @property
    def server_failed(self) -> bool:
        """The call failed in a way the breaker counts (outcomes.breaker_record)."""
        return self.error is not None and (self.error.retryable or self.claim.probe)

    def take_partial(self) -> str | None:
        with self._lock:
            if not self._dirty:
                return None
            self._dirty = False
            return self._partial


class Runner:
    """Keeps one endpoint's slots busy from one task (see the module docstring)."""

    def __init__(self, endpoint: ModelEndpoint):
        self.endpoint = endpoint
        self.cap = settings.QB_RUNNER_THREADS
        self.stop_claiming_at = time.monotonic() + settings.QB_RUNNER_BUDGET_SECONDS
        self.budget_spent = False
        self.flights: dict[int, Flight] = {}  # claimed and not yet written up
        self.returned: set[int] = set()  # their calls have ended
        self.held_back = False
        self.deferred = False  # a claim left a slot free while an adaptive answer was decided
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()  # calls to make
        self.writeups: queue.SimpleQueue = queue.SimpleQueue()  # returned calls to write up
        self.threads: list[threading.Thread] = []  # call threads: HTTP only, no database
        self.writers: list[threading.Thread] = []  # one database connection each
        self._lock = threading.Lock()
        self.votes: dict[int, None] = {}  # problems whose candidates need a vote
        self.batches: set[int] = set()
        self.finished = 0
        self.client = client_for(endpoint)
        lease = settings.QB_JOB_LEASE_SECONDS
        self.beat_every = max(0.5, min(lease / 3, settings.QB_PARTIAL_SAVE_SECONDS))
        self.next_beat = time.monotonic() + self.beat_every

    def run(self, claims: list[Claim]) -> int:
        try:
            self._start(claims)
            self._fill()
            while True:
                while self.flights:
                    self._step()
                if not self._wait_for_retry():
                    break
            while self.votes:
                self._vote_next()
            for batch_id in self.batches:
                with_reconnect("closing batches", batch_mark_finished, batch_id)
        finally:
            # On an error here (database gone) the threads still end their calls; the
            # leases lapse and the sweep puts the jobs back.
            for _ in self.threads:
                self.inbox.put(None)
            for _ in self.writers:
                self.writeups.put(None)
            for thread in [*self.threads, *self.writers]:
                thread.join()
        if self.budget_spent and with_reconnect(
                "looking for waiting jobs",
                lambda: eligible(self.endpoint.pk, timezone.now()).exists()):
            kick_endpoints([self.endpoint])  # hand over to a fresh task
        return self.finished

    def _wait_for_retry(self) -> bool:
        """With nothing in flight: claim what is due, or sleep until the earliest retry of
        the endpoint's waiting jobs when it comes before the budget ends. False when there
        is nothing to wait for (or other runners hold the slots, or it is paused)."""
        checked = timezone.now()
        self._fill()
        if self.flights:
            return True
        due = with_reconnect("looking for retries", self._next_due)
        if due is None or due <= checked:  # nothing waits, or others hold the slots
            return False
        wait = (due - timezone.now()).total_seconds()
        if time.monotonic() + wait >= self.stop_claiming_at:
            return False  # the sweep will start a fresh runner
        if wait > 0:
            time.sleep(wait)
            close_old_connections()  # the wait may have outlived the connection
        return True

    def _next_due(self):
        """When the endpoint's next waiting job's backoff ends, or None when no job waits
        or the endpoint is paused (the sweep starts its probe when the pause ends)."""
        waiting = GenerationJob.objects.filter(status=GenerationJob.Status.QUEUED,
                                               batch__endpoints=self.endpoint.pk)
        times = list(waiting.order_by(F("next_attempt_at").asc(nulls_first=True))
                     .values_list("next_attempt_at", flat=True)[:1])
        if not times:
            return None
        now = timezone.now()
        paused_until = (ModelEndpoint.objects.filter(pk=self.endpoint.pk)
                        .values_list("paused_until", flat=True).first())
        if paused_until is not None and paused_until > now:
            return None
        return times[0] or now

    def _step(self) -> None:
        """Wait for events (or the heartbeat), then act on all that arrived; answer checks
        run when nothing else is waiting."""
        events = []
        timeout = 0.0 if self.votes else max(0.0, self.next_beat - time.monotonic())
        started = time.monotonic()
        try:
            events.append(self.events.get(timeout=timeout) if timeout else
                          self.events.get_nowait())
            while True:
                events.append(self.events.get_nowait())
        except queue.Empty:
            pass
        if not events and self.votes:
            self._vote_next()
        if time.monotonic() - started > 5:
            close_old_connections()  # a long wait may have outlived the connection
        returned = [f for kind, f in events if kind == "returned"]
        if returned:
            # A server failure keeps its slot until the writer has told the breaker.
            freed = [f for f in returned if not f.server_failed]
            self.returned.update(f.job.pk for f in freed)
            try:
                if freed:
                    self._fill()  # first: keep the server busy
            finally:
                for flight in returned:
                    self.writeups.put(flight)
        finished = [f for kind, f in events if kind == "finished"]
        for flight in finished:
            self._done(flight)
        if finished and (self.held_back or self.deferred
                         or any(f.server_failed for f in finished)):
            self._fill()
        if time.monotonic() >= self.next_beat:
            self._beat()

    def _done(self, flight: Flight) -> None:
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

    def _call(self, flight: Flight, request) -> None:
        try:
            flight.result = self.client.generate(request, on_partial=flight.on_partial)
        except WebUIError as err:
            flight.error = err
        except Exception as err:  # a bug in the client must still end the job, and be logged
            logger.exception("unexpected error calling %s for job %s", self.endpoint,
                             flight.job.pk)
            flight.error = Unexpected(err)
        self.events.put(("returned", flight))

    def _writer_main(self) -> None:
        try:
            while True:
                flight = self.writeups.get()
                if flight is None:
                    return
                try:
                    close_old_connections()  # the wait may have outlived the connection
                    with_reconnect(f"writing up job {flight.job.pk}", self._write_up, flight)
                except Exception:
                    # The job stays running; its lease lapses and the sweep puts it back.
                    logger.exception("could not write up job %s", flight.job.pk)
                finally:
                    self.events.put(("finished", flight))
        finally:
            connection.close()

    def _write_up(self, flight: Flight) -> None:
        result, error = flight.result, flight.error
        # Each step is done once: after a lost connection the write-up resumes.
        if flight.log is None:
            flight.log = call_log(endpoint=self.endpoint, flight=flight, result=result,
                                  error=error)
        if flight.recorded is None:
            flight.recorded = breaker_record(endpoint=self.endpoint, probe=flight.claim.probe,
                                             error=error)
            self.endpoint = flight.recorded
        created = job_complete(endpoint=flight.recorded, flight=flight, result=result,
                               error=error, log=flight.log)
        if job_sampling_check(flight.job, created=created):  # adaptive: voted already
            created = False
        self._count(flight.job, voted=created)

    def _count(self, job: GenerationJob, *, voted: bool) -> None:
        with self._lock:
            if voted and job.problem.kind == Problem.Kind.MATHS:
                # The best-candidate mark is chosen across all of the problem's solutions.
                self.votes[job.problem_id] = None
            self.batches.add(job.batch_id)
            self.finished += 1

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
        # An adaptive problem whose answer is not written up yet may be about to stop.
        deciding = {self.flights[pk].job.problem_id for pk in self.returned
                    if self.flights[pk].job.template.is_adaptive}
        endpoint, claims = with_reconnect(
            "claiming jobs", lambda: claim_jobs(endpoint_id=self.endpoint.pk, limit=room,
                                                exclude_ids=list(self.returned),
                                                hold_problem_ids=sorted(deciding)))
        if endpoint is not None:
            self.endpoint = endpoint
        # A slot the hold may have left free: fill again once the answer is decided.
        calling = len(self.flights) - len(self.returned) + len(claims)
        self.deferred = bool(deciding) and calling < self.endpoint.max_concurrency
        self._start(claims)

    def _start(self, claims: list[Claim]) -> None:
        if not claims:
            return
        by_id = {claim.job_id: claim for claim in claims}
        jobs = with_reconnect("reading claimed jobs", lambda: list(
            GenerationJob.objects.filter(pk__in=list(by_id))
            .select_related("problem", "template", "batch", "created_by")))
        for job in jobs:
            claim = by_id[job.pk]
            if job.claimed_by != claim.token:
                continue
            self._launch(job, claim, render_job_prompt(template=job.template,
                                                       problem=job.problem))

    def _launch(self, job: GenerationJob, claim: Claim, prompt: PromptPreview) -> None:
        flight = Flight(job, claim, prompt)
        if prompt.error:
            # Nothing was sent, so there is no call to log: the reason goes on the job.
            with_reconnect(f"writing up job {job.pk}", lambda: job_complete(
                endpoint=self.endpoint, flight=flight, result=None,
                error=Rejected(prompt.error), log=None))
            self._count(job, voted=False)
            return
        self.flights[job.pk] = flight
        if len(self.threads) < len(self.flights) - len(self.returned):
            self._spawn(self.threads, self._thread_main, "qb-call")
        if len(self.writers) < min(settings.QB_RUNNER_WRITERS, len(self.flights)):
            self._spawn(self.writers, self._writer_main, "qb-write")
        self.inbox.put((flight, generation_request(job, prompt)))

    @staticmethod
    def _spawn(pool: list, target, name: str) -> None:
        thread = threading.Thread(target=target, daemon=True, name=f"{name}-{len(pool) + 1}")
        thread.start()
        pool.append(thread)

    # -- heartbeat and answer checks --------------------------------------------------
    def _beat(self) -> None:
        """Renew the leases of calls in flight (and of replies waiting to be written up,
        which a database outage can delay) and save partial text that changed."""
        self.next_beat = time.monotonic() + self.beat_every
        if self.flights:
            with_reconnect("renewing leases", self._renew)

    def _renew(self) -> None:
        held = list(self.flights.values())
        active = [f for f in held if f.job.pk not in self.returned]
        now = timezone.now()
        GenerationJob.objects.filter(
            pk__in=[f.job.pk for f in held], claimed_by__in={f.claim.token for f in held},
            status=GenerationJob.Status.RUNNING,
        ).update(lease_expires_at=now + timedelta(seconds=settings.QB_JOB_LEASE_SECONDS))
        for flight in active:
            text = flight.take_partial()
            if text is not None:
                GenerationJob.objects.filter(pk=flight.job.pk, claimed_by=flight.claim.token
                                             ).update(partial_text=text, partial_updated_at=now)
        if any(f.claim.probe for f in active):  # a long probe keeps the breaker half-open
            with transaction.atomic():
                list(ModelEndpoint.objects.select_for_update().filter(pk=self.endpoint.pk)
                     .values_list("pk"))  # the breaker's transitions hold the row lock
                endpoint_breaker(self.endpoint.pk).hold_probe()

    def _vote_next(self) -> None:
        with self._lock:
            problem_id = next(iter(self.votes))
            del self.votes[problem_id]
        with_reconnect("checking answers", lambda: problem_vote(problem_id=problem_id))


# --- Entry points for tasks -------------------------------------------------------------


def endpoint_run(*, endpoint_id: int) -> int:
    """Run waiting jobs on one endpoint until none can start; returns the jobs finished.

    Does nothing when the endpoint has no free slot, is paused or disabled, or no job is
    waiting: a redelivered or surplus task is harmless.
    """
    endpoint, claims = claim_jobs(endpoint_id=endpoint_id, limit=settings.QB_RUNNER_THREADS)
    if not claims:
        return 0
    return Runner(endpoint).run(claims)


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
        endpoint, claims = claim_jobs(endpoint_id=endpoint_id, limit=1, job_id=job_id)
        if claims:
            return Runner(endpoint).run(claims)
    return 0
