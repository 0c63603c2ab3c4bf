"""The periodic safety net: lapsed leases requeued, idle endpoints kicked, batches closed."""

from __future__ import annotations

import math

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_q.models import Schedule

from questionbank.models import CallLog, GenerationBatch, GenerationJob, ModelEndpoint
from questionbank.services.calllogs import calllog_record
from questionbank.stored_text import WORKER_LOST, WORKER_LOST_LAST, WORKER_LOST_REQUEUED, english

from .batches import batch_mark_finished, enqueue
from .claims import busy, eligible

SWEEP_SCHEDULE_NAME = "questionbank: generation sweep"
SWEEP_FUNC = "questionbank.tasks.sweep"


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
    now = timezone.now()
    requeued = failed = kicked = 0
    lapsed = (GenerationJob.objects.filter(status=GenerationJob.Status.RUNNING,
                                           lease_expires_at__lt=now)
              .select_related("endpoint", "batch", "problem", "template", "created_by"))
    for job in lapsed:
        message = WORKER_LOST
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
                last_error=english(WORKER_LOST_LAST, error=message))
        else:
            requeued += same.update(status=GenerationJob.Status.QUEUED, next_attempt_at=None,
                                    last_error=english(WORKER_LOST_REQUEUED, error=message),
                                    **clear)
    for endpoint in ModelEndpoint.objects.enabled().filter(
        Q(paused_until__isnull=True) | Q(paused_until__lte=now)
    ):
        if not eligible(endpoint.pk, now).exists():
            continue
        free = endpoint.max_concurrency - busy(endpoint.pk, now)
        if free > 0:
            for _ in range(math.ceil(free / settings.QB_RUNNER_THREADS)):
                enqueue("questionbank.tasks.run_endpoint", endpoint.pk)
                kicked += 1
    for batch_id in (GenerationBatch.objects.filter(finished_at__isnull=True)
                     .values_list("pk", flat=True)):
        batch_mark_finished(batch_id)
    return {"requeued": requeued, "failed": failed, "kicked": kicked}


def sweep_schedule_ensure(schedule_model=None) -> None:
    """Create or repair the django-q2 schedule that runs the sweep every minute.

    Called from the data migration (with the historical model) so every database that
    is migrated has it, and safe to call again.
    """
    if schedule_model is None:
        schedule_model = Schedule
    schedule_model.objects.update_or_create(
        name=SWEEP_SCHEDULE_NAME,
        defaults={"func": SWEEP_FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1},
    )
