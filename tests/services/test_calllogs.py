from questionbank.models import CallLog
from questionbank.services.calllogs import GENESIS_HASH, calllog_record, calllog_verify


def _record(**kw):
    defaults = {"endpoint_name": "e", "protocol": "gradio", "url": "http://x/api/predict/",
                "request_body": {"data": ["hi"]}, "response_body": "ok", "latency_ms": 5}
    return calllog_record(**(defaults | kw))


def test_rows_chain_and_verify(db):
    first = _record()
    second = _record(response_body="two", sanitize_report={"removed": {"nul": 1}})
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.row_hash
    report = calllog_verify()
    assert report.ok and report.rows_checked == 2


def test_edited_row_is_detected(db):
    _record()
    victim = _record()
    _record()
    CallLog.objects.filter(pk=victim.pk).update(response_body="tampered")
    report = calllog_verify()
    assert not report.ok and report.first_broken_id == victim.pk
    assert "edited" in str(report)


def test_deleted_row_is_detected(db):
    _record()
    victim = _record()
    after = _record()
    CallLog.objects.filter(pk=victim.pk).delete()
    report = calllog_verify()
    assert not report.ok and report.first_broken_id == after.pk


def test_secret_headers_are_redacted_and_nul_removed(db):
    row = _record(request_headers={"Authorization": "Bearer sk-123", "Cookie": "a=b",
                                   "Accept": "application/json"},
                  response_body="a\x00b")
    row.refresh_from_db()
    assert row.request_headers["Authorization"] == "[redacted]"
    assert row.request_headers["Cookie"] == "[redacted]"
    assert "sk-123" not in str(row.__dict__)
    assert "\x00" not in row.response_body
    assert calllog_verify().ok
