"""Export round-trips, retention purge with checkpoints, the purge schedule."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from questionbank import selectors
from questionbank.models import CallLog, CallLogCheckpoint, Solution
from questionbank.services import calllog_export as export_module
from questionbank.services import calllogs
from questionbank.services.calllog_export import EXPORT_FIELDS, calllog_export
from questionbank.services.calllogs import calllog_purge, calllog_verify
from tests import factories

AWKWARD = 'He said "no", then\nleft;\r\nnext line\rcarriage, tab\t, ünïcödé ✓ 数学 🙂 =1+1'


def _db_values(row: CallLog) -> dict:
    values = {name: getattr(row, name) for name in EXPORT_FIELDS}
    values["created_at"] = row.created_at.astimezone(UTC).isoformat(timespec="microseconds")
    return values


def _csv_value(name: str, text: str, sample):
    if sample is None:
        return None if text == "" else text
    if isinstance(sample, bool):
        return text == "true"
    if isinstance(sample, int):
        return int(text)
    if isinstance(sample, dict | list):
        return json.loads(text)
    return text


@pytest.fixture
def awkward_rows(teacher):
    return [
        factories.make_call_log(owner=teacher, error_message=AWKWARD, request_body=AWKWARD,
                                response_body=AWKWARD, outcome=CallLog.Outcome.ERROR,
                                error_class="ServerReportedError", retryable=False,
                                request_headers={"X-Note": AWKWARD, "Authorization": "x"},
                                sanitize_report={"user": {"changed": True, "note": AWKWARD}}),
        factories.make_call_log(linked=False, response_body="", request_body="",
                                latency_ms=None, prompt_tokens=None, completion_tokens=None,
                                response_status=None, retryable=True),
        factories.make_call_log(owner=teacher, response_body="\x00nul\x00 and \ufffd"),
    ]


def test_csv_round_trip(awkward_rows):
    text = "".join(calllog_export(queryset=CallLog.objects.all(), fmt="csv"))
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [int(r["id"]) for r in rows] == [r.pk for r in awkward_rows]
    for parsed, row in zip(rows, awkward_rows, strict=True):
        row.refresh_from_db()
        expected = _db_values(row)
        for name in EXPORT_FIELDS:
            assert _csv_value(name, parsed[name], expected[name]) == expected[name], name
    assert rows[0]["error_message"] == AWKWARD
    assert "\x00" not in text


def test_jsonl_round_trip(awkward_rows):
    chunks = list(calllog_export(queryset=CallLog.objects.all(), fmt="jsonl"))
    lines = "".join(chunks).split("\n")
    assert lines[-1] == ""
    records = [json.loads(line) for line in lines[:-1]]
    assert len(records) == len(awkward_rows)
    for record, row in zip(records, awkward_rows, strict=True):
        row.refresh_from_db()
        assert record == _db_values(row)
    assert records[0]["request_headers"]["Authorization"] == "[redacted]"
    assert records[0]["sanitize_report"]["user"]["note"] == AWKWARD


def test_export_streams_in_pieces_and_counts(monkeypatch, db):
    for _ in range(30):
        factories.make_call_log(linked=False, response_body="y" * 5000)
    monkeypatch.setattr(export_module, "_EXPORT_BUFFER_CHARS", 20_000)
    tally = {}
    chunks = list(calllog_export(queryset=CallLog.objects.all(), fmt="csv", chunk_size=7,
                                 tally=tally))
    assert len(chunks) > 5 and tally["rows"] == 30
    with pytest.raises(ValueError, match="Unknown export format"):
        list(calllog_export(queryset=CallLog.objects.all(), fmt="xml"))


def test_export_of_empty_selection(db):
    assert "".join(calllog_export(queryset=CallLog.objects.none(), fmt="csv")).startswith("id,")
    assert list(calllog_export(queryset=CallLog.objects.all(), fmt="jsonl")) == []


def _rows_at(monkeypatch, moments):
    rows = []
    for moment in moments:
        monkeypatch.setattr(timezone, "now", lambda m=moment: m)
        rows.append(factories.make_call_log(linked=False))
    monkeypatch.undo()
    return rows


def test_purge_then_verify_passes(monkeypatch, db):
    now = timezone.now()
    rows = _rows_at(monkeypatch, [now - timedelta(days=d) for d in (200, 150, 100, 10, 1)])
    cutoff = now - timedelta(days=90)
    dry = calllog_purge(older_than=cutoff, dry_run=True)
    assert (dry.rows, dry.through_id, dry.dry_run) == (3, rows[2].pk, True)
    assert CallLog.objects.count() == 5 and not CallLogCheckpoint.objects.exists()

    result = calllog_purge(older_than=cutoff, created_by="test", chunk_size=1)
    assert (result.rows, result.through_id) == (3, rows[2].pk)
    assert "Removed 3 call-log rows" in str(result)
    assert list(CallLog.objects.order_by("id").values_list("id", flat=True)) == [
        rows[3].pk, rows[4].pk]
    checkpoint = CallLogCheckpoint.objects.get()
    assert checkpoint.last_hash == rows[2].row_hash and checkpoint.rows_purged == 3
    report = calllog_verify()
    assert report.ok and report.rows_checked == 2

    # Again: nothing more to do; later rows keep chaining.
    assert calllog_purge(older_than=cutoff).rows == 0
    newest = factories.make_call_log(linked=False)
    assert calllog_verify().ok
    # The chain still catches an edit after a purge.
    CallLog.objects.filter(pk=newest.pk).update(error_message="edited")
    report = calllog_verify()
    assert not report.ok and report.first_broken_id == newest.pk


def test_purge_everything_and_a_second_checkpoint(monkeypatch, db):
    now = timezone.now()
    first = _rows_at(monkeypatch, [now - timedelta(days=d) for d in (300, 200)])
    calllog_purge(older_than=now - timedelta(days=250))
    later = _rows_at(monkeypatch, [now - timedelta(days=d) for d in (120, 100)])
    result = calllog_purge(older_than=now)
    assert result.rows == 3 and result.through_id == later[-1].pk
    assert not CallLog.objects.exists()
    assert CallLogCheckpoint.objects.count() == 2
    assert calllog_verify().ok
    assert first[0].pk < later[0].pk
    factories.make_call_log(linked=False)
    assert calllog_verify().ok


def test_purge_unlinks_solutions_and_edits_before_purge_do_not_matter(monkeypatch, teacher):
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now - timedelta(days=100))
    old = factories.make_call_log(owner=teacher)
    monkeypatch.undo()
    solution = Solution.objects.create(problem=old.problem, job=old.job, call_log=old)
    CallLog.objects.filter(pk=old.pk).update(error_message="tampered before the purge")
    keep = factories.make_call_log(linked=False)
    calllog_purge(older_than=now - timedelta(days=90))
    solution.refresh_from_db()
    assert solution.call_log_id is None
    assert calllog_verify().ok
    assert CallLog.objects.get().pk == keep.pk


def test_purge_that_stopped_part_way_is_finished_by_the_next(monkeypatch, db):
    now = timezone.now()
    rows = _rows_at(monkeypatch, [now - timedelta(days=d) for d in (200, 150, 1)])
    original = calllogs._delete_through
    monkeypatch.setattr(calllogs, "_delete_through", lambda last_id, chunk: None)  # "crash"
    calllog_purge(older_than=now - timedelta(days=90))
    assert CallLog.objects.count() == 3 and calllog_verify().ok  # old rows are ignored
    monkeypatch.setattr(calllogs, "_delete_through", original)
    assert calllog_purge(older_than=now - timedelta(days=90)).rows == 0
    assert list(CallLog.objects.values_list("id", flat=True)) == [rows[2].pk]
    assert calllog_verify().ok


def test_purge_due_uses_the_retention_setting(monkeypatch, settings, db):
    settings.QB_CALL_LOG_RETENTION_DAYS = 30
    now = timezone.now()
    _rows_at(monkeypatch, [now - timedelta(days=d) for d in (40, 20)])
    assert calllogs.calllog_purge_due().rows == 1
    assert CallLogCheckpoint.objects.get().created_by == "schedule"


def test_purge_schedule_exists_once(db):
    from django_q.models import Schedule

    assert Schedule.objects.filter(name=calllogs.PURGE_SCHEDULE_NAME).count() == 1
    calllogs.purge_schedule_ensure()
    schedule = Schedule.objects.get(name=calllogs.PURGE_SCHEDULE_NAME)
    assert schedule.func == calllogs.PURGE_FUNC and schedule.schedule_type == Schedule.DAILY
    from django.utils.module_loading import import_string

    assert callable(import_string(schedule.func))


def test_chain_position_of_first_middle_and_after_checkpoint(monkeypatch, db):
    now = timezone.now()
    rows = _rows_at(monkeypatch, [now - timedelta(days=d) for d in (200, 2, 1)])
    first = selectors.calllog_chain_position(row=rows[0])
    assert first["ok"] and first["prev_source"] == "the start of the chain"
    assert first["next"].pk == rows[1].pk
    calllog_purge(older_than=now - timedelta(days=90))
    after = selectors.calllog_chain_position(row=CallLog.objects.get(pk=rows[1].pk))
    assert after["ok"] and "checkpoint" in after["prev_source"]
    CallLog.objects.filter(pk=rows[2].pk).update(prev_hash="f" * 64)
    broken = selectors.calllog_chain_position(row=CallLog.objects.get(pk=rows[1].pk))
    assert not broken["ok"] and not broken["next_ok"]


def test_error_classes_are_distinct_and_sorted(db):
    for cls in ("TimedOut", "ConnectFailed", "TimedOut", ""):
        factories.make_call_log(linked=False, error_class=cls,
                                outcome="error" if cls else "success")
    assert selectors.calllog_error_classes() == ["ConnectFailed", "TimedOut"]


def test_stats_percentiles_match_on_every_database(db):
    for latency in (100, 200, 300, 400, 1000):
        factories.make_call_log(linked=False, latency_ms=latency)
    total = selectors.calllog_stats(period="week")["total"]
    # From the pre-aggregated histogram: within 1 % of percentile_cont over the rows.
    assert total.p50_ms == pytest.approx(300, rel=0.01)
    assert total.p95_ms == pytest.approx(880, rel=0.01)
