"""export_call_logs, purge_call_logs and verify_call_log from the command line."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from questionbank.models import CallLog, CallLogCheckpoint
from tests import factories


def _run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _rows_at(monkeypatch, days_ago, **fields):
    now = timezone.now()
    rows = []
    for days in days_ago:
        monkeypatch.setattr(timezone, "now", lambda d=days: now - timedelta(days=d))
        rows.append(factories.make_call_log(linked=False, **fields))
    monkeypatch.undo()
    return rows


def test_export_to_stdout_with_filters(monkeypatch, teacher):
    old, recent = _rows_at(monkeypatch, [30, 1])
    failed = factories.make_call_log(owner=teacher, outcome="error", error_class="TimedOut",
                                     error_message='Timed "out",\nagain ✓')
    out, err = _run("export_call_logs", "--since", "7d", "--format", "jsonl")
    ids = [json.loads(line)["id"] for line in out.splitlines()]
    assert ids == [recent.pk, failed.pk] and "Exported 2 call-log rows" in err
    out, _ = _run("export_call_logs", "--error-class", "TimedOut")
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert [int(r["id"]) for r in rows] == [failed.pk]
    assert rows[0]["error_message"] == 'Timed "out",\nagain ✓'
    until = (timezone.localdate() - timedelta(days=10)).isoformat()
    out, _ = _run("export_call_logs", "--until", until, "--format", "jsonl")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [old.pk]
    out, _ = _run("export_call_logs", "--user", teacher.username, "--batch",
                  str(failed.batch_id), "--format", "jsonl")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [failed.pk]


def test_export_to_file(tmp_path, db):
    row = factories.make_call_log(linked=False, response_body="ünïcödé\r\nline")
    target = tmp_path / "calls.csv"
    _, err = _run("export_call_logs", "--output", str(target))
    with open(target, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["id"]) for r in rows] == [row.pk]
    assert rows[0]["response_body"] == "ünïcödé\r\nline"
    assert str(target) in err


@pytest.mark.parametrize("args, message", [
    (["--since", "last tuesday"], "is not a date"),
    (["--since", "2024-05-02", "--until", "2024-05-01"], "must be after"),
    (["--output", "/nonexistent-dir/x.csv"], "Could not write"),
])
def test_export_bad_input_says_what_to_do(db, args, message):
    with pytest.raises(CommandError, match=message):
        _run("export_call_logs", *args)


def test_purge_dry_run_then_real_then_verify(monkeypatch, db):
    _rows_at(monkeypatch, [200, 100, 5])
    out, _ = _run("purge_call_logs", "--dry-run")  # default: QB_CALL_LOG_RETENTION_DAYS (90)
    assert "Would remove 2 call-log rows" in out
    assert CallLog.objects.count() == 3
    out, _ = _run("purge_call_logs", "--older-than", "150d")
    assert "Removed 1 call-log rows" in out
    out, _ = _run("purge_call_logs")
    assert "Removed 1 call-log rows" in out
    assert CallLog.objects.count() == 1 and CallLogCheckpoint.objects.count() == 2
    assert "purge_call_logs" in CallLogCheckpoint.objects.first().created_by
    out, _ = _run("verify_call_log")
    assert "intact: 1 rows checked" in out
    out, _ = _run("purge_call_logs")
    assert "nothing to remove" in out


def test_purge_bad_duration(db):
    with pytest.raises(CommandError, match="is not a length of time"):
        _run("purge_call_logs", "--older-than", "ninety days")
    with pytest.raises(CommandError, match="is not a length of time"):
        _run("purge_call_logs", "--older-than", "0d")


def test_verify_exits_1_naming_the_edited_row(db):
    factories.make_call_log(linked=False)
    victim = factories.make_call_log(linked=False)
    factories.make_call_log(linked=False)
    out, _ = _run("verify_call_log")
    assert "intact: 3 rows" in out
    CallLog.objects.filter(pk=victim.pk).update(response_body="changed")
    with pytest.raises(CommandError) as info:
        _run("verify_call_log")
    assert info.value.returncode == 1
    assert f"broken at row {victim.pk}" in str(info.value)
