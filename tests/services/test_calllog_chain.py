"""The call-log hash chain, exhaustively: every stored column tampered one at a time, the
newest rows deleted, chunk boundaries, and every secret-bearing header name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from questionbank.models import CallLog, CallLogChainHead
from questionbank.services import calllogs
from questionbank.services.calllogs import (
    GENESIS_HASH,
    HASHED_FIELDS,
    REDACTED,
    ChainReport,
    calllog_purge,
    calllog_record,
    calllog_verify,
    redact_headers,
    row_hash,
)
from tests import factories

# Every stored column but the id and the hash itself, spelled out here rather than read from
# HASHED_FIELDS: a column dropped from the hash must fail a test below.
COLUMNS = (
    "created_at", "endpoint_id", "endpoint_name", "protocol", "method", "url", "route",
    "server_version", "request_headers", "request_body", "response_status", "response_body",
    "response_size", "outcome", "error_class", "error_message", "retryable", "latency_ms",
    "prompt_tokens", "completion_tokens", "attempt", "sanitize_report", "job_id", "batch_id",
    "problem_id", "problem_version", "template_id", "user_id",
)


def _tampered(name: str, value):
    """A different value of the same type for column ``name``."""
    if name == "created_at":
        return value + timedelta(microseconds=1)
    if name.endswith("_id"):
        return None  # the links are nullable: an unlinked row is a different row
    if name == "outcome":
        return CallLog.Outcome.SUCCESS if value == CallLog.Outcome.ERROR else \
            CallLog.Outcome.ERROR
    if name == "retryable":
        return not value
    if name in {"request_headers", "sanitize_report"}:
        return {**value, "added": "x"}
    if isinstance(value, int):
        return value + 1
    return value[:-1] + ("y" if value.endswith("x") else "x")


def _full_row(**overrides):
    """A row with every column set (links included), as the pipeline writes them."""
    owner = factories.make_teacher()
    values = {
        "owner": owner, "route": "/call/chat", "server_version": "5.1.0",
        "outcome": CallLog.Outcome.ERROR, "error_class": "TimedOut",
        "error_message": "The server went silent.", "retryable": True, "attempt": 2,
        "response_size": 1234, "sanitize_report": {"user": {"removed": {"bidi": 1}}},
    }
    return factories.make_call_log(**(values | overrides))


def test_the_columns_listed_here_are_every_stored_column():
    stored = {f.attname for f in CallLog._meta.concrete_fields} - {"id", "row_hash"}
    assert stored == set(COLUMNS) | {"prev_hash"}
    assert set(HASHED_FIELDS) == stored


@pytest.mark.parametrize("name", COLUMNS)
def test_each_column_tampered_alone_breaks_the_chain_at_that_row(db, name):
    before = _full_row()
    victim = _full_row()
    after = _full_row()
    original = getattr(victim, name)
    assert original is not None and original != "", f"the fixture row leaves {name} empty"
    CallLog.objects.filter(pk=victim.pk).update(**{name: _tampered(name, original)})
    report = calllog_verify()
    assert report == ChainReport(
        False, 1, victim.pk, "its content does not match its hash (the row was edited).",
        "edited")
    assert str(report) == (f"The call log is broken at row {victim.pk}: its content does not "
                           "match its hash (the row was edited).")
    assert before.pk < victim.pk < after.pk


def test_a_relabelled_failure_is_caught(db):
    victim = _full_row(outcome=CallLog.Outcome.ERROR)
    CallLog.objects.filter(pk=victim.pk).update(outcome=CallLog.Outcome.SUCCESS,
                                                error_class="", error_message="")
    assert not calllog_verify().ok


def test_a_rewritten_link_is_caught_even_with_a_matching_hash(db):
    first = _full_row()
    victim = _full_row()
    victim.prev_hash = "f" * 64
    CallLog.objects.filter(pk=victim.pk).update(prev_hash=victim.prev_hash,
                                                row_hash=row_hash(victim))
    report = calllog_verify()
    assert (report.ok, report.rows_checked, report.first_broken_id) == (False, 1, victim.pk)
    assert report.reason == ("its link to the previous row does not match (a row before it "
                             "was removed or changed).")
    assert first.prev_hash == GENESIS_HASH


def test_a_rehashed_row_breaks_the_link_of_the_next(db):
    _full_row()
    victim = _full_row()
    after = _full_row()
    victim.response_body = "forged"
    CallLog.objects.filter(pk=victim.pk).update(response_body="forged",
                                                row_hash=row_hash(victim))
    report = calllog_verify()
    assert (report.ok, report.rows_checked, report.first_broken_id) == (False, 2, after.pk)
    assert "link" in report.reason


@pytest.mark.parametrize("deleted", [1, 2, 3])
def test_deleting_the_newest_rows_is_caught(db, deleted):
    rows = [calllog_record(endpoint_name="e", protocol="gradio", response_body=str(n))
            for n in range(4)]
    CallLog.objects.filter(pk__in=[r.pk for r in rows[-deleted:]]).delete()
    report = calllog_verify()
    assert report == ChainReport(
        False, 4 - deleted, rows[-1].pk,
        "the newest rows were removed (the chain head points past them).", "truncated")


def test_deleting_every_row_is_caught(db):
    rows = [calllog_record(endpoint_name="e", protocol="gradio") for _ in range(2)]
    CallLog.objects.all().delete()
    report = calllog_verify()
    assert (report.ok, report.rows_checked, report.first_broken_id) == (False, 0, rows[-1].pk)


def test_an_empty_log_without_a_head_is_intact(db):
    assert calllog_verify() == ChainReport(True, 0)
    assert str(calllog_verify()) == "The call log is intact: 0 rows checked."
    # Large counts are grouped in thousands, as the admin's own figures are.
    assert str(ChainReport(True, 1_000_000)) == "The call log is intact: 1,000,000 rows checked."


def test_the_head_follows_every_append(db):
    rows = [calllog_record(endpoint_name="e", protocol="gradio") for _ in range(3)]
    head = CallLogChainHead.objects.get(id=1)
    assert (head.last_id, head.last_hash) == (rows[-1].pk, rows[-1].row_hash)
    assert [r.prev_hash for r in rows] == [GENESIS_HASH, rows[0].row_hash, rows[1].row_hash]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5])
def test_chunk_boundaries_neither_skip_nor_repeat_rows(db, chunk_size):
    rows = [calllog_record(endpoint_name="e", protocol="gradio", response_body=str(n))
            for n in range(5)]
    assert calllog_verify(chunk_size=chunk_size) == ChainReport(True, 5)
    CallLog.objects.filter(pk=rows[3].pk).update(response_body="x")
    assert calllog_verify(chunk_size=chunk_size).first_broken_id == rows[3].pk


def test_verification_starts_at_the_newest_checkpoint(db):
    old = [calllog_record(endpoint_name="e", protocol="gradio") for _ in range(3)]
    CallLog.objects.filter(pk__in=[r.pk for r in old]).update(
        created_at=timezone.now() - timedelta(days=10))
    kept = [calllog_record(endpoint_name="e", protocol="gradio") for _ in range(2)]
    # The purge's own update of created_at broke those rows' hashes; the purge removes them.
    result = calllog_purge(older_than=timezone.now() - timedelta(days=5))
    assert result.rows == 3
    assert calllog_verify() == ChainReport(True, 2)
    CallLog.objects.filter(pk=kept[0].pk).update(response_body="x")
    assert calllog_verify().first_broken_id == kept[0].pk


def test_the_hash_changes_with_the_time_zone_free_instant_only(db):
    row = calllog_record(endpoint_name="e", protocol="gradio")
    stored = CallLog.objects.get(pk=row.pk)
    assert row_hash(stored) == row.row_hash
    assert len(row.row_hash) == 64 and row.row_hash != row.prev_hash


def test_row_is_stored_as_hashed_and_reads_back_the_same(db):
    row = _full_row(request_body={"data": ["ü", 1]}, response_body="a\x00b",
                    url="http://x/\x00", error_message="e\x00")
    stored = CallLog.objects.get(pk=row.pk)
    assert stored.request_body == '{"data": ["ü", 1]}'
    assert (stored.response_body, stored.url, stored.error_message) == (
        "a\ufffdb", "http://x/\ufffd", "e\ufffd")
    assert stored.response_size == 1234
    assert calllog_verify().ok


def test_response_size_defaults_to_the_stored_body_in_bytes(db):
    row = calllog_record(endpoint_name="e", protocol="gradio", response_body="ü€")
    assert row.response_size == len("ü€".encode())
    assert calllog_record(endpoint_name="e", protocol="gradio", response_body="",
                          response_size=0).response_size == 0


def test_long_values_are_cut_to_their_columns(db):
    row = calllog_record(endpoint_name="n" * 150, protocol="gradio", url="u" * 1500,
                         route="r" * 40, server_version="v" * 60, error_class="c" * 70)
    stored = CallLog.objects.get(pk=row.pk)
    assert (len(stored.endpoint_name), len(stored.url), len(stored.route),
            len(stored.server_version), len(stored.error_class)) == (100, 1000, 30, 50, 60)
    assert calllog_verify().ok


def test_endpoint_name_and_protocol_default_to_the_endpoints(db):
    endpoint = factories.make_endpoint(protocol="openai")
    row = calllog_record(endpoint=endpoint)
    assert (row.endpoint_name, row.protocol) == (endpoint.name, "openai")
    bare = calllog_record()
    assert (bare.endpoint_name, bare.protocol, bare.method, bare.attempt) == ("", "", "POST", 1)
    assert bare.sanitize_report == {} and bare.outcome == CallLog.Outcome.SUCCESS


SECRET_HEADERS = ("Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "Api-Key",
                  "Proxy-Authorization")


@pytest.mark.parametrize("name", SECRET_HEADERS)
@pytest.mark.parametrize("spelling", [str, str.lower, str.upper])
def test_every_secret_header_is_redacted_in_any_case(name, spelling):
    headers = {spelling(name): "s3cret", "Accept": "application/json", "X-Trace": None}
    assert redact_headers(headers) == {spelling(name): REDACTED, "Accept": "application/json",
                                       "X-Trace": ""}


def test_redact_headers_keeps_other_values_and_handles_none():
    assert redact_headers(None) == {}
    assert redact_headers({"X-N": 5, "X-Nul": "a\x00"}) == {"X-N": "5", "X-Nul": "a\ufffd"}


@pytest.mark.parametrize("name", SECRET_HEADERS)
def test_no_secret_header_reaches_the_database(db, name):
    row = calllog_record(endpoint_name="e", protocol="gradio",
                         request_headers={name.lower(): "sk-live-123"})
    stored = CallLog.objects.get(pk=row.pk)
    assert stored.request_headers == {name.lower(): REDACTED}


def test_clean_text_replaces_nul_and_turns_none_into_empty():
    assert calllogs._clean_text(None) == ""
    assert calllogs._clean_text(0) == "0"
    assert calllogs._clean_text("a\x00\x00b") == "a\ufffd\ufffdb"
