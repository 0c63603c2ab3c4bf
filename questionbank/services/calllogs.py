"""Writing the call log: one append-only, hash-chained row per call attempt.

The chain is keyed (issue 14, defect 6): each row's hash is an HMAC-SHA256 with the chain
key from the environment (``questionbank/calllog_keys.py``), and purge checkpoints and the
chain head carry an HMAC made with the same key. The head is also written to the
application log every hour (``calllog_anchor_log``) so an auditor can compare it with the
database later (``verify_call_log --anchors``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.models import Schedule

from questionbank.calllog_keys import key_id
from questionbank.encryption import scrub_url_credentials
from questionbank.models import (
    CallLog,
    CallLogChainHead,
    CallLogCheckpoint,
    CallLogVerification,
)
from questionbank.services.calllog_stats import calllog_stats_add
from questionbank.stored_text import (
    CHAIN_BROKEN,
    CHAIN_INTACT,
    CHAIN_PROBLEMS,
    CHECK_STOPPED,
    english,
)

anchor_logger = logging.getLogger("questionbank.calllog.anchor")

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


def _row_blob(row: CallLog) -> bytes:
    """The hashed fields of ``row`` in a canonical JSON form."""
    payload = {}
    for name in HASHED_FIELDS:
        value = getattr(row, name)
        if name == "created_at":
            value = value.astimezone(UTC).isoformat(timespec="microseconds")
        payload[name] = value
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return blob.encode("utf-8")


def chain_keys() -> tuple[bytes, ...]:
    """The configured chain keys, newest first (``settings.QB_CALL_LOG_KEYS``)."""
    return tuple(settings.QB_CALL_LOG_KEYS)


def row_hash(row: CallLog, key: bytes | None = None) -> str:
    """HMAC-SHA256, with the newest chain key (or ``key``), over the hashed fields of ``row``."""
    return hmac.new(key or chain_keys()[0], _row_blob(row), hashlib.sha256).hexdigest()


def unkeyed_row_hash(row: CallLog) -> str:
    """The plain SHA-256 rows were chained with before the key (migration 0022); only
    ``calllog_rekey`` accepts it, and the tamper check uses it to name a forgery."""
    return hashlib.sha256(_row_blob(row)).hexdigest()


def _mac(*parts, key: bytes | None = None) -> str:
    message = json.dumps([str(p) for p in parts], separators=(",", ":")).encode("utf-8")
    return hmac.new(key or chain_keys()[0], message, hashlib.sha256).hexdigest()


def head_mac(last_id: int, last_hash: str, key: bytes | None = None) -> str:
    """Authenticates the chain head: moving it back to an earlier row needs the key."""
    return _mac("head", last_id, last_hash, key=key)


def checkpoint_mac(checkpoint: CallLogCheckpoint, key: bytes | None = None) -> str:
    """Authenticates a purge checkpoint: writing one by hand to hide a gap needs the key."""
    return _mac("checkpoint", checkpoint.purged_through_id, checkpoint.last_hash,
                checkpoint.rows_purged,
                checkpoint.older_than.astimezone(UTC).isoformat(timespec="microseconds"),
                checkpoint.created_by, key=key)


def _set_head(head: CallLogChainHead, last_id: int, last_hash: str) -> None:
    head.last_id, head.last_hash = last_id, last_hash
    head.mac = head_mac(last_id, last_hash)
    head.key_id = key_id(chain_keys()[0])
    head.save(update_fields=["last_id", "last_hash", "mac", "key_id"])


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
    so concurrent workers append in a single order. The pre-aggregated statistics
    (``CallLogStat``) are brought up to date in the same transaction.
    """
    if not isinstance(request_body, str):
        request_body = json.dumps(request_body, ensure_ascii=False, indent=None, default=str)
    response_body = _clean_text(response_body)
    with transaction.atomic():
        head, _created = CallLogChainHead.objects.select_for_update().get_or_create(
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
        _set_head(head, row.pk, row.row_hash)
        calllog_stats_add(row)
    return row


def _problem_text(code: str, **values) -> str:
    # Stored in English (CallLogVerification.message); pages show it translated.
    return english(CHAIN_PROBLEMS[code], **values)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows_checked: int
    first_broken_id: int | None = None
    reason: str = ""
    problem: str = ""  # a code: edited, link, truncated, unkeyed, forged_checkpoint, ...

    def __str__(self) -> str:
        if self.ok:
            return english(CHAIN_INTACT, rows=f"{self.rows_checked:,}")  # 1,000,000
        return english(CHAIN_BROKEN, row=self.first_broken_id, reason=self.reason)


def _broken(checked: int, row_id, code: str, **values) -> ChainReport:
    return ChainReport(False, checked, row_id, _problem_text(code, **values), code)


def _hash_problem(row: CallLog) -> str:
    """Why a row's stored hash is not its keyed hash: a known unkeyed or old-key hash (a
    forgery or a log not re-keyed yet), or an edit."""
    if row.row_hash == unkeyed_row_hash(row):
        return "unkeyed"
    if any(row.row_hash == row_hash(row, key) for key in chain_keys()[1:]):
        return "old_key"
    return "edited"


ANCHOR_PREFIX = "call-log anchor "
_ANCHOR_LINE = re.compile(re.escape(ANCHOR_PREFIX) + r"(\{[^{}]*\})")


def calllog_anchor() -> dict:
    """The chain head as it stands, for writing outside the database."""
    head = CallLogChainHead.objects.filter(id=1).first()
    return {"id": head.last_id if head else 0, "hash": head.last_hash if head else GENESIS_HASH,
            "key_id": key_id(chain_keys()[0]),
            "at": timezone.now().astimezone(UTC).isoformat(timespec="seconds")}


def calllog_anchor_log() -> dict:
    """Write the chain head to the application log (the scheduled task's work): one line
    ``call-log anchor {...}`` that ``verify_call_log --anchors FILE`` reads back."""
    anchor = calllog_anchor()
    anchor_logger.info("%s%s", ANCHOR_PREFIX, json.dumps(anchor, sort_keys=True))
    return anchor


def parse_anchors(text: str) -> list[dict]:
    """Every anchor line in ``text`` (a log file, or ``calllog_anchor`` output as JSON)."""
    found = []
    for match in _ANCHOR_LINE.finditer(text):
        try:
            anchor = json.loads(match.group(1))
        except ValueError:
            continue
        found.append(anchor)
    stripped = text.strip()
    if not found and stripped.startswith("{"):
        with contextlib.suppress(ValueError):
            found.append(json.loads(stripped))
    return [a for a in found if isinstance(a, dict) and isinstance(a.get("id"), int)
            and isinstance(a.get("hash"), str)]


def _check_anchors(anchors, checked: int, floor: int) -> ChainReport | None:
    for anchor in sorted(anchors, key=lambda a: a["id"]):
        if anchor["id"] == 0:
            continue
        stored = CallLog.objects.filter(pk=anchor["id"]).values_list("row_hash", flat=True).first()
        if stored is None:
            if anchor["id"] > floor:
                return _broken(checked, anchor["id"], "anchor_missing", at=anchor.get("at", "?"))
        elif stored != anchor["hash"]:
            return _broken(checked, anchor["id"], "anchor_mismatch", at=anchor.get("at", "?"))
    return None


class _Row:
    """A call-log row's values with attribute access, as ``row_hash`` reads them."""

    def __init__(self, pairs):
        self.__dict__.update(pairs)
        self.pk = self.id


def calllog_verify(*, chunk_size: int = 2000, anchors=(), progress=None) -> ChainReport:
    """Walk the chain from the oldest kept row and report the first row that breaks it.

    Every purge checkpoint must carry its key's MAC; after a purge the chain starts from
    the newest checkpoint's hash. Each row must link to the one before and carry the keyed
    hash of its content; the chain head (its MAC, and its hash) must point at the last
    row. ``anchors`` (heads logged outside the database, see ``parse_anchors``) must still
    match the rows they name. Rows are read in primary-key chunks so memory stays flat at
    millions of rows; ``progress(rows_checked)`` is called after each chunk.
    """
    checkpoints = list(CallLogCheckpoint.objects.order_by("-purged_through_id"))
    for candidate in checkpoints:
        if not hmac.compare_digest(candidate.mac, checkpoint_mac(candidate)):
            return _broken(0, candidate.purged_through_id, "forged_checkpoint",
                           checkpoint=candidate.pk, through=candidate.purged_through_id)
    checkpoint = checkpoints[0] if checkpoints else None
    expected_prev = checkpoint.last_hash if checkpoint else GENESIS_HASH
    last_id = floor = checkpoint.purged_through_id if checkpoint else 0
    checked = 0
    fields = ("id", "row_hash", *HASHED_FIELDS)
    while True:
        # Plain values: building a million model instances costs more than the hashing.
        rows = [_Row(zip(fields, values, strict=True)) for values in CallLog.objects.filter(
            pk__gt=last_id).order_by("pk").values_list(*fields)[:chunk_size]]
        if not rows:
            break
        for row in rows:
            if row.prev_hash != expected_prev:
                return _broken(checked, row.pk, "link")
            if not hmac.compare_digest(row_hash(row), row.row_hash):
                return _broken(checked, row.pk, _hash_problem(row))
            expected_prev = row.row_hash
            checked += 1
        last_id = rows[-1].pk
        if progress is not None:
            progress(checked)
    head = CallLogChainHead.objects.filter(id=1).first()
    if head and head.last_hash != expected_prev:
        return _broken(checked, head.last_id, "truncated")
    # The head migration 0002 made (no row ever written) carries no MAC; any other must.
    genesis = head is not None and head.last_id == 0 and head.last_hash == GENESIS_HASH
    if head and not genesis and not hmac.compare_digest(
            head.mac, head_mac(head.last_id, head.last_hash)):
        return _broken(checked, head.last_id, "forged_head")
    return _check_anchors(anchors, checked, floor) or ChainReport(True, checked)


@dataclass(frozen=True)
class RekeyResult:
    rows: int
    broken: ChainReport | None

    def __str__(self) -> str:
        done = _("Re-chained %(rows)s call-log rows with the newest call-log key.") % {
            "rows": self.rows}
        if self.broken is None:
            return done
        return done + " " + _("The chain was already broken before: %(report)s") % {
            "report": self.broken}


class ChainBroken(Exception):
    """The chain does not verify with any known key; ``report`` says where."""

    def __init__(self, report: ChainReport):
        super().__init__(str(report))
        self.report = report


def _write_hashes(rows) -> None:
    """One UPDATE for a chunk of rows' new hashes (``bulk_update``'s CASE per row was
    1.4 ms a row at 20,000 rows)."""
    table = CallLog._meta.db_table
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    params = [v for row in rows for v in (row.pk, row.prev_hash, row.row_hash)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(id, p, h) AS (VALUES {values}) "
            f"UPDATE {table} SET prev_hash = v.p, row_hash = v.h FROM v "
            f"WHERE {table}.id = v.id", params)


def calllog_rekey(*, accept_broken: bool = False, chunk_size: int = 2000) -> RekeyResult:
    """Re-chain every kept row, the checkpoints and the head with the newest key.

    For a log from before the key (hashes were plain SHA-256) and after a key rotation
    (the old key still configured after the new one). First each row must link up and
    carry a hash made with a configured key or the old unkeyed hash; otherwise
    ``ChainBroken`` is raised, unless ``accept_broken`` (then the break is reported and
    the log is re-chained as it stands). Runs in one transaction holding the chain head,
    so writers wait until it is done.
    """
    keys = chain_keys()
    with transaction.atomic():
        head, _created = CallLogChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"last_hash": GENESIS_HASH})
        checkpoints = list(CallLogCheckpoint.objects.order_by("-purged_through_id"))
        broken, count = None, 0
        for checkpoint in checkpoints:
            # One from before migration 0022 has no MAC and is taken as it is (README.md);
            # a MAC made with none of the keys is a forgery, not something to re-sign.
            if checkpoint.mac and checkpoint.mac not in {checkpoint_mac(checkpoint, k)
                                                         for k in keys} and broken is None:
                broken = _broken(0, checkpoint.purged_through_id, "forged_checkpoint",
                                 checkpoint=checkpoint.pk, through=checkpoint.purged_through_id)
                if not accept_broken:
                    raise ChainBroken(broken)
            checkpoint.mac = checkpoint_mac(checkpoint)
        CallLogCheckpoint.objects.bulk_update(checkpoints, ["mac"])
        start = checkpoints[0].last_hash if checkpoints else GENESIS_HASH
        last_id = checkpoints[0].purged_through_id if checkpoints else 0
        old_prev, new_prev = start, start
        while True:
            rows = list(CallLog.objects.filter(pk__gt=last_id).order_by("pk")[:chunk_size])
            if not rows:
                break
            for row in rows:
                if broken is None:
                    known = {unkeyed_row_hash(row), *(row_hash(row, k) for k in keys)}
                    if row.prev_hash != old_prev:
                        broken = _broken(count, row.pk, "link")
                    elif row.row_hash not in known:
                        broken = _broken(count, row.pk, "edited")
                    if broken is not None and not accept_broken:
                        raise ChainBroken(broken)
                old_prev = row.row_hash
                row.prev_hash = new_prev
                row.row_hash = new_prev = row_hash(row)
                count += 1
            _write_hashes(rows)
            last_id = rows[-1].pk
        if head.last_id and head.last_hash != old_prev and broken is None:
            broken = _broken(count, head.last_id, "truncated")
            if not accept_broken:
                raise ChainBroken(broken)
        _set_head(head, last_id if count else head.last_id, new_prev)
    return RekeyResult(count, broken)


# --- Retention (issue 7); export is in calllog_export.py -----------------------------

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
        checkpoint = CallLogCheckpoint(
            purged_through_id=last.pk, last_hash=last.row_hash, rows_purged=rows,
            older_than=older_than, created_by=created_by[:150],
        )
        checkpoint.mac = checkpoint_mac(checkpoint)
        checkpoint.save(force_insert=True)
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


# --- The tamper check as a background task --------------------------------------------------
VERIFY_FUNC = "questionbank.tasks.verify_call_log"


def calllog_verification_start(*, requested_by: str = "") -> CallLogVerification:
    """Queue a tamper check (a django-q2 task) unless one is already queued or running;
    returns that verification."""
    from questionbank.services.generation.batches import enqueue

    pending = CallLogVerification.objects.filter(
        status__in=[CallLogVerification.Status.QUEUED, CallLogVerification.Status.RUNNING]
    ).order_by("-id").first()
    if pending is not None:
        return pending
    verification = CallLogVerification.objects.create(requested_by=requested_by[:150])
    transaction.on_commit(lambda: enqueue(VERIFY_FUNC, verification.pk))
    return verification


def calllog_verification_run(*, verification_id: int, chunk_size: int = 2000) -> str:
    """The task's work: walk the chain, saving progress after each chunk and the result
    at the end. A verification already finished is left alone (tasks may be delivered
    twice)."""
    verification = CallLogVerification.objects.filter(pk=verification_id).first()
    if verification is None or verification.done:
        return "nothing to do"
    checkpoint = CallLogCheckpoint.objects.order_by("-purged_through_id").first()
    floor = checkpoint.purged_through_id if checkpoint else 0
    CallLogVerification.objects.filter(pk=verification.pk).update(
        status=CallLogVerification.Status.RUNNING, started_at=timezone.now(), rows_checked=0,
        rows_total=CallLog.objects.filter(pk__gt=floor).count())

    def progress(checked: int) -> None:
        CallLogVerification.objects.filter(pk=verification.pk).update(rows_checked=checked)

    try:
        report = calllog_verify(chunk_size=chunk_size, progress=progress)
    except Exception as exc:
        CallLogVerification.objects.filter(pk=verification.pk).update(
            status=CallLogVerification.Status.FAILED, finished_at=timezone.now(),
            message=english(CHECK_STOPPED, error=exc))
        raise
    CallLogVerification.objects.filter(pk=verification.pk).update(
        status=(CallLogVerification.Status.INTACT if report.ok
                else CallLogVerification.Status.BROKEN),
        finished_at=timezone.now(), rows_checked=report.rows_checked,
        first_broken_id=report.first_broken_id, problem=report.problem, message=str(report))
    return str(report)
