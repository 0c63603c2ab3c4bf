"""Issue 14, defect 6: the keyed chain. Both reported forgeries are caught and named, the
chain head is anchored outside the database, old rows are re-chained, and the tamper check
runs as a task with a stored result. Plus the audit's export and statistics tables."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import logging
import math
from datetime import UTC, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from questionbank import checks
from questionbank.models import (
    CallLog,
    CallLogChainHead,
    CallLogCheckpoint,
    CallLogStat,
    CallLogVerification,
)
from questionbank.services import calllog_export as calllog_export_module
from questionbank.services import calllogs
from questionbank.services.calllog_export import EXPORT_FIELDS, calllog_export
from questionbank.services.calllog_stats import (
    Tally,
    calllog_rows_tally,
    calllog_stats_rebuild,
)
from questionbank.services.calllogs import (
    ChainBroken,
    calllog_anchor_log,
    calllog_purge,
    calllog_record,
    calllog_rekey,
    calllog_verification_run,
    calllog_verify,
    parse_anchors,
    row_hash,
    unkeyed_row_hash,
)

KEY_A = b"a" * 40
KEY_B = b"b" * 40


def _rows(n: int, **fields):
    return [calllog_record(endpoint_name="e", protocol="gradio", response_body=str(i),
                           latency_ms=100 + i, **fields) for i in range(n)]


def _rehash_from(rows, start: int, hasher) -> None:
    """What an attacker does: rewrite the hashes from ``rows[start]`` on with ``hasher``."""
    prev = rows[start].prev_hash
    for row in rows[start:]:
        row.refresh_from_db()
        row.prev_hash = prev
        row.row_hash = prev = hasher(row)
        CallLog.objects.filter(pk=row.pk).update(prev_hash=row.prev_hash, row_hash=row.row_hash)
    CallLogChainHead.objects.filter(id=1).update(last_id=rows[-1].pk, last_hash=prev)


# --- The two forgeries of the report ----------------------------------------------------------


def test_a_deleted_row_hidden_behind_a_hand_made_checkpoint_is_named(db):
    rows = _rows(4)
    CallLog.objects.filter(pk=rows[1].pk).delete()
    # The checkpoint a purge would have written, with the hash that makes the rest link up.
    forged = CallLogCheckpoint.objects.create(
        purged_through_id=rows[1].pk, last_hash=rows[1].row_hash, rows_purged=1,
        older_than=timezone.now(), created_by="purge_call_logs (root)")
    report = calllog_verify()
    assert (report.ok, report.problem, report.first_broken_id, report.rows_checked) == (
        False, "forged_checkpoint", rows[1].pk, 0)
    assert str(report) == (
        f"The call log is broken at row {rows[1].pk}: purge checkpoint {forged.pk} is forged: "
        "its MAC does not match, so no purge wrote it (rows up to "
        f"{rows[1].pk} are hidden behind it).")
    # A real MAC, made with the key for another checkpoint, does not fit this one either.
    other = CallLogCheckpoint(purged_through_id=rows[0].pk, last_hash=rows[0].row_hash,
                              rows_purged=1, older_than=forged.older_than,
                              created_by=forged.created_by)
    CallLogCheckpoint.objects.filter(pk=forged.pk).update(mac=calllogs.checkpoint_mac(other))
    assert calllog_verify().problem == "forged_checkpoint"


def test_an_edited_row_rehashed_with_the_old_public_hash_is_named(db):
    rows = _rows(4)
    CallLog.objects.filter(pk=rows[1].pk).update(response_body="forged")
    _rehash_from(rows, 1, unkeyed_row_hash)
    report = calllog_verify()
    assert (report.ok, report.problem, report.first_broken_id, report.rows_checked) == (
        False, "unkeyed", rows[1].pk, 1)
    assert "recomputed without the call-log key" in str(report)


def test_an_edited_row_rehashed_with_a_guessed_key_is_named_as_edited(db):
    rows = _rows(3)
    CallLog.objects.filter(pk=rows[2].pk).update(latency_ms=1)
    _rehash_from(rows, 2, lambda row: row_hash(row, b"not the key" * 4))
    report = calllog_verify()
    assert (report.problem, report.first_broken_id) == ("edited", rows[2].pk)


def test_moving_the_head_back_over_removed_rows_is_named(db):
    rows = _rows(3)
    CallLog.objects.filter(pk=rows[2].pk).delete()
    CallLogChainHead.objects.filter(id=1).update(last_id=rows[1].pk, last_hash=rows[1].row_hash)
    report = calllog_verify()
    assert (report.ok, report.problem, report.first_broken_id, report.rows_checked) == (
        False, "forged_head", rows[1].pk, 2)
    assert "moved by hand" in str(report)


def test_an_emptied_log_whose_head_keeps_a_row_id_needs_the_head_mac(db):
    """Only the head migration 0002 made (row 0, genesis hash) goes without a MAC: every row
    deleted and the head set back to the genesis hash, but not to row 0, is a forgery."""
    rows = _rows(2)
    CallLog.objects.all().delete()
    CallLogChainHead.objects.filter(id=1).update(last_id=rows[1].pk,
                                                 last_hash=calllogs.GENESIS_HASH)
    report = calllog_verify()
    assert (report.ok, report.problem, report.first_broken_id) == (
        False, "forged_head", rows[1].pk)


# --- The anchor outside the database ------------------------------------------------------


def test_anchor_is_logged_and_catches_a_rewrite_by_someone_with_the_key(db, caplog):
    rows = _rows(3)
    with caplog.at_level(logging.INFO, logger="questionbank.calllog.anchor"):
        logged = calllog_anchor_log()
    line = next(r.getMessage() for r in caplog.records if "call-log anchor" in r.getMessage())
    assert parse_anchors(f"2026-12-01 10:00:00 INFO x: {line}\nnoise\n") == [logged]
    assert (logged["id"], logged["hash"]) == (rows[-1].pk, rows[-1].row_hash)
    assert calllog_verify(anchors=[logged]).ok
    # Someone with the key edits a row and re-chains everything after it.
    CallLog.objects.filter(pk=rows[0].pk).update(response_body="forged")
    _rehash_from(rows, 0, row_hash)
    CallLogChainHead.objects.filter(id=1).update(mac=calllogs.head_mac(
        rows[-1].pk, CallLog.objects.get(pk=rows[-1].pk).row_hash))
    assert calllog_verify().ok  # the database alone cannot tell
    report = calllog_verify(anchors=[logged])
    assert (report.ok, report.problem, report.first_broken_id) == (
        False, "anchor_mismatch", rows[-1].pk)
    assert logged["at"] in str(report)


def test_anchor_catches_rows_removed_with_the_key(db):
    rows = _rows(3)
    anchor = calllogs.calllog_anchor()
    CallLog.objects.filter(pk=rows[2].pk).delete()
    CallLogChainHead.objects.filter(id=1).update(
        last_id=rows[1].pk, last_hash=rows[1].row_hash,
        mac=calllogs.head_mac(rows[1].pk, rows[1].row_hash))
    assert calllog_verify().ok
    assert calllog_verify(anchors=[anchor]).problem == "anchor_missing"


def test_an_anchored_row_removed_by_a_purge_is_not_missing(db):
    _rows(2)
    anchor = calllogs.calllog_anchor()
    _rows(1)
    calllog_purge(older_than=timezone.now())
    assert calllog_verify(anchors=[anchor]).ok


def test_verify_command_reads_anchor_files(db, tmp_path):
    _rows(2)
    out = io.StringIO()
    call_command("call_log_anchor", stdout=out)
    saved = tmp_path / "anchor.json"
    saved.write_text(out.getvalue())
    log = tmp_path / "app.log"
    log.write_text("x INFO questionbank.calllog.anchor: call-log anchor "
                   + out.getvalue().strip() + "\n")
    for name in (saved, log):
        out = io.StringIO()
        call_command("verify_call_log", "--anchors", str(name), stdout=out)
        assert "intact: 2 rows checked. 1 anchors match." in out.getvalue()
    CallLog.objects.order_by("-id").first().delete()
    with pytest.raises(CommandError, match=r"\[truncated\]"):
        call_command("verify_call_log", "--anchors", str(log))
    empty = tmp_path / "empty.log"
    empty.write_text("nothing here\n")
    with pytest.raises(CommandError, match="No call-log anchor lines"):
        call_command("verify_call_log", "--anchors", str(empty))


# --- Existing rows, rotation, the start-up check ------------------------------------------


def test_rows_from_before_the_key_are_named_then_rechained(db):
    rows = _rows(3)
    _rehash_from(rows, 0, unkeyed_row_hash)  # as migration 0022 finds them
    assert calllog_verify().problem == "unkeyed"
    assert [w.id for w in checks.call_log_key()] == ["questionbank.E023", "questionbank.W023"]
    result = calllog_rekey()
    assert (result.rows, result.broken) == (3, None)
    assert calllog_verify() == calllogs.ChainReport(True, 3)
    assert checks.call_log_key() == []


def test_rekey_refuses_a_broken_chain_unless_told(db):
    rows = _rows(3)
    _rehash_from(rows, 0, unkeyed_row_hash)
    CallLog.objects.filter(pk=rows[1].pk).update(response_body="forged")
    with pytest.raises(ChainBroken) as caught:
        calllog_rekey()
    assert (caught.value.report.problem, caught.value.report.first_broken_id) == (
        "edited", rows[1].pk)
    assert calllog_verify().problem == "unkeyed"  # nothing changed
    with pytest.raises(CommandError, match="--accept-broken"):
        call_command("rekey_call_log")
    out = io.StringIO()
    call_command("rekey_call_log", "--accept-broken", stdout=out)
    assert "already broken before" in out.getvalue()
    assert calllog_verify().ok


def test_key_rotation(db, settings):
    settings.QB_CALL_LOG_KEYS = (KEY_A,)
    _rows(2)
    calllog_purge(older_than=timezone.now() - timedelta(days=1))
    settings.QB_CALL_LOG_KEYS = (KEY_B, KEY_A)
    assert [w.id for w in checks.call_log_key()] == ["questionbank.W023"]
    assert calllog_verify().problem == "old_key"
    forged = CallLogCheckpoint.objects.create(
        purged_through_id=0, last_hash="0" * 64, rows_purged=0, older_than=timezone.now(),
        mac="e" * 64)
    with pytest.raises(ChainBroken, match="is forged"):
        calllog_rekey()  # re-keying never re-signs a forgery
    forged.delete()
    calllog_rekey()
    settings.QB_CALL_LOG_KEYS = (KEY_B,)
    assert calllog_verify() == calllogs.ChainReport(True, 2)
    settings.QB_CALL_LOG_KEYS = (KEY_A,)
    assert [w.id for w in checks.call_log_key()] == ["questionbank.E023"]
    assert not calllog_verify().ok


def test_a_purge_checkpoint_is_authenticated(db):
    rows = _rows(3)
    CallLog.objects.filter(pk=rows[0].pk).update(created_at=timezone.now() - timedelta(days=9))
    checkpoint = calllog_purge(older_than=timezone.now() - timedelta(days=5)).checkpoint
    assert checkpoint.mac == calllogs.checkpoint_mac(checkpoint) and len(checkpoint.mac) == 64
    assert calllog_verify().ok
    CallLogCheckpoint.objects.filter(pk=checkpoint.pk).update(rows_purged=2)
    assert calllog_verify().problem == "forged_checkpoint"


# --- The tamper check as a background task ------------------------------------------------


def test_verification_task_stores_progress_and_result(db, settings, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    rows = _rows(5)
    settings.QB_TASKS_SYNC = True
    with django_capture_on_commit_callbacks(execute=True):
        started = calllogs.calllog_verification_start(requested_by="auditor")
    done = CallLogVerification.objects.get(pk=started.pk)
    assert (done.status, done.rows_total, done.rows_checked, done.requested_by) == (
        "intact", 5, 5, "auditor")
    assert done.started_at <= done.finished_at and done.percent == 100
    CallLog.objects.filter(pk=rows[3].pk).update(response_body="x")
    again = CallLogVerification.objects.create()
    stored_progress = []
    real_verify = calllogs.calllog_verify

    def watched_verify(**kwargs):
        save = kwargs["progress"]

        def progress(checked):
            save(checked)
            stored_progress.append(CallLogVerification.objects.get(pk=again.pk).rows_checked)

        return real_verify(**{**kwargs, "progress": progress})

    monkeypatch.setattr(calllogs, "calllog_verify", watched_verify)
    calllog_verification_run(verification_id=again.pk, chunk_size=2)
    again.refresh_from_db()
    assert stored_progress == [2]  # saved after the first chunk; the second one breaks
    assert (again.status, again.rows_checked, again.problem, again.first_broken_id) == (
        "broken", 3, "edited", rows[3].pk)
    assert again.message.startswith(f"The call log is broken at row {rows[3].pk}")
    # Delivered twice: the second run leaves the stored result alone.
    assert calllog_verification_run(verification_id=again.pk) == "nothing to do"


def test_a_second_start_while_one_is_pending_reuses_it(db):
    first = calllogs.calllog_verification_start()
    assert calllogs.calllog_verification_start().pk == first.pk
    CallLogVerification.objects.filter(pk=first.pk).update(status="intact")
    assert calllogs.calllog_verification_start().pk != first.pk


# --- Export: columns, redaction, streaming -------------------------------------------------


def _stored_with_credentials():
    row = calllog_record(endpoint_name="e", protocol="gradio", response_body="a,b\n\"c\"",
                         request_headers={"X-Trace": "1", "Accept": "x"},
                         sanitize_report={"zz": {"b": 1, "aa": [1, "ü"]}, "a": None},
                         retryable=False, error_message="")
    # As rows from before URL credentials were scrubbed on write hold them.
    CallLog.objects.filter(pk=row.pk).update(
        url="http://bob:hunter2@gpu:7860/x", error_message="at https://u:p@h/ failed",
        request_headers={"Authorization": "Bearer sk-live", "X-Api-Key": "k", "Accept": "x"})
    return row


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_redacts_and_keeps_every_column(db, fmt):
    row = _stored_with_credentials()
    calllog_record(endpoint_name="", protocol="gradio", response_body="")
    text = "".join(calllog_export(queryset=CallLog.objects.all(), fmt=fmt))
    assert "hunter2" not in text and "sk-live" not in text and "u:p@" not in text
    if fmt == "csv":
        records = list(csv.DictReader(io.StringIO(text)))
        assert list(records[0]) == list(EXPORT_FIELDS)
        first = records[0]
        assert first["retryable"] == "false" and records[1]["retryable"] == ""
    else:
        records = [json.loads(line) for line in text.splitlines()]
        assert list(records[0]) == list(EXPORT_FIELDS)
        first = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                 for k, v in records[0].items()}
    assert first["url"] == "http://[redacted]@gpu:7860/x"
    assert first["error_message"] == "at https://[redacted]@h/ failed"
    assert json.loads(first["request_headers"]) == {
        "Accept": "x", "X-Api-Key": "[redacted]", "Authorization": "[redacted]"}
    assert first["response_body"] == 'a,b\n"c"' and int(first["id"]) == row.pk


def test_export_streams_in_pieces(db, monkeypatch):
    monkeypatch.setattr(calllog_export_module, "_EXPORT_BUFFER_CHARS", 300)
    _rows(6)
    tally: dict = {}
    pieces = list(calllog_export(queryset=CallLog.objects.all(), fmt="csv", tally=tally))
    assert len(pieces) >= 3 and tally["rows"] == 6
    assert len(list(csv.reader(io.StringIO("".join(pieces))))) == 7


@pytest.mark.postgresql  # COPY is PostgreSQL's
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_copy_export_writes_exactly_what_the_python_export_writes(db, fmt, monkeypatch):
    _stored_with_credentials()
    _rows(2, error_class="TimedOut", outcome="error", retryable=True)
    calllog_record(endpoint_name="ü\x01\t\\ \"q\"", protocol="gradio",
                   request_body={"data": ["line\r\nnext", 0.5, None]}, response_body="")
    queryset = CallLog.objects.filter(protocol="gradio")
    by_copy = "".join(calllog_export(queryset=queryset, fmt=fmt))
    monkeypatch.setattr(connection, "vendor", "other")
    tally: dict = {}
    by_python = "".join(calllog_export(queryset=queryset, fmt=fmt, tally=tally))
    assert tally["rows"] == 4
    assert by_copy == by_python


# --- Statistics buckets kept current ------------------------------------------------------


def _buckets() -> dict:
    return {(s.span, s.start, s.dimension, s.key): (s.calls, s.errors, s.tokens,
                                                   s.generation_ms, s.latencies,
                                                   s.error_classes)
            for s in CallLogStat.objects.all()}


def test_statistics_buckets_follow_every_insert(db):
    from tests import factories

    template = factories.make_template()
    calllog_record(endpoint_name="a", latency_ms=150, completion_tokens=30, template=template)
    calllog_record(endpoint_name="a", latency_ms=20, outcome="error", error_class="TimedOut")
    calllog_record(endpoint_name="b", latency_ms=None, outcome="error")
    incremental = _buckets()
    hour = CallLogStat.objects.get(span="hour", dimension="all")
    assert (hour.calls, hour.errors, hour.tokens, hour.generation_ms) == (3, 2, 30, 150)
    assert hour.error_classes == {"TimedOut": 1, "": 1}
    assert sum(hour.latencies.values()) == 2
    day_a = CallLogStat.objects.get(span="day", dimension="endpoint", key="a")
    assert day_a.calls == 2
    assert CallLogStat.objects.get(span="hour", dimension="template",
                                   key=str(template.pk)).calls == 1
    assert CallLogStat.objects.get(span="hour", dimension="template", key="").calls == 2
    assert calllog_stats_rebuild() == len(incremental) == 3 * (1 + 2 + 2)  # hour, day, week
    assert _buckets() == incremental
    assert len(calllog_rows_tally(CallLog.objects.all(), spans=("hour",))) == 5


@pytest.mark.parametrize("period,days", [("day", 1), ("week", 7), ("month", 30)])
@pytest.mark.parametrize("weekday", range(7))
def test_statistics_of_a_period_count_exactly_the_rows_in_it(db, monkeypatch, period, days,
                                                             weekday):
    from questionbank.selectors import calllog_stats

    # Each weekday of "now", so the period starts and ends at every place in a week.
    now = timezone.now().replace(minute=20, second=0, microsecond=0)
    now -= timedelta(days=(now.weekday() - weekday) % 7)
    since = now - timedelta(days=days)
    moments = [since - timedelta(minutes=5),  # just before: not counted
               since + timedelta(minutes=5),  # the part-hour at the start, from the rows
               since + timedelta(minutes=50),  # the first whole hour
               now - timedelta(days=days / 2), now - timedelta(hours=3),
               now - timedelta(minutes=1)]  # the current hour
    for index, moment in enumerate(moments):
        monkeypatch.setattr(timezone, "now", lambda m=moment: m)
        calllog_record(endpoint_name=f"gpu-{index % 2}", latency_ms=100 * (index + 1),
                       outcome="error" if index % 3 == 0 else "success",
                       error_class="TimedOut" if index % 3 == 0 else "")
    monkeypatch.undo()
    stats = calllog_stats(period=period, now=now)
    inside = [i for i, m in enumerate(moments) if since <= m <= now]
    assert stats["total"].calls == len(inside) == 5
    assert stats["total"].errors == sum(1 for i in inside if i % 3 == 0) == 1
    assert sum(b["calls"] for b in stats["series"]) == 5
    by_name = {s.label: s.calls for s in stats["endpoints"]}
    assert by_name == {"gpu-0": 2, "gpu-1": 3}
    # p50/p95 of every row in the period (200..600 ms), the part-hour's too.
    assert stats["total"].p50_ms == pytest.approx(400, rel=0.01)
    assert stats["total"].p95_ms == pytest.approx(580, rel=0.01)
    assert stats["total"].by_class == [("TimedOut", 1, 0.2)]


@given(st.lists(st.integers(min_value=0, max_value=10_000_000), min_size=1, max_size=300))
def test_histogram_percentiles_are_within_one_percent_of_the_rows(latencies):
    from questionbank.selectors.calllog_stats import histogram_percentiles

    tally = Tally()
    for latency in latencies:
        tally.add("success", "", latency, None)
    ordered = sorted(latencies)
    for percent, found in zip((50, 95), histogram_percentiles(tally.latencies), strict=True):
        low, remainder = divmod((len(ordered) - 1) * percent, 100)
        high = min(low + 1, len(ordered) - 1)
        exact = ordered[low] + (ordered[high] - ordered[low]) * remainder / 100  # percentile_cont
        # Each bucket's value is within a factor e^(1/100) of its rows: 1.005 % at worst.
        assert found == pytest.approx(exact, rel=math.expm1(1 / 100) + 1e-12, abs=1e-9)


def test_month_statistics_read_every_bucket_in_one_query(db, django_assert_num_queries):
    """And the chart's days in one more."""
    from questionbank.selectors import calllog_stats
    from tests import factories

    templates = [factories.make_template(), factories.make_template()]
    for index in range(6):
        calllog_record(endpoint_name=f"gpu-{index % 2}", latency_ms=100 * (index + 1),
                       template=templates[index % 2])
    # The part-hour's rows, the buckets (all dimensions), the template names, the chart.
    with django_assert_num_queries(4):
        stats = calllog_stats(period="month")
    assert sorted((t.calls, t.p50_ms) for t in stats["templates"]) == [
        (3, pytest.approx(300, rel=0.01)), (3, pytest.approx(400, rel=0.01))]
    assert sum(b["calls"] for b in stats["series"]) == stats["total"].calls == 6


def test_week_buckets_hold_their_days_and_the_migration_builds_the_same(db, monkeypatch):
    import importlib

    from django.apps import apps

    monday = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0)
    monday -= timedelta(days=monday.weekday() + 7)
    for offset in range(0, 11 * 24, 7):  # Monday of last week to Thursday of this one
        monkeypatch.setattr(timezone, "now", lambda o=offset: monday + timedelta(hours=o))
        calllog_record(endpoint_name=f"gpu-{offset % 2}", latency_ms=100 + offset,
                       outcome="error" if offset % 5 == 0 else "success")
    monkeypatch.undo()
    weeks = {k: v for k, v in _buckets().items() if k[0] == "week"}
    assert sorted({k[1] for k in weeks}) == [monday.replace(hour=0),
                                             monday.replace(hour=0) + timedelta(weeks=1)]
    for (_span, start, dimension, key), figures in weeks.items():
        days = [v for k, v in _buckets().items() if k[0] == "day" and k[2:] == (dimension, key)
                and start <= k[1] < start + timedelta(weeks=1)]
        assert figures[0] == sum(d[0] for d in days) > 0  # calls
        assert figures[1] == sum(d[1] for d in days)  # errors
        assert sum(figures[4].values()) == sum(sum(d[4].values()) for d in days)
    migration = importlib.import_module("questionbank.migrations.0026_calllog_week_buckets")
    CallLogStat.objects.filter(span="week").delete()
    migration.weeks_from_days(apps, None)
    assert {k: v for k, v in _buckets().items() if k[0] == "week"} == weeks


def test_start_up_warns_when_statistics_were_never_built(db):
    _rows(1)
    assert checks.call_log_key() == []
    CallLogStat.objects.all().delete()
    assert [w.id for w in checks.call_log_key()] == ["questionbank.W026"]
    call_command("rebuild_call_log_stats", stdout=io.StringIO())
    assert checks.call_log_key() == []


# --- Known answers: what exactly each HMAC covers -----------------------------------------


def _hmac(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def test_the_row_hash_is_an_hmac_of_the_canonical_row(db, settings):
    settings.QB_CALL_LOG_KEYS = (KEY_A, KEY_B)
    row = calllog_record(endpoint_name="e", protocol="gradio", response_body="ü")
    blob = calllogs._row_blob(row)
    payload = json.loads(blob)
    assert set(payload) == set(calllogs.HASHED_FIELDS)
    assert payload["created_at"].endswith("+00:00") and payload["response_body"] == "ü"
    assert blob == json.dumps(payload, sort_keys=True, ensure_ascii=False,
                              separators=(",", ":")).encode("utf-8")
    assert row.row_hash == row_hash(row) == _hmac(KEY_A, blob)
    assert row_hash(row, KEY_B) == _hmac(KEY_B, blob) != row.row_hash
    assert unkeyed_row_hash(row) == hashlib.sha256(blob).hexdigest()


def test_the_head_and_checkpoint_macs_cover_every_field(db, settings):
    settings.QB_CALL_LOG_KEYS = (KEY_A,)
    assert calllogs.head_mac(7, "ab") == _hmac(KEY_A, b'["head","7","ab"]')
    assert calllogs.head_mac(7, "ab", KEY_B) == _hmac(KEY_B, b'["head","7","ab"]')
    moment = timezone.now().replace(year=2026, month=1, day=2, hour=3, minute=4, second=5,
                                    microsecond=6)
    checkpoint = CallLogCheckpoint(purged_through_id=9, last_hash="cd", rows_purged=4,
                                   older_than=moment, created_by="me")
    when = moment.astimezone(UTC).isoformat(timespec="microseconds")
    expected = json.dumps(["checkpoint", "9", "cd", "4", when, "me"],
                          separators=(",", ":")).encode()
    assert calllogs.checkpoint_mac(checkpoint) == _hmac(KEY_A, expected)
    assert calllogs.checkpoint_mac(checkpoint, KEY_B) == _hmac(KEY_B, expected)
    rows = _rows(1)
    head = CallLogChainHead.objects.get(id=1)
    assert head.mac == _hmac(KEY_A, json.dumps(["head", str(rows[0].pk), rows[0].row_hash],
                                               separators=(",", ":")).encode())
    assert head.key_id == calllogs.key_id(KEY_A)


@pytest.mark.parametrize("field,value", [
    ("purged_through_id", 1), ("last_hash", "f" * 64), ("rows_purged", 99),
    ("older_than", timezone.now() - timedelta(days=400)), ("created_by", "someone else"),
])
def test_each_checkpoint_field_is_authenticated(db, field, value):
    _rows(2)
    checkpoint = calllog_purge(older_than=timezone.now()).checkpoint
    assert calllog_verify().ok
    CallLogCheckpoint.objects.filter(pk=checkpoint.pk).update(**{field: value})
    assert calllog_verify().problem == "forged_checkpoint"


# --- Anchors: several, in any order, at the edges ---------------------------------------


def test_anchors_are_checked_oldest_first_and_each_named(db):
    rows = _rows(4)
    anchors = [{"id": rows[3].pk, "hash": rows[3].row_hash, "at": "T3"},
               {"id": 0, "hash": calllogs.GENESIS_HASH, "at": "T0"},
               {"id": rows[1].pk, "hash": "0" * 64, "at": "T1"},
               {"id": rows[2].pk, "hash": "1" * 64}]
    report = calllog_verify(anchors=anchors)
    assert (report.problem, report.first_broken_id, report.rows_checked) == (
        "anchor_mismatch", rows[1].pk, 4)
    assert "logged outside the database at T1 " in report.reason
    report = calllog_verify(anchors=anchors[:2] + anchors[3:])  # the genesis anchor is skipped
    assert (report.first_broken_id, report.problem) == (rows[2].pk, "anchor_mismatch")
    assert "at ? " in report.reason
    assert calllog_verify(anchors=anchors[:2]).ok
    # Only the genesis anchor (id 0) is skipped: one naming the first id is checked.
    assert not calllog_verify(anchors=[{"id": 1, "hash": "x"}]).ok


def test_an_anchor_at_the_newest_checkpoint_is_not_missing_one_above_is(db):
    rows = _rows(3)
    first_anchor = {"id": rows[0].pk, "hash": rows[0].row_hash, "at": "A"}
    calllog_purge(older_than=rows[1].created_at)  # removes rows[0] only
    assert calllog_verify(anchors=[first_anchor]).ok
    CallLog.objects.filter(pk=rows[2].pk).delete()
    CallLogChainHead.objects.filter(id=1).update(
        last_id=rows[1].pk, last_hash=rows[1].row_hash,
        mac=calllogs.head_mac(rows[1].pk, rows[1].row_hash))
    gone = {"id": rows[2].pk, "hash": rows[2].row_hash, "at": "B"}
    report = calllog_verify(anchors=[first_anchor, gone])
    assert (report.problem, report.first_broken_id, report.rows_checked) == (
        "anchor_missing", rows[2].pk, 1)
    assert "logged outside the database at B as the chain head" in report.reason
    del gone["at"]
    assert "logged outside the database at ? as" in calllog_verify(anchors=[gone]).reason


def test_models_describe_themselves(db):
    verification = CallLogVerification.objects.create(rows_total=0)
    assert str(verification) == f"verification {verification.pk} (queued)"
    assert (verification.done, verification.percent) == (False, 0)
    verification.rows_total, verification.rows_checked = 3, 3
    assert verification.percent == 99  # not done yet: never 100 %
    row = _rows(1)[0]
    assert row.get_absolute_url() == f"/admin/questionbank/calllog/{row.pk}/change/"
    assert str(row) == f"Call {row.pk} to e (Success)"
    stat = CallLogStat.objects.filter(span="hour", dimension="endpoint").get()
    assert str(stat) == f"hour {stat.start:%Y-%m-%d %H:%M} endpoint e"
