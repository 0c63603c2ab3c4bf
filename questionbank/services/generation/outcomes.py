"""What happens after a call: the call-log row, the breaker, the job's new state and the
solution. Each runs in a writer thread with its own database connection, after the call,
with no transaction open during the call itself."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from questionbank.answers import extract_final_answer
from questionbank.models import CallLog, GenerationJob, ModelEndpoint
from questionbank.rendering import split_reasoning
from questionbank.services.calllogs import calllog_record
from questionbank.services.solutions import solution_create
from questionbank.stored_text import (
    ATTEMPT_FAILED,
    ATTEMPT_FAILED_OUTAGE,
    CANCELLED_NOT_RETRIED,
    GAVE_UP,
    REPLY_CUT,
    REPLY_CUT_NOTE,
    UNEXPECTED,
    english,
)
from questionbank.webui import backoff_delay

from .breaker import endpoint_breaker

logger = logging.getLogger(__name__)


class Rejected(Exception):
    """The prompt could not be built (sanitization refused it): permanent, nothing sent."""

    error_class = "SanitizationError"
    retryable = False
    retry_after = None
    exchange = None

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Unexpected(Exception):
    """A bug (not a server failure) while calling: permanent, and logged with a traceback."""

    error_class = "UnexpectedError"
    retryable = False
    retry_after = None
    exchange = None

    def __init__(self, err: Exception):
        super().__init__(str(err))
        self.message = english(UNEXPECTED, kind=type(err).__name__)


def error_class(error) -> str:
    return getattr(error, "error_class", None) or type(error).__name__


def call_log(*, endpoint: ModelEndpoint, flight, result, error) -> CallLog:
    """The call-log row of one attempt, whatever happened (its own transaction)."""
    exchange = result.exchange if result is not None else getattr(error, "exchange", None)
    job = flight.job
    tokens = result if result is not None else getattr(error, "result", None)
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
        fields.update(outcome=CallLog.Outcome.ERROR, error_class=error_class(error),
                      error_message=error.message, retryable=error.retryable)
    return calllog_record(
        endpoint=endpoint, protocol=endpoint.protocol,
        prompt_tokens=getattr(tokens, "prompt_tokens", None),
        completion_tokens=getattr(tokens, "completion_tokens", None),
        attempt=job.attempts, sanitize_report=flight.prompt.report, job=job,
        batch=job.batch, problem=job.problem, problem_version=flight.problem_version,
        template=job.template, user=job.created_by, **fields,
    )


def breaker_record(*, endpoint: ModelEndpoint, probe: bool, error) -> ModelEndpoint:
    """The breaker learns how the call went: a server failure counts, success resets.

    Only retryable errors count: a refused input (4xx, a ``gr.Error`` with a message,
    a layout mismatch) says nothing about the server's health, except that a probe that
    got any answer shows the server is up again. Returns the endpoint as stored.
    """
    if error is not None and not error.retryable and not probe:
        return endpoint
    with transaction.atomic():
        locked = ModelEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        breaker = endpoint_breaker(locked.pk)
        if error is None or not error.retryable:
            breaker.record_success()
            last_error = ""
        else:
            breaker.record_failure()
            last_error = error.message[:2000]
        if locked.last_error != last_error:
            ModelEndpoint.objects.filter(pk=locked.pk).update(last_error=last_error)
        locked.refresh_from_db()
    return locked


def server_outage(*, endpoint: ModelEndpoint, log: CallLog | None, error) -> bool:
    """Did this call fail because the server is down, with another job's call failing
    just before it? Then the attempt is not counted against the job. ``endpoint`` is as
    ``breaker_record`` left it after counting this failure.

    The job's own earlier failure does not count as another's: a job that alone keeps
    failing still uses up its attempts."""
    if error is None or not error.retryable or log is None:
        return False
    if endpoint.consecutive_failures < 2:  # the first failure of a streak counts
        return False
    previous = (CallLog.objects.filter(endpoint_id=endpoint.pk, pk__lt=log.pk)
                .order_by("-pk").values_list("job_id", "retryable").first())
    return previous is not None and previous[0] != log.job_id and previous[1] is True


def _job_fields(job: GenerationJob, error, now, *, outage: bool = False) -> dict:
    """The job's new state: done, queued again after a backoff, or failed with a reason.
    ``outage``: the server is down (``server_outage``), so the attempt is given back."""
    if error is None:
        return {"status": GenerationJob.Status.SUCCEEDED, "finished_at": now,
                "partial_text": "", "last_error": "", "error_class": ""}
    if error.retryable and (job.attempts < job.max_attempts or outage) \
            and job.batch.cancelled_at is None:
        delay = backoff_delay(job.attempts, settings.QB_RETRY_BASE_SECONDS,
                              settings.QB_RETRY_CAP_SECONDS)
        if error.retry_after is not None:
            delay = max(delay, min(error.retry_after, settings.QB_RETRY_CAP_SECONDS))
        at = now + timedelta(seconds=delay)
        at_text = f"{timezone.localtime(at):%H:%M:%S}"
        fields = {"status": GenerationJob.Status.QUEUED, "next_attempt_at": at,
                  "error_class": error_class(error),
                  "last_error": english(ATTEMPT_FAILED, attempt=job.attempts,
                                        max=job.max_attempts, error=error.message, at=at_text)}
        if outage:  # attempts keep counting (call-log rows stay distinct); the allowance grows
            fields["max_attempts"] = job.max_attempts + 1
            fields["last_error"] = english(ATTEMPT_FAILED_OUTAGE, attempt=job.attempts,
                                           error=error.message, at=at_text)
        return fields
    status, message = GenerationJob.Status.FAILED, error.message
    if error.retryable and job.batch.cancelled_at is not None:
        status = GenerationJob.Status.CANCELLED
        message = english(CANCELLED_NOT_RETRIED, error=message)
    elif error.retryable:
        message = english(GAVE_UP, error=message, attempts=job.attempts)
    return {"status": status, "finished_at": now, "error_class": error_class(error),
            "last_error": message, "partial_text": getattr(error, "partial_text", "") or ""}


def job_complete(*, endpoint: ModelEndpoint, flight, result, error,
                 log: CallLog | None) -> bool:
    """Finish the attempt if this worker still holds the claim; on success create the
    solution. Returns True when a solution was created."""
    job, claim = flight.job, flight.claim
    mine = GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.RUNNING,
                                        claimed_by=claim.token)
    done = {"lease_expires_at": None, "claimed_by": "", "partial_updated_at": None}
    outage = server_outage(endpoint=endpoint, log=log, error=error)
    with transaction.atomic():
        # The conditional UPDATE is the check that this worker still holds the claim
        # (and it locks the row until the solution is written).
        if not mine.update(**_job_fields(job, error, timezone.now(), outage=outage), **done):
            # The lease lapsed and the sweep gave the job to someone else: their result
            # counts. This attempt is in the call log all the same.
            logger.warning("job %s: claim %s was lost; result discarded", job.pk, claim.token)
            return False
        return error is None and _solution_create(endpoint, flight, result, log)


def bounded_reply(text: str, cap: int) -> str:
    """``text`` if it has at most ``cap`` characters; else its first three quarters of
    ``cap`` and its last quarter (where the conclusion and final answer are), joined by a
    paragraph saying how much was cut and where the rest is."""
    if len(text) <= cap:
        return text
    head, tail = cap * 3 // 4, cap // 4
    # Stored in English like the worker's other sentences; pages show it translated.
    note = english(REPLY_CUT, cut=f"{len(text) - head - tail:,}", cap=f"{cap:,}")
    return f"{text[:head]}\n\n{note}\n\n{text[len(text) - tail:]}"


def _solution_create(endpoint: ModelEndpoint, flight, result, log: CallLog) -> bool:
    job = flight.job
    text, cap = result.text, settings.QB_MAX_REPLY_CHARS
    note, truncated_from = "", None
    if len(text) > cap:
        truncated_from = len(text)
        text = bounded_reply(text, cap)
        note = english(REPLY_CUT_NOTE, length=f"{truncated_from:,}", cap=f"{cap:,}")
        logger.warning("job %s: the model's reply has %s characters, over QB_MAX_REPLY_CHARS "
                       "(%s): the solution keeps its beginning and end (call log %s has it "
                       "all)", job.pk, truncated_from, cap, log.pk if log else None)
    reasoning, explanation = split_reasoning(text)
    final = extract_final_answer(explanation) or extract_final_answer(text)
    try:
        with transaction.atomic():
            solution_create(
                problem=job.problem, body=explanation or text, reasoning=reasoning,
                final_answer=final or "", job=job, problem_version=flight.problem_version,
                template=job.template, endpoint=endpoint, call_log=log,
                from_standin=endpoint.is_standin, note=note,
                reply_truncated_from=truncated_from,
            )
    except IntegrityError:  # Solution.job is one-to-one: this job already has one
        logger.warning("job %s already has a solution; not adding another", job.pk)
        return False
    return True
