"""No 500 on bad input (issue 14, defect 11): every request of the hostile run's list
gets a 4xx or a form error with a sentence."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from questionbank.models import Problem, Solution
from tests import factories
from tests.review_helpers import make_solution

pytestmark = pytest.mark.django_db

NUL, SUP2 = "%00", "%C2%B2"  # "²": str.isdigit() says yes, int() says no


@pytest.fixture
def world(teacher):
    solution = make_solution()
    log = factories.make_call_log(owner=teacher)
    return {"solution": solution, "problem": solution.problem, "log": log}


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def _explained(response) -> str:
    """The sentence the person sees: a 400 page's message, or the form's errors."""
    text = response.content.decode()
    assert response.status_code < 500, text[:3000]
    return text


def _assert_4xx_with_sentence(response, *fragments: str):
    text = _explained(response)
    assert 400 <= response.status_code < 500, (response.status_code, text[:2000])
    for fragment in fragments:
        assert fragment in text, text[:3000]


def test_anonymous_browse_with_nul_tag():
    response = _client(None).get(f"/browse/problems/?tag={NUL}")
    _assert_4xx_with_sentence(response, "NUL character", "“tag”")


@pytest.mark.parametrize("who", ["teacher", "admin"])
@pytest.mark.parametrize("path", [
    "/teach/problems/", "/teach/review/", "/teach/templates/", "/teach/batches/",
    "/admin/questionbank/problem/", "/admin/questionbank/calllog/",
    "/admin/questionbank/solution/", "/browse/problems/",
])
@pytest.mark.parametrize("param", ["q", "tag"])
def test_nul_in_search_and_tag_filters(world, teacher, admin_user, who, path, param):
    user = teacher if who == "teacher" else admin_user
    response = _client(user).get(f"{path}?{param}={NUL}")
    _assert_4xx_with_sentence(response, "NUL character")


@pytest.mark.parametrize("who", ["teacher", "admin"])
def test_generate_with_a_superscript_digit(world, teacher, admin_user, who):
    user = teacher if who == "teacher" else admin_user
    response = _client(user).get(f"/teach/generate/?problems=1,{SUP2}")
    _assert_4xx_with_sentence(response, "is not a number")


def test_history_with_a_superscript_digit(world, teacher):
    url = reverse("teacher:solution-history", args=[world["solution"].pk])
    response = _client(teacher).get(f"{url}?a={SUP2}", follow=True)
    text = _explained(response)
    assert "That revision does not exist" in text


def test_revert_to_a_superscript_number(world, teacher):
    url = reverse("teacher:solution-revert", args=[world["solution"].pk])
    response = _client(teacher).post(url, {"number": "²"}, follow=True)
    assert "Choose a revision to go back to" in _explained(response)


@pytest.mark.parametrize("query", [
    "since=2026-13-45", "until=9999-12-31", f"job={SUP2}", f"user={NUL}",
    "until=2026-02-30", "since=0000-01-01", f"problem={SUP2}", f"batch={SUP2}",
    f"template={SUP2}", "job=99999999999999999999999", "problem=-1",
])
def test_call_log_filters(world, admin_user, query):
    response = _client(admin_user).get(f"/admin/questionbank/calllog/?{query}")
    text = _explained(response)
    if "since=2026-13-45" in query or "2026-02-30" in query or "0000" in query:
        assert "is not a date" in text


def test_call_log_detail_with_a_superscript_id(admin_user):
    response = _client(admin_user).get(f"/admin/questionbank/calllog/{SUP2}/change/")
    assert response.status_code == 404


def test_job_calls_with_a_huge_id(teacher):
    response = _client(teacher).get("/teach/jobs/99999999999999999999999/calls/")
    assert response.status_code == 404


def test_nul_in_a_bulk_tag_is_refused(world, teacher):
    response = _client(teacher).post(reverse("teacher:problem-bulk"), {
        "action": "tag", "problems": [world["problem"].pk], "tags": "alge\x00bra"})
    _assert_4xx_with_sentence(response, "NUL character", "“tags”")
    assert not world["problem"].tags.exists()


def test_nul_in_a_reject_reason_is_refused(world, teacher):
    solution = world["solution"]
    response = _client(teacher).post(
        reverse("teacher:solution-transition", args=[solution.pk]),
        {"target": "rejected", "reason": "wrong\x00"})
    _assert_4xx_with_sentence(response, "NUL character", "“reason”")
    solution.refresh_from_db()
    assert solution.status == Solution.Status.DRAFT


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"])
def test_test_cases_with_unstorable_escapes_are_a_form_error(teacher, escape):
    cases = '[{"input": "1 2' + escape + '", "output": "3"}]'
    response = _client(teacher).post(reverse("teacher:problem-create"), {
        "title": "Sum", "kind": "programming", "statement": "Add two numbers.",
        "difficulty": 2, "status": "draft", "tags": "", "test_cases": cases,
        "reference_answer": "", "source": "", "language": "python"})
    text = _explained(response)
    assert response.status_code == 200 and "Test cases" in text
    assert ("NUL character" in text) if escape == "\\u0000" else ("broken character" in text)
    assert not Problem.objects.filter(title="Sum").exists()


def _json_file(statement: str) -> bytes:
    return json.dumps([{"title": "Odd", "kind": "maths", "statement": statement}]).encode()


def test_json_import_with_a_lone_surrogate_upload(teacher):
    upload = SimpleUploadedFile("bad.json", _json_file("x \ud800 y"),
                                content_type="application/json")
    response = _client(teacher).post(reverse("teacher:import"), {"file": upload,
                                                                 "format": ""})
    text = _explained(response)
    assert "broken character" in text
    assert not Problem.objects.filter(title="Odd").exists()


def test_json_import_command_with_a_lone_surrogate(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(_json_file("x \ud800 y"))
    with pytest.raises(CommandError, match="broken character"):
        call_command("import_problems", str(path), stdout=io.StringIO())
    assert not Problem.objects.filter(title="Odd").exists()
