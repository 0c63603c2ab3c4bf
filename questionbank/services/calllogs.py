"""Writing the call log: one append-only, hash-chained row per call attempt."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django_q.models import Schedule

from questionbank.encryption import scrub_url_credentials
from questionbank.models import CallLog, CallLogChainHead, CallLogCheckpoint

GENESIS_HASH = "0" * 64
# What a row's hash covers, in this order. Changing it invalidates every stored hash.
HASHED_FIELDS = (
    "created_at", "endpoint_id", "endpoint_name", "protocol", "method", "url", "route",
    "server_version", "request_headers", "request_body", "response_status", "response_body",
    "response_size", "outcome", "error_class", "error_message", "retryable", "latency_ms",
    "prompt_tokens", "completion_tokens", "attempt", "sanitize_report", "job_id", "batch_id",
    "problem_id", "problem_version", "template_id", "user_id", "prev_hash",
)
REDACTED = "[redacted]"
_SECRET_HEADERS = {"authorization", "cookie", "set-cookie", "x-api-key", "api-key",
                   "proxy-authorization"}


def _clean_text(value) -> str:
    # PostgreSQL text cannot hold NUL; keep the rest byte-for-byte.
    return "" if value is None else str(value).replace("\x00", "\ufffd")


def redact_headers(headers: dict | None) -> dict:
    """Headers as they may be stored: secret-bearing ones replaced by "[redacted]"."""
    return {
        str(k): (REDACTED if str(k).lower() in _SECRET_HEADERS else _clean_text(v))
        for k, v in (headers or {}).items()
    }


def row_hash(row: CallLog) -> str:
    """SHA-256 over the hashed fields of ``row`` in a canonical JSON form."""
    payload = {}
    for name in HASHED_FIELDS:
        value = getattr(row, name)
        if name == "created_at":
            value = value.astimezone(UTC).isoformat(timespec="microseconds")
        payload[name] = value
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def calllog_record(
    *,
    endpoint=None,
    endpoint_name: str = "",
    protocol: str = "",
    url: str = "",
    method: str = "POST",
    route: str = "",
    server_version: str = "",
    request_headers: dict | None = None,
    request_body="",
    response_status: int | None = None,
    response_body: str = "",
    response_size: int | None = None,
    outcome: str = CallLog.Outcome.SUCCESS,
    error_class: str = "",
    error_message: str = "",
    retryable: bool | None = None,
    latency_ms: int | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    attempt: int = 1,
    sanitize_report: dict | None = None,
    job=None,
    batch=None,
    problem=None,
    problem_version: int | None = None,
    template=None,
    user=None,
) -> CallLog:
    """Append one row to the call log in its own transaction and extend the hash chain.

    Callers pass what the client's ``Exchange`` recorded; headers are redacted here
    again so that no caller can store a secret by mistake. The chain head row is locked
    so concurrent workers append in a single order.
    """
    if not isinstance(request_body, str):
        request_body = json.dumps(request_body, ensure_ascii=False, indent=None, default=str)
    response_body = _clean_text(response_body)
    with transaction.atomic():
        head, _ = CallLogChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"last_hash": GENESIS_HASH}
        )
        row = CallLog(
            created_at=timezone.now(),
            endpoint=endpoint,
            endpoint_name=(endpoint_name or (endpoint.name if endpoint else ""))[:100],
            protocol=protocol or (endpoint.protocol if endpoint else ""),
            method=method,
            url=_clean_text(scrub_url_credentials(url))[:1000],
            route=route[:30],
            server_version=_clean_text(server_version)[:50],
            request_headers=redact_headers(request_headers),
            request_body=_clean_text(request_body),
            response_status=response_status,
            response_body=response_body,
            response_size=(
                len(response_body.encode("utf-8")) if response_size is None else response_size
            ),
            outcome=outcome,
            error_class=error_class[:60],
            error_message=_clean_text(scrub_url_credentials(error_message)),
            retryable=retryable,
            latency_ms=latency_ms,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            attempt=attempt,
            sanitize_report=sanitize_report or {},
            job=job,
            batch=batch,
            problem=problem,
            problem_version=problem_version,
            template=template,
            user=user,
            prev_hash=head.last_hash,
        )
        # JSON fields come back from the database as parsed JSON: hash what will be read.
        row.request_headers = json.loads(json.dumps(row.request_headers))
        row.sanitize_report = json.loads(json.dumps(row.sanitize_report, default=str))
        row.row_hash = row_hash(row)
        row.save(force_insert=True)
        head.last_id = row.pk
        head.last_hash = row.row_hash
        head.save(update_fields=["last_id", "last_hash"])
    return row


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows_checked: int
    first_broken_id: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return gettext("The call log is intact: %(n)s rows checked.") % {
                "n": self.rows_checked}
        return gettext("The call log is broken at row %(number)s: %(reason)s") % {
            "number": self.first_broken_id, "reason": gettext(self.reason)}


def calllog_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Walk the chain from the oldest kept row and report the first row that breaks it.

    After a purge the chain starts from the newest checkpoint's hash. Rows are read in
    primary-key chunks so memory stays flat at millions of rows.
    """
    checkpoint = CallLogCheckpoint.objects.order_by("-purged_through_id").first()
    expected_prev = checkpoint.last_hash if checkpoint else GENESIS_HASH
    last_id = checkpoint.purged_through_id if checkpoint else 0
    checked = 0
    while True:
        rows = list(CallLog.objects.filter(pk__gt=last_id).order_by("pk")[:chunk_size])
        if not rows:
            break
        for row in rows:
            if row.prev_hash != expected_prev:
                return ChainReport(False, checked, row.pk,
                                   gettext_noop("its link to the previous row does not match "
                                                "(a row before it was removed or changed)."))
            if row_hash(row) != row.row_hash:
                return ChainReport(False, checked, row.pk,
                                   gettext_noop("its content does not match its hash (the row "
                                                "was edited)."))
            expected_prev = row.row_hash
            checked += 1
        last_id = rows[-1].pk
    head = CallLogChainHead.objects.filter(id=1).first()
    if head and head.last_hash != expected_prev:
        return ChainReport(False, checked, head.last_id,
                           gettext_noop("the newest rows were removed (the chain head points "
                                        "past them)."))
    return ChainReport(True, checked)


# --- Export and retention (issue 7) -------------------------------------------------------
# Every stored column, in this order, in both export formats. JSON columns are exported as
# JSON (nested objects in JSON Lines, JSON text in CSV).
EXPORT_FIELDS = (
    "id", "created_at", "endpoint_id", "endpoint_name", "protocol", "method", "url", "route",
    "server_version", "outcome", "response_status", "error_class", "error_message", "retryable",
    "latency_ms", "prompt_tokens", "completion_tokens", "attempt", "response_size", "job_id",
    "batch_id", "problem_id", "problem_version", "template_id", "user_id", "request_headers",
    "request_body", "response_body", "sanitize_report", "prev_hash", "row_hash",
)
EXPORT_FORMATS = ("csv", "jsonl")
_JSON_FIELDS = ("request_headers", "sanitize_report")
# Rows are written out in pieces of about this many characters (fewer, larger writes).
_EXPORT_BUFFER_CHARS = 256 * 1024


def _export_value(name: str, value):
    if name == "created_at":
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if name in _JSON_FIELDS and isinstance(value, str):
        # Some databases hand JSON back as text; export it as the structure it is.
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def calllog_export(*, queryset, fmt: str, chunk_size: int = 500, tally: dict | None = None):
    """Yield the rows of ``queryset`` as CSV (with a header line) or JSON Lines text.

    Streams: rows are read with ``iterator(chunk_size)`` (a server-side cursor on
    PostgreSQL) and yielded in pieces of about 256 KB, so memory stays flat however many
    rows are exported. Rows come out oldest first. For ``StreamingHttpResponse`` or a file.
    ``tally["rows"]``, when given, counts the rows written so far.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    rows = queryset.order_by("id").values_list(*EXPORT_FIELDS).iterator(chunk_size=chunk_size)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(EXPORT_FIELDS)
    tally = {} if tally is None else tally
    tally["rows"] = 0
    for values in rows:
        tally["rows"] += 1
        record = [_export_value(name, value) for name, value in zip(EXPORT_FIELDS, values,
                                                                    strict=True)]
        if writer is not None:
            writer.writerow([_csv_cell(v) for v in record])
        else:
            buffer.write(json.dumps(dict(zip(EXPORT_FIELDS, record, strict=True)),
                                    ensure_ascii=False, default=str))
            buffer.write("\n")
        if buffer.tell() >= _EXPORT_BUFFER_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


@dataclass(frozen=True)
class PurgeResult:
    rows: int
    through_id: int | None
    older_than: object
    dry_run: bool
    checkpoint: CallLogCheckpoint | None = None

    def __str__(self) -> str:
        when = self.older_than.strftime("%Y-%m-%d %H:%M %Z")
        if not self.rows:
            return f"No call-log rows older than {when}; nothing to remove."
        verb = "Would remove" if self.dry_run else "Removed"
        return f"{verb} {self.rows} call-log rows older than {when} (ids up to {self.through_id})."


def calllog_purge(*, older_than, dry_run: bool = False, created_by: str = "",
                  chunk_size: int = 5000) -> PurgeResult:
    """Remove call-log rows created before ``older_than`` and checkpoint the chain.

    Only a prefix of the chain is removed: every row before the first row that is new
    enough to keep, so the rows left still link up. The checkpoint, holding the hash of the
    last removed row, is written first, in its own transaction; ``calllog_verify`` starts
    from it. Rows are then deleted in id ranges of ``chunk_size`` (short transactions); if
    the purge stops part-way, the rows left below the checkpoint are ignored by the check
    and removed by the next purge.
    """
    # Through the created_at index: the oldest row to keep (ids and times rise together).
    first_kept = (CallLog.objects.filter(created_at__gte=older_than).order_by("created_at", "id")
                  .values_list("id", flat=True).first())
    old = CallLog.objects.all() if first_kept is None else CallLog.objects.filter(id__lt=first_kept)
    last = old.order_by("-id").only("id", "row_hash").first()
    previous = CallLogCheckpoint.objects.order_by("-purged_through_id").first()
    floor = previous.purged_through_id if previous else 0
    if last is None or last.pk <= floor:
        # Nothing new to checkpoint; finish any earlier purge that stopped part-way.
        if not dry_run and last is not None:
            _delete_through(last.pk, chunk_size)
        return PurgeResult(0, None, older_than, dry_run)
    rows = old.filter(id__gt=floor).count()
    if dry_run:
        return PurgeResult(rows, last.pk, older_than, True)
    with transaction.atomic():
        # Serialise with writers so that the checkpoint and the chain head agree.
        CallLogChainHead.objects.select_for_update().filter(id=1).first()
        checkpoint = CallLogCheckpoint.objects.create(
            purged_through_id=last.pk, last_hash=last.row_hash, rows_purged=rows,
            older_than=older_than, created_by=created_by[:150],
        )
    _delete_through(last.pk, chunk_size)
    return PurgeResult(rows, last.pk, older_than, False, checkpoint)


def _delete_through(last_id: int, chunk_size: int) -> None:
    lowest = CallLog.objects.order_by("id").values_list("id", flat=True).first()
    while lowest is not None and lowest <= last_id:
        upper = min(lowest + chunk_size - 1, last_id)
        with transaction.atomic():
            # only("id"): Solution.call_log is SET_NULL, so Django collects the rows it
            # deletes; never load their bodies.
            CallLog.objects.filter(id__gte=lowest, id__lte=upper).only("id").delete()
        lowest = (CallLog.objects.filter(id__gt=upper).order_by("id")
                  .values_list("id", flat=True).first())


PURGE_SCHEDULE_NAME = "questionbank: call-log retention purge"
PURGE_FUNC = "questionbank.tasks.purge_call_logs"


def calllog_purge_due(*, created_by: str = "schedule") -> PurgeResult:
    """Purge rows older than ``QB_CALL_LOG_RETENTION_DAYS`` (the scheduled task's work)."""
    older_than = timezone.now() - timedelta(days=settings.QB_CALL_LOG_RETENTION_DAYS)
    return calllog_purge(older_than=older_than, created_by=created_by)


def purge_schedule_ensure(schedule_model=None) -> None:
    """Create or repair the daily django-q2 schedule of the retention purge.

    Called from the data migration with the historical model (as the generation sweep's
    schedule is), so every migrated database has it; safe to call again.
    """
    schedule_model = schedule_model or Schedule
    schedule_model.objects.update_or_create(
        name=PURGE_SCHEDULE_NAME,
        defaults={"func": PURGE_FUNC, "schedule_type": "D", "repeats": -1},
    )
