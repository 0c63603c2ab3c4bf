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
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from questionbank.models import GenerationBatch, GenerationJob, Problem, PromptTemplate

logger = logging.getLogger(__name__)

__all__ = [
    "PromptPreview",
    "batch_create",
    "batch_cancel",
    "batch_retry_failed",
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
        # PLACEHOLDERS documents {language} as the programming language expected; the
        # Problem model has no such field yet (Problem.language is the natural language).
        "language": "",
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
    )

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
