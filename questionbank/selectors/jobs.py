"""Generation: batches, jobs, servers and the dashboard's work lists."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from questionbank.models import (
    GenerationBatch,
    GenerationJob,
    ModelEndpoint,
    Problem,
    PromptTemplate,
    Solution,
)


def dashboard_counts() -> dict:
    """Headline numbers for the teacher dashboard."""
    by_status = dict(
        Solution.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    jobs = dict(
        GenerationJob.objects.filter(
            status__in=[GenerationJob.Status.QUEUED, GenerationJob.Status.RUNNING,
                        GenerationJob.Status.FAILED]
        ).values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return {
        "problems": Problem.objects.count(),
        "ready": Problem.objects.filter(status=Problem.Status.READY).count(),
        "awaiting_review": by_status.get("draft", 0) + by_status.get("in_review", 0),
        "published": by_status.get("published", 0),
        "jobs_queued": jobs.get("queued", 0),
        "jobs_running": jobs.get("running", 0),
        "jobs_failed": jobs.get("failed", 0),
    }


def recent_batches(*, limit: int = 5) -> QuerySet[GenerationBatch]:
    """The newest batches with their counts. The order is explicit: Django drops
    ``Meta.ordering`` from queries with GROUP BY, which showed the oldest five."""
    return teacher_batch_list()[:limit]


def endpoints_for_generation() -> QuerySet[ModelEndpoint]:
    """Enabled endpoints (paused ones included: their jobs wait for the pause to end)."""
    return ModelEndpoint.objects.enabled().order_by("name")


def dashboard_jobs(*, status: str, limit: int = 8) -> list[GenerationJob]:
    qs = GenerationJob.objects.filter(status=status).select_related(
        "problem", "endpoint", "batch"
    ).defer("problem__statement", "problem__statement_html", "partial_text")
    if status == GenerationJob.Status.FAILED:
        qs = qs.order_by(F("finished_at").desc(nulls_last=True), "-id")
    else:
        qs = qs.order_by(F("started_at").asc(nulls_last=True), "id")
    return list(qs[:limit])


def paused_endpoints() -> list[ModelEndpoint]:
    return list(ModelEndpoint.objects.filter(paused_until__gt=timezone.now()).order_by("name"))


def teacher_batch_list() -> QuerySet[GenerationBatch]:
    """Batches newest first, with job counts per state (one query per page)."""
    s = GenerationJob.Status
    return GenerationBatch.objects.select_related("template", "created_by").annotate(
        n_jobs=Count("jobs"),
        n_done=Count("jobs", filter=Q(jobs__status=s.SUCCEEDED)),
        n_failed=Count("jobs", filter=Q(jobs__status=s.FAILED)),
        n_running=Count("jobs", filter=Q(jobs__status=s.RUNNING)),
        n_queued=Count("jobs", filter=Q(jobs__status=s.QUEUED)),
        n_cancelled=Count("jobs", filter=Q(jobs__status=s.CANCELLED)),
        n_not_needed=Count("jobs", filter=Q(jobs__status=s.NOT_NEEDED)),
    ).order_by("-created_at", "-id")


def batch_jobs(*, batch: GenerationBatch) -> QuerySet[GenerationJob]:
    return (
        batch.jobs.select_related("problem", "endpoint", "solution")
        .defer("problem__statement", "problem__statement_html", "problem__test_cases",
               "solution__reasoning")
        .order_by("id")
    )


def batch_templates(*, batch: GenerationBatch) -> list[PromptTemplate]:
    """The templates a batch's jobs use (one per kind for a mixed selection), the batch's
    own first; each with ``answers``, the answers per problem it was asked for."""
    answers = dict(batch.jobs.values_list("template_id").annotate(n=Max("sample_index") + 1)
                   .values_list("template_id", "n"))
    templates = list(PromptTemplate.objects.filter(pk__in=set(answers) or {batch.template_id}))
    for t in templates:
        t.answers = answers.get(t.pk, batch.samples)
    return sorted(templates, key=lambda t: (t.pk != batch.template_id, t.name))


def batch_failed_jobs(*, batch: GenerationBatch) -> QuerySet[GenerationJob]:
    return batch_jobs(batch=batch).filter(status=GenerationJob.Status.FAILED)


@dataclass(frozen=True)
class ServerState:
    """One of a batch's model servers as the batch page explains it."""

    name: str
    enabled: bool
    paused_until: object  # datetime or None
    failures: int  # consecutive failures (the breaker's count)
    last_error: str
    busy: int  # calls in flight on it now, for any batch
    slots: int  # its concurrency limit
    busy_here: int  # of ``busy``, calls for this batch

    @property
    def is_paused(self) -> bool:
        return self.paused_until is not None

    @property
    def is_full(self) -> bool:
        return self.busy >= self.slots

    @property
    def busy_elsewhere(self) -> int:
        return self.busy - self.busy_here


@dataclass(frozen=True)
class BatchWaiting:
    """Why a batch's queued jobs are not running, for the batch page and its poll.

    ``servers`` are the batch's model servers; the lists sort them by why they take no
    work: ``paused`` (breaker open after failures), ``disabled``, ``full`` (every slot in
    use). ``no_server`` means none is enabled. ``retrying`` queued jobs wait for their
    retry time after a failed attempt, the next at ``next_retry_at``; ``ready`` queued
    jobs could start now. ``stalled`` means ready jobs, a free slot and nothing running:
    no worker has taken them (the sweep kicks one within a minute).
    """

    queued: int
    running: int
    retrying: int
    next_retry_at: object
    servers: list[ServerState]
    ready_for: float = 0.0  # seconds the longest-ready job has been ready
    failed_before: int = 0  # queued jobs that have failed an attempt already

    # Ready jobs normally start within a second or two; only after this long with nothing
    # running does the page say no worker has taken them.
    STALL_SECONDS = 20

    @property
    def ready(self) -> int:
        return self.queued - self.retrying

    @property
    def paused(self) -> list[ServerState]:
        return [s for s in self.servers if s.enabled and s.is_paused]

    @property
    def disabled(self) -> list[ServerState]:
        return [s for s in self.servers if not s.enabled]

    @property
    def usable(self) -> list[ServerState]:
        return [s for s in self.servers if s.enabled and not s.is_paused]

    @property
    def full(self) -> list[ServerState]:
        return [s for s in self.usable if s.is_full]

    @property
    def no_server(self) -> bool:
        return bool(self.queued) and not any(s.enabled for s in self.servers)

    @property
    def all_busy(self) -> bool:
        usable = self.usable
        return bool(self.ready) and bool(usable) and all(s.is_full for s in usable)

    @property
    def stalled(self) -> bool:
        return (bool(self.ready) and not self.running and self.ready_for > self.STALL_SECONDS
                and any(not s.is_full for s in self.usable))

    @property
    def resume_at(self):
        """When a server takes work again, if none does now: the earliest end of a pause
        (``None`` when a server is usable now, or when none is enabled)."""
        if self.usable:
            return None
        return min((s.paused_until for s in self.paused), default=None)

    @property
    def next_start_at(self):
        """When the next waiting job can start, if none can now: a retry time that falls
        inside a pause counts from the pause's end."""
        if self.ready and not self.resume_at:
            return None
        times = [t for t in (self.resume_at, self.next_retry_at if not self.ready else None)
                 if t is not None]
        return max(times) if times else None

    @property
    def is_waiting(self) -> bool:
        """Jobs remain and none of this batch's calls is running."""
        return bool(self.queued) and not self.running

    @property
    def has_news(self) -> bool:
        """Anything worth a sentence on the page."""
        return bool(self.queued) and bool(
            self.paused or self.disabled or self.all_busy or self.retrying or self.stalled
            or self.failed_before)


def batch_waiting(*, batch: GenerationBatch, now=None) -> BatchWaiting:
    """Why ``batch``'s waiting jobs wait: its servers' breakers, switches and slots, and
    its jobs' retry times (a handful of small queries, whatever the batch's size)."""
    now = now or timezone.now()
    s = GenerationJob.Status
    jobs = GenerationJob.objects.filter(batch=batch)
    queued = jobs.filter(status=s.QUEUED).aggregate(
        n=Count("id"), retrying=Count("id", filter=Q(next_attempt_at__gt=now)),
        failed_before=Count("id", filter=Q(attempts__gt=0)))
    ready_since = (jobs.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                               status=s.QUEUED)
                   .aggregate(t=Min(Coalesce("next_attempt_at", "created_at")))["t"])
    next_retry_at = None
    if queued["retrying"]:
        next_retry_at = (jobs.filter(status=s.QUEUED, next_attempt_at__gt=now)
                         .order_by("next_attempt_at").values_list("next_attempt_at",
                                                                  flat=True).first())
    live = Q(jobs__status=s.RUNNING, jobs__lease_expires_at__gt=now)
    servers = [
        ServerState(
            name=e.name, enabled=e.enabled,
            paused_until=e.paused_until if e.paused_until and e.paused_until > now else None,
            failures=e.consecutive_failures, last_error=e.last_error, busy=e.n_busy,
            slots=e.max_concurrency, busy_here=e.n_busy_here,
        )
        for e in batch.endpoints.annotate(
            n_busy=Count("jobs", filter=live),
            n_busy_here=Count("jobs", filter=live & Q(jobs__batch=batch)),
        ).order_by("name")
    ]
    return BatchWaiting(
        queued=queued["n"], running=jobs.filter(status=s.RUNNING).count(),
        retrying=queued["retrying"], next_retry_at=next_retry_at, servers=servers,
        ready_for=(now - ready_since).total_seconds() if ready_since else 0.0,
        failed_before=queued["failed_before"],
    )


def batch_progress(batch) -> dict:
    """Where a generation batch stands, for the batch page and the admin.

    Returns ``counts`` (jobs per status), ``total``, ``done`` (finished in any way),
    ``remaining``, ``finished`` (bool), ``eta_seconds`` (``None`` until a call has
    finished or when nothing remains: remaining jobs x the mean observed call duration /
    the calls the batch's endpoints run at once), ``running`` (one dict per running job:
    ``id``, ``problem_id``, ``problem_title``, ``sample_index``, ``endpoint``,
    ``attempts``, ``elapsed_seconds``, ``partial_text``) and ``paused`` (pause messages
    of the batch's endpoints, e.g. "paused: 3 failures, retrying at 14:05").
    """

    statuses = GenerationJob.Status
    counts = {s.value: 0 for s in statuses}
    for status, n in (GenerationJob.objects.filter(batch=batch).values_list("status")
                      .annotate(n=Count("id")).values_list("status", "n")):
        counts[status] = n
    total = sum(counts.values())
    remaining = counts[statuses.QUEUED] + counts[statuses.RUNNING]
    now = timezone.now()
    running = [
        {
            "id": job.pk,
            "problem_id": job.problem_id,
            "problem_title": job.problem.title,
            "sample_index": job.sample_index,
            "endpoint": job.endpoint.name if job.endpoint else "",
            "attempts": job.attempts,
            "elapsed_seconds": (now - job.started_at).total_seconds() if job.started_at else 0.0,
            "partial_text": job.partial_text,
        }
        for job in GenerationJob.objects.filter(batch=batch, status=statuses.RUNNING)
        .select_related("problem", "endpoint").order_by("started_at", "id")
    ]
    endpoints = list(batch.endpoints.all())
    eta = None
    if remaining:
        mean = (
            GenerationJob.objects.filter(batch=batch, status=statuses.SUCCEEDED,
                                         started_at__isnull=False, finished_at__isnull=False)
            .aggregate(d=Avg(ExpressionWrapper(F("finished_at") - F("started_at"),
                                               output_field=DurationField())))["d"]
        )
        if mean is not None:
            # Only servers that can take work now count: a paused or disabled one
            # runs nothing, and counting it made the estimate too short.
            parallel = max(1, min(remaining, sum(e.max_concurrency for e in endpoints
                                                 if e.enabled and not e.is_paused) or 1))
            eta = remaining * mean.total_seconds() / parallel
            if running:  # the running ones are partly done already
                eta = max(0.0, eta - sum(r["elapsed_seconds"] for r in running) / parallel)
    return {
        "counts": counts,
        "total": total,
        "done": total - remaining,
        "remaining": remaining,
        "finished": remaining == 0,
        "eta_seconds": eta,
        "running": running,
        "paused": [f"{e.name}: {e.pause_message()}" for e in endpoints if e.is_paused],
    }


# Statistics periods: how far back, the bucket the chart is drawn in, and its width.
