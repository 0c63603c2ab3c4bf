"""Starting, cancelling and retrying batches; the one place that enqueues tasks."""

from __future__ import annotations

import math

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from django_q.tasks import async_task

from questionbank.models import GenerationBatch, GenerationJob, Problem, PromptTemplate
from questionbank.sanitize import detect_non_english
from questionbank.stored_text import CANCELLED_BY, THE_SYSTEM, english


def enqueue(func: str, *args) -> None:
    """Hand a task to django-q2 (in-process when ``QB_TASKS_SYNC``; read per call so tests
    can switch it). The one place the project enqueues, so a later move is cheap."""
    async_task(func, *args, sync=settings.QB_TASKS_SYNC, task_name=f"{func.rsplit('.', 1)[-1]}"
               f"({', '.join(map(str, args))})")


def kick_endpoints(endpoints) -> None:
    """Enqueue enough runners to fill each endpoint's slots (one runner has many threads)."""
    for endpoint in endpoints:
        for _ in range(max(1, math.ceil(endpoint.max_concurrency / settings.QB_RUNNER_THREADS))):
            enqueue("questionbank.tasks.run_endpoint", endpoint.pk)


def batch_create(*, problems, template: PromptTemplate | None = None, endpoints,
                 samples: int | None = None, created_by=None, name: str = "",
                 templates_by_kind: dict[str, PromptTemplate] | None = None
                 ) -> GenerationBatch:
    """Create a batch: ``problems`` x ``samples`` jobs on ``endpoints``.

    Each problem goes through ``template``, or through ``templates_by_kind[problem.kind]``
    when given (a mixed maths + programming selection in one go: a kind missing there
    falls back to ``template``). Rows are written in one transaction and runner tasks are
    enqueued when it commits. Each job goes to whichever of the endpoints has a free
    slot. ``samples`` defaults to each problem's template's. Raises ``ValueError`` with a
    sentence for the teacher when the request cannot be run (no problems, no template
    for a kind, no enabled endpoint, archived problems, a template meant for another
    kind of problem, samples out of range).
    """
    problems = list(problems)
    endpoints = list(endpoints)
    by_kind = {kind: t for kind, t in (templates_by_kind or {}).items() if t is not None}
    if not problems:
        raise ValueError(gettext("Choose at least one problem to generate solutions for."))
    missing = sorted({p.kind for p in problems} - set(by_kind)) if template is None else []
    if missing:
        labels = gettext(" and ").join(str(Problem.Kind(kind).label).lower() for kind in missing)
        raise ValueError(gettext("Choose a template for the %(kind)s problems.")
                         % {"kind": labels})
    if not endpoints:
        raise ValueError(gettext("Choose at least one model server to generate with."))
    disabled = [e.name for e in endpoints if not e.enabled]
    if disabled:
        raise ValueError(gettext("The model server %(names)s is disabled; enable it in the "
                                 "admin or choose another one.")
                         % {"names": ", ".join(disabled)})
    chosen = {p.pk: by_kind.get(p.kind, template) for p in problems}
    counts = {pk: t.samples if samples is None else int(samples) for pk, t in chosen.items()}
    if not all(1 <= n <= 16 for n in counts.values()):
        raise ValueError(gettext("Samples per problem must be between 1 and 16."))
    archived = [p for p in problems if p.status == Problem.Status.ARCHIVED]
    if archived:
        raise ValueError(gettext("%(n)s of the chosen problems are archived (e.g. "
                                 "“%(title)s”); unarchive them or leave them out.")
                         % {"n": len(archived), "title": archived[0].title})
    unsuited = [p for p in problems if not chosen[p.pk].suits(p.kind)]
    if unsuited:
        wrong = chosen[unsuited[0].pk]
        raise ValueError(
            gettext("The template “%(name)s” is for %(kind)s problems, but %(n)s chosen "
                    "problems are not (e.g. “%(title)s”); choose a template for any problem or "
                    "leave them out.")
            % {"name": wrong.name, "kind": wrong.get_kind_display().lower(),
               "n": len(unsuited), "title": unsuited[0].title})
    if len({p.pk for p in problems}) != len(problems):
        problems = list({p.pk: p for p in problems}.values())
    # The batch row names one template: the one most of its problems use.
    usage: dict[int, int] = {}
    for t in chosen.values():
        usage[t.pk] = usage.get(t.pk, 0) + 1
    main = next(t for t in chosen.values() if t.pk == max(usage, key=usage.__getitem__))

    with transaction.atomic():
        batch = GenerationBatch.objects.create(
            name=name[:200], template=main, samples=max(counts.values()),
            created_by=created_by,
        )
        batch.endpoints.set(endpoints)
        jobs = []
        for problem in problems:
            warning = detect_non_english(f"{problem.title}\n{problem.statement}")
            for index in range(counts[problem.pk]):
                jobs.append(GenerationJob(
                    batch=batch, problem=problem, template=chosen[problem.pk],
                    sample_index=index, problem_version=problem.version,
                    created_by=created_by, max_attempts=settings.QB_JOB_MAX_ATTEMPTS,
                    warnings=[warning] if warning else [],
                ))
        GenerationJob.objects.bulk_create(jobs, batch_size=500)
        transaction.on_commit(lambda: kick_endpoints(endpoints))
    return batch


def batch_cancel(*, batch: GenerationBatch, user=None) -> int:
    """Cancel a batch: queued jobs never start; running ones finish and are kept.

    Returns the number of jobs cancelled. Cancelling twice is harmless.
    """
    now = timezone.now()
    with transaction.atomic():
        n = GenerationJob.objects.filter(batch=batch, status=GenerationJob.Status.QUEUED).update(
            status=GenerationJob.Status.CANCELLED, finished_at=now, next_attempt_at=None,
            last_error=english(CANCELLED_BY, who=user.get_username() if user else THE_SYSTEM),
        )
        GenerationBatch.objects.filter(pk=batch.pk, cancelled_at__isnull=True).update(
            cancelled_at=now, cancelled_by=user
        )
        batch_mark_finished(batch.pk)
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
            transaction.on_commit(lambda: kick_endpoints(endpoints))
    batch.refresh_from_db()
    return n


def batch_mark_finished(batch_id: int) -> None:
    active = GenerationJob.objects.filter(
        batch_id=batch_id,
        status__in=[GenerationJob.Status.QUEUED, GenerationJob.Status.RUNNING],
    )
    if not active.exists():
        GenerationBatch.objects.filter(pk=batch_id, finished_at__isnull=True).update(
            finished_at=timezone.now()
        )
