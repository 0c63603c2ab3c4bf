"""The call log in the admin: who may see it, every page with awkward data, filters, export,
the tamper check."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from questionbank import selectors
from questionbank.models import CallLog
from questionbank.services.calllogs import calllog_verify
from tests import factories


@pytest.fixture
def auditor(db):
    user = factories.UserFactory(username="auditor", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="audit_calllog"))
    return user


@pytest.fixture
def viewer(db):
    """Staff with Django's ordinary view permission only: not enough for the call log."""
    user = factories.UserFactory(username="viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_calllog"))
    return user


@pytest.fixture
def call(teacher):
    return factories.make_call_log(owner=teacher)


@pytest.fixture
def edge_calls(teacher):
    """Calls with data that has broken pages before."""
    two_mb = '{"data": ["' + ("x" * (2 * 1024 * 1024)) + '"]}'
    return {
        "empty": factories.make_call_log(owner=teacher, response_body="", response_status=None,
                                         outcome=CallLog.Outcome.ERROR, error_class="EmptyReply",
                                         error_message="The server answered with nothing."),
        "huge": factories.make_call_log(owner=teacher, response_body=two_mb),
        "bad_bytes": factories.make_call_log(
            owner=teacher, response_body=b"ok \xff\xfe\xc3( end".decode("utf-8", "replace"),
            error_message="odd \udcff".encode("utf-8", "surrogateescape").decode("utf-8",
                                                                                 "replace")),
        "nul": factories.make_call_log(owner=teacher, response_body="a\x00b",
                                       request_body="prompt\x00with nul"),
        "unlinked": factories.make_call_log(linked=False, endpoint_name="", protocol="",
                                            request_headers={}, request_body="",
                                            sanitize_report={}, latency_ms=None,
                                            prompt_tokens=None, completion_tokens=None),
        "events": factories.make_call_log(
            owner=teacher,
            response_body='event: generating\ndata: ["par"]\n\nevent: complete\ndata: ["4"]\n\n',
            sanitize_report={"user": {"changed": True, "removed": {"nul": 2, "bidi": 1},
                                      "nfc_normalised": True}}),
    }


def _urls(row):
    return [
        reverse("admin:questionbank_calllog_changelist"),
        reverse("admin:questionbank_calllog_change", args=[row.pk]),
        reverse("admin:questionbank_calllog_history", args=[row.pk]),
        reverse("admin:questionbank_calllog_stats"),
        reverse("admin:questionbank_calllog_stats") + "?period=week",
        reverse("admin:questionbank_calllog_stats") + "?period=month",
        reverse("admin:questionbank_calllog_verify"),
        reverse("admin:questionbank_calllog_export", args=["csv"]),
        reverse("admin:questionbank_calllog_export", args=["jsonl"]),
        reverse("admin:questionbank_calllog_raw", args=[row.pk, "request"]),
        reverse("admin:questionbank_calllog_raw", args=[row.pk, "response"]),
    ]


# --- Access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_user", "auditor"])
def test_admins_and_auditors_see_every_page(client, request, call, who):
    client.force_login(request.getfixturevalue(who))
    for url in _urls(call):
        assert client.get(url).status_code == 200, url
    assert client.post(reverse("admin:questionbank_calllog_verify")).status_code == 302


@pytest.mark.parametrize("who", ["teacher", "viewer"])
def test_other_staff_are_refused_everywhere(client, request, call, who):
    client.force_login(request.getfixturevalue(who))
    for url in _urls(call):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("admin:questionbank_calllog_verify")).status_code == 403
    index = client.get(reverse("admin:index"))
    assert b"Call logs" not in index.content


@pytest.mark.parametrize("who", ["student", None])
def test_students_and_anonymous_go_to_the_login_page(client, request, call, who):
    if who:
        client.force_login(request.getfixturevalue(who))
    for url in _urls(call):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login/" in response["Location"]


def test_nobody_can_add_change_or_delete(admin_client, call):
    add = reverse("admin:questionbank_calllog_add")
    delete = reverse("admin:questionbank_calllog_delete", args=[call.pk])
    change = reverse("admin:questionbank_calllog_change", args=[call.pk])
    assert admin_client.get(add).status_code == 403
    assert admin_client.post(add, {"endpoint_name": "x"}).status_code == 403
    assert admin_client.get(delete).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    admin_client.post(change, {"endpoint_name": "changed"})
    assert CallLog.objects.get(pk=call.pk).endpoint_name == call.endpoint_name
    changelist = admin_client.get(reverse("admin:questionbank_calllog_changelist"))
    actions = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions
    assert "export_selected_csv" in actions
    response = admin_client.post(reverse("admin:questionbank_calllog_changelist"),
                                 {"action": "delete_selected", "_selected_action": [call.pk]})
    assert CallLog.objects.filter(pk=call.pk).exists()
    assert response.status_code in (200, 302)
    assert calllog_verify().ok


# --- Pages with awkward data --------------------------------------------------------------------


def test_every_page_answers_with_edge_data(admin_client, edge_calls):
    for name, row in edge_calls.items():
        for url in _urls(row):
            response = admin_client.get(url)
            assert response.status_code == 200, (name, url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)


def test_detail_shows_bodies_headers_links_and_chain(admin_client, call, edge_calls):
    response = admin_client.get(reverse("admin:questionbank_calllog_change", args=[call.pk]))
    html = response.content.decode()
    assert "sk-secret" not in html
    assert "[redacted]" in html and "never stored" in html
    assert "&quot;data&quot;: [\n" in html  # JSON indented
    assert call.problem.title in html and str(call.template) in html
    assert reverse("admin:questionbank_generationjob_change", args=[call.job_id]) in html
    assert "This row verifies" in html
    assert call.row_hash in html

    unlinked = admin_client.get(reverse("admin:questionbank_calllog_change",
                                        args=[edge_calls["unlinked"].pk])).content.decode()
    assert "Not linked to a job" in unlinked
    huge = admin_client.get(reverse("admin:questionbank_calllog_change",
                                    args=[edge_calls["huge"].pk])).content.decode()
    assert "Only the beginning is shown" in huge
    assert len(huge) < 1_000_000
    bad = admin_client.get(reverse("admin:questionbank_calllog_change",
                                   args=[edge_calls["bad_bytes"].pk])).content.decode()
    assert "could not be decoded" in bad
    events = admin_client.get(reverse("admin:questionbank_calllog_change",
                                      args=[edge_calls["events"].pk])).content.decode()
    assert "event stream" in events and "NUL character ×2" in events


def test_raw_body_is_the_whole_text(admin_client, edge_calls):
    row = edge_calls["huge"]
    response = admin_client.get(reverse("admin:questionbank_calllog_raw",
                                        args=[row.pk, "response"]))
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == row.response_body
    assert admin_client.get(reverse("admin:questionbank_calllog_raw",
                                    args=[row.pk, "headers"])).status_code == 404
    assert admin_client.get(reverse("admin:questionbank_calllog_raw",
                                    args=[999999, "request"])).status_code == 404


def test_missing_row_is_404(admin_client, db):
    assert admin_client.get(reverse("admin:questionbank_calllog_change",
                                    args=[424242])).status_code == 404
    assert admin_client.get("/admin/questionbank/calllog/abc/change/").status_code == 404


def test_list_reads_only_small_columns(admin_client, edge_calls, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:questionbank_calllog_changelist"))
    rows = list(response.context["cl"].result_list)
    assert len(rows) == len(edge_calls)
    deferred = rows[0].get_deferred_fields()
    assert {"request_body", "response_body", "request_headers", "sanitize_report",
            "error_message"} <= deferred


# --- Filters and search ---------------------------------------------------------------------------


def _listed(client, **params):
    response = client.get(reverse("admin:questionbank_calllog_changelist"), params)
    assert response.status_code == 200, response
    return {row.pk for row in response.context["cl"].result_list}


def test_filters(admin_client, teacher):
    other_teacher = factories.make_teacher("other")
    a = factories.make_call_log(owner=teacher)
    b = factories.make_call_log(owner=other_teacher, outcome=CallLog.Outcome.ERROR,
                                error_class="TimedOut", error_message="No answer in 600 s.")
    c = factories.make_call_log(job=a.job, attempt=2, outcome=CallLog.Outcome.ERROR,
                                error_class="ConnectFailed", error_message="Refused.")
    d = factories.make_call_log(linked=False)
    every = {a.pk, b.pk, c.pk, d.pk}
    assert _listed(admin_client) == every
    assert _listed(admin_client, endpoint__id__exact=a.endpoint_id) == {a.pk, c.pk}
    assert _listed(admin_client, endpoint__isnull="True") == {d.pk}
    assert _listed(admin_client, outcome__exact="error") == {b.pk, c.pk}
    assert _listed(admin_client, error_class="TimedOut") == {b.pk}
    assert _listed(admin_client, template=a.template_id) == {a.pk, c.pk}
    assert _listed(admin_client, template=b.template.name) == {b.pk}
    assert _listed(admin_client, batch=b.batch_id) == {b.pk}
    assert _listed(admin_client, batch="not a number") == set()
    assert _listed(admin_client, user="OTHER") == {b.pk}
    assert _listed(admin_client, user=teacher.pk) == {a.pk, c.pk}
    assert _listed(admin_client, problem=a.problem_id) == {a.pk, c.pk}
    assert _listed(admin_client, job=a.job_id) == {a.pk, c.pk}
    assert _listed(admin_client, outcome__exact="error", user="teacher") == {c.pk}
    # Search: problem title or error text.
    assert _listed(admin_client, q=b.problem.title) == {b.pk}
    assert _listed(admin_client, q="refused") == {c.pk}
    assert _listed(admin_client, q="nothing matches this") == set()


def test_date_range_filter(admin_client, monkeypatch):
    from datetime import datetime, timedelta

    from django.utils import timezone

    base = timezone.make_aware(datetime(2024, 3, 10, 12, 0))
    rows = []
    for day in range(3):
        monkeypatch.setattr(timezone, "now", lambda d=day: base + timedelta(days=d))
        rows.append(factories.make_call_log(linked=False))
    monkeypatch.undo()
    assert _listed(admin_client, since="2024-03-11") == {rows[1].pk, rows[2].pk}
    assert _listed(admin_client, until="2024-03-11") == {rows[0].pk, rows[1].pk}
    assert _listed(admin_client, since="2024-03-11", until="2024-03-11") == {rows[1].pk}
    assert _listed(admin_client, since="2024-03-11 13:00") == {rows[2].pk}
    response = admin_client.get(reverse("admin:questionbank_calllog_changelist"),
                                {"since": "yesterday-ish"})
    assert response.status_code == 200
    assert "is not a date" in response.content.decode()
    assert _listed(admin_client, since="2024-03-12", outcome__exact="success") == {rows[2].pk}


def test_filters_offer_no_dropdown_of_big_tables(admin_client, call):
    html = admin_client.get(reverse("admin:questionbank_calllog_changelist")).content.decode()
    assert 'name="user"' in html and 'name="batch"' in html and 'name="template"' in html
    sidebar = html.split('id="changelist-filter"')[1].split("</nav>")[0]
    for name in ("user", "batch", "template", "problem", "job"):
        assert f"?{name}=" not in sidebar and f"&amp;{name}=" not in sidebar
    assert call.problem.title not in sidebar and str(call.template) not in sidebar


def test_count_is_capped_and_estimated_past_the_cap(admin_client, monkeypatch, db):
    from django.db import connection

    for _ in range(4):
        factories.make_call_log(linked=False)
    monkeypatch.setattr(selectors.calllogs, "CALLLOG_COUNT_CAP", 2)
    count, estimated = selectors.calllog_count(CallLog.objects.all())
    assert estimated is (connection.vendor == "postgresql")
    assert count >= 3 if estimated else count == 4
    response = admin_client.get(reverse("admin:questionbank_calllog_changelist"))
    assert response.status_code == 200
    if estimated:
        assert "estimated" in response.content.decode()


# --- Export from the admin ---------------------------------------------------------------------


def test_export_button_carries_the_filters(admin_client, teacher):
    keep = factories.make_call_log(owner=teacher, outcome=CallLog.Outcome.ERROR,
                                   error_class="TimedOut", error_message='He said "no",\nthen ✓')
    factories.make_call_log(owner=teacher)
    changelist = admin_client.get(reverse("admin:questionbank_calllog_changelist"),
                                  {"outcome__exact": "error"}).content.decode()
    assert "export/csv/?outcome__exact=error" in changelist
    url = reverse("admin:questionbank_calllog_export", args=["csv"])
    response = admin_client.get(url, {"outcome__exact": "error"})
    assert response.streaming
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [int(r["id"]) for r in rows] == [keep.pk]
    assert rows[0]["error_message"] == 'He said "no",\nthen ✓'
    jsonl = admin_client.get(reverse("admin:questionbank_calllog_export", args=["jsonl"]),
                             {"q": keep.problem.title})
    lines = b"".join(jsonl.streaming_content).decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [keep.pk]
    assert admin_client.get(reverse("admin:questionbank_calllog_export",
                                    args=["xml"])).status_code == 404


def test_export_selected_action(admin_client, teacher):
    one = factories.make_call_log(owner=teacher)
    factories.make_call_log(owner=teacher)
    response = admin_client.post(reverse("admin:questionbank_calllog_changelist"),
                                 {"action": "export_selected_jsonl", "_selected_action": [one.pk]})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [one.pk]


# --- Tamper check --------------------------------------------------------------------------------


def _check_now(client, settings, capture):
    """Start a tamper check from the admin; the task runs in-process on commit."""
    settings.QB_TASKS_SYNC = True
    url = reverse("admin:questionbank_calllog_verify")
    with capture(execute=True):
        assert client.post(url).status_code == 302
    return client.get(url).content.decode()


def test_tamper_check_names_the_edited_row(admin_client, teacher, settings,
                                           django_capture_on_commit_callbacks):
    factories.make_call_log(owner=teacher)
    victim = factories.make_call_log(owner=teacher)
    factories.make_call_log(owner=teacher)
    html = _check_now(admin_client, settings, django_capture_on_commit_callbacks)
    assert "intact: 3 rows" in html and "3 rows checked; started by admin" in html
    listing = admin_client.get(reverse("admin:questionbank_calllog_changelist"))
    assert "Last tamper check: Intact," in listing.content.decode()
    CallLog.objects.filter(pk=victim.pk).update(latency_ms=1)
    html = _check_now(admin_client, settings, django_capture_on_commit_callbacks)
    assert f"broken at row {victim.pk}" in html and "Problem code: <code>edited</code>." in html
    assert reverse("admin:questionbank_calllog_change", args=[victim.pk]) in html
    detail = admin_client.get(reverse("admin:questionbank_calllog_change",
                                      args=[victim.pk])).content.decode()
    assert "does not verify" in detail and "was edited" in detail


def test_tamper_check_page_shows_progress_and_refreshes_while_running(admin_client, db):
    from questionbank.models import CallLogVerification

    url = reverse("admin:questionbank_calllog_verify")
    assert "has not been checked yet" in admin_client.get(url).content.decode()
    CallLogVerification.objects.create(status="running", rows_total=200, rows_checked=50)
    html = admin_client.get(url).content.decode()
    assert "Running: 50 of 200 rows checked." in html
    assert 'value="25"' in html and 'http-equiv="refresh"' in html
    assert " disabled>" in html  # no second check while one runs


def test_anchor_download_is_the_chain_head(admin_client, teacher):
    row = factories.make_call_log(owner=teacher)
    response = admin_client.get(reverse("admin:questionbank_calllog_anchor"))
    assert response["Content-Disposition"].startswith("attachment;")
    assert (response.json()["id"], response.json()["hash"]) == (row.pk, row.row_hash)
    html = admin_client.get(reverse("admin:questionbank_calllog_verify")).content.decode()
    assert row.row_hash in html


# --- Statistics -----------------------------------------------------------------------------------


def test_statistics_figures_and_chart(admin_client, teacher):
    ep = factories.make_endpoint(name="gpu-a")
    for latency, outcome, error_class in ((100, "success", ""), (200, "success", ""),
                                          (300, "error", "TimedOut"), (400, "error", "TimedOut")):
        factories.make_call_log(linked=False, endpoint=ep, endpoint_name="gpu-a",
                                latency_ms=latency, outcome=outcome, error_class=error_class,
                                completion_tokens=50 if outcome == "success" else None)
    factories.make_call_log(linked=False, endpoint_name="gpu-b", latency_ms=1000,
                            completion_tokens=100)
    stats = selectors.calllog_stats(period="day")
    by_name = {s.label: s for s in stats["endpoints"]}
    a = by_name["gpu-a"]
    assert (a.calls, a.errors) == (4, 2)
    assert a.error_rate == 0.5
    assert a.by_class == [("TimedOut", 2, 0.5)]
    assert a.p50_ms == pytest.approx(250, rel=0.01)
    assert a.p95_ms == pytest.approx(385, rel=0.01)
    assert a.tokens_per_second == pytest.approx(100 / 0.3)
    assert by_name["gpu-b"].tokens_per_second == pytest.approx(100)
    assert stats["total"].calls == 5
    assert sum(b["calls"] for b in stats["series"]) == 5
    html = admin_client.get(reverse("admin:questionbank_calllog_stats")).content.decode()
    assert "<svg" in html and 'class="err"' in html
    assert "<polyline" in html or "<circle" in html
    assert "gpu-a" in html and "TimedOut" in html and "50.0%" in html
    assert "cdn" not in html.lower() and "<script src=\"http" not in html


def test_statistics_with_no_calls(admin_client, db):
    for period in ("day", "week", "month", "bogus"):
        response = admin_client.get(reverse("admin:questionbank_calllog_stats"),
                                    {"period": period})
        assert response.status_code == 200
        assert "No calls in this period." in response.content.decode()


def test_pages_fetch_the_right_rows(admin_client, monkeypatch, db):
    from questionbank.admin.calllogs import CallLogAdmin

    rows = [factories.make_call_log(linked=False) for _ in range(5)]
    monkeypatch.setattr(CallLogAdmin, "list_per_page", 2)
    newest_first = [r.pk for r in reversed(rows)]
    for page, expected in ((1, newest_first[:2]), (2, newest_first[2:4]), (3, newest_first[4:])):
        response = admin_client.get(reverse("admin:questionbank_calllog_changelist"),
                                    {"p": page})
        assert [r.pk for r in response.context["cl"].result_list] == expected
