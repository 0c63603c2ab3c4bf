"""The admin's "check now" (action and change-page button) against real stand-in servers."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from questionbank import webui
from questionbank.models import ModelEndpoint
from tests.factories import make_endpoint, make_teacher
from tests.servers.fault_server import refused_port
from tests.servers.fixtures import AUTH

CHANGELIST = "admin:questionbank_modelendpoint_changelist"


@pytest.fixture(autouse=True)
def _fresh_sessions():
    webui.forget_sessions()
    yield
    webui.forget_sessions()


def _messages(response):
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def test_action_stores_the_result_and_reports_it(admin_client, standins):
    permuted = make_endpoint(name="permuted", base_url=standins["permuted"])
    down = make_endpoint(name="down", base_url=f"http://127.0.0.1:{refused_port()}")
    response = admin_client.post(reverse(CHANGELIST), {
        "action": "check_now", "_selected_action": [permuted.pk, down.pk],
    }, follow=True)
    assert response.status_code == 200
    messages = dict((text.split(":", 1)[0], (level, text)) for level, text in
                    _messages(response))
    level, text = messages["permuted"]
    assert level == "success"
    assert "reachable in" in text and "protocol gradio" in text and "/predict" in text
    assert "user_input = #0 message" in text and "version " in text
    level, text = messages["down"]
    assert level == "error" and "refused the connection" in text
    permuted.refresh_from_db()
    assert permuted.parameter_layout["user_input"] == "#0 message"
    assert permuted.server_version and permuted.last_check_ok is True
    down.refresh_from_db()
    assert down.last_check_ok is False and down.last_checked_at is not None
    # The changelist shows the stored health.
    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "reachable" in page and "unreachable" in page


def test_change_page_button_checks_and_shows_the_layout(admin_client, standins):
    endpoint = make_endpoint(name="locked", base_url=standins["auth"], username=AUTH[0],
                             password=AUTH[1])
    change = reverse("admin:questionbank_modelendpoint_change", args=[endpoint.pk])
    page = admin_client.get(change).content.decode()
    check = reverse("admin:questionbank_modelendpoint_check", args=[endpoint.pk])
    assert f'action="{check}"' in page and "Check now" in page
    assert "not discovered yet" in page
    response = admin_client.post(check, follow=True)
    assert response.redirect_chain[-1][0] == change
    (level, text), = _messages(response)
    assert level == "success" and text.startswith("locked: reachable")
    page = response.content.decode()
    # The stored layout, readably: our field next to the server's parameter.
    assert "<th scope=\"row\">user_input</th><td>#1 user_input</td>" in page
    assert AUTH[1] not in page and AUTH[1] not in text


def test_check_reports_an_actionable_error_and_keeps_no_secret(admin_client, standins):
    endpoint = make_endpoint(name="locked", base_url=standins["auth"], username=AUTH[0],
                             password="wrong-Secret-11")
    check = reverse("admin:questionbank_modelendpoint_check", args=[endpoint.pk])
    response = admin_client.post(check, follow=True)
    (level, text), = _messages(response)
    assert level == "error" and text.startswith("locked: ")
    assert "password" in text.lower() and "wrong-Secret-11" not in text
    assert "wrong-Secret-11" not in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.parameter_layout == {}


def test_check_needs_post_and_change_permission(client, admin_client, db):
    endpoint = make_endpoint()
    check = reverse("admin:questionbank_modelendpoint_check", args=[endpoint.pk])
    assert admin_client.get(check).status_code == 405
    teacher = make_teacher("t-no-admin")
    teacher.is_staff = True
    teacher.save()
    client.force_login(teacher)
    assert client.post(check).status_code == 403
    assert ModelEndpoint.objects.get(pk=endpoint.pk).last_checked_at is None


def test_penalty_style_is_on_the_form(admin_client, db):
    endpoint = make_endpoint(protocol="openai")
    change = reverse("admin:questionbank_modelendpoint_change", args=[endpoint.pk])
    page = admin_client.get(change).content.decode()
    assert 'name="penalty_style"' in page and "llama.cpp" in page and "Ollama" in page


def _health_cell(page: str, name: str) -> str:
    row = page.split(f">{name}</a>", 1)[1].split("</tr>", 1)[0]
    return row.split('class="qb-health', 1)[1].split("</td>", 1)[0]


def test_the_health_column_gives_one_status_that_never_contradicts_itself(admin_client, db):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import make_call_log

    now = timezone.now()
    paused = make_endpoint(name="paused-one")
    ModelEndpoint.objects.filter(pk=paused.pk).update(
        last_checked_at=now - timedelta(hours=1), last_check_ok=True, consecutive_failures=3,
        paused_until=now + timedelta(minutes=2), last_error="refused the connection")
    used = make_endpoint(name="used-one")
    for _ in range(26):
        make_call_log(linked=False, endpoint=used)
    refused = make_endpoint(name="refused-one")
    ModelEndpoint.objects.filter(pk=refused.pk).update(
        last_checked_at=now - timedelta(hours=2), last_check_ok=True)
    make_call_log(linked=False, endpoint=refused, outcome="error",
                  error_class="ServerReportedError")
    checked = make_endpoint(name="checked-one")
    ModelEndpoint.objects.filter(pk=checked.pk).update(last_checked_at=now, last_check_ok=False)
    failing = make_endpoint(name="failing-one")
    ModelEndpoint.objects.filter(pk=failing.pk).update(consecutive_failures=1,
                                                       last_error="timed out")
    make_endpoint(name="fresh-one")
    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    cell = _health_cell(page, "paused-one")
    at = timezone.localtime(now + timedelta(minutes=2)).strftime("%H:%M")
    assert "paused after 3 failures in a row, next try at " + at in cell
    assert "refused the connection" in cell and "reachable" not in cell
    cell = _health_cell(page, "used-one")
    assert "working: last call succeeded" in cell and "not checked" not in cell
    assert "answering, but the last call" in _health_cell(page, "refused-one")
    assert "ServerReportedError" in _health_cell(page, "refused-one")
    assert "unreachable at the last check" in _health_cell(page, "checked-one")
    cell = _health_cell(page, "failing-one")
    assert "failing: the last call failed" in cell and "Last error: timed out" in cell
    assert "not used or checked yet" in _health_cell(page, "fresh-one")
    assert "Breaker" not in page  # merged into the one column
    change = admin_client.get(reverse("admin:questionbank_modelendpoint_change",
                                      args=[paused.pk])).content.decode()
    assert "paused after 3 failures in a row" in change
