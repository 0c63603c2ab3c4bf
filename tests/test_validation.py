"""questionbank.validation, and property tests (Hypothesis) over query strings and form
fields against the real views: no input yields a 500 (issue 14, defect 11)."""

from __future__ import annotations

from urllib.parse import quote_from_bytes

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from questionbank import validation
from questionbank.forms import ProblemBulkForm
from tests import factories
from tests.review_helpers import make_solution

# Bounded: each property runs against the real views, through the whole middleware stack.
PROPERTY = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
PARAMS = ["q", "tag", "kind", "difficulty", "status", "page", "sort", "per_page", "pos",
          "problems", "a", "b", "since", "until", "job", "user", "batch", "problem",
          "template", "endpoint", "outcome", "o", "p", "print", "solutions", "period"]
url_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)
tricky = st.sampled_from(["\x00", "²", "-1", "0", "9" * 30, "2026-13-45", "9999-12-31",
                          "0000-01-01", "1e9", " 7 ", "#3", "١٢", "", "%", "\ufeff"])
value = st.one_of(url_text, tricky)


@given(st.text(max_size=40))
def test_parse_int_accepts_only_plain_ascii_numbers(text):
    number = validation.parse_int(text)
    core = text.strip().removeprefix("#")
    if core.isascii() and core.isdigit() and int(core) <= validation.MAX_ID:
        assert number == int(core)
    else:
        assert number is None


@given(st.text(max_size=30), st.booleans())
def test_parse_moment_returns_or_explains(text, end):
    try:
        validation.parse_moment(text, end=end)
    except ValidationError as exc:
        assert "is not a date" in exc.messages[0]


def test_parse_moment_edges():
    assert validation.parse_moment("9999-12-31", end=True) is None  # no upper bound
    assert validation.parse_moment("2026-03-31", end=True).day == 1
    for bad in ("2026-13-45", "2026-02-30", "0000-01-01", "yesterday"):
        with pytest.raises(ValidationError, match="is not a date"):
            validation.parse_moment(bad)


@given(st.text(max_size=20))
def test_clean_text_refuses_exactly_nul_and_lone_surrogates(text):
    unstorable = any(ch == "\x00" or "\ud800" <= ch <= "\udfff" for ch in text)
    if unstorable:
        with pytest.raises(ValidationError):
            validation.clean_text(text)
    else:
        assert validation.clean_text(text) == text


def test_clean_data_names_where():
    with pytest.raises(ValidationError, match=r"Item 2 at cases\[1\]\.input contains a NUL"):
        validation.clean_data({"cases": [{"input": "ok"}, {"input": "a\x00"}]}, label="Item 2")


def test_parse_int_list():
    assert validation.parse_int_list(["3,1", " 3 ,#7", ""]) == [3, 1, 7]
    with pytest.raises(validation.InvalidInput, match="“²” in problems is not a number"):
        validation.parse_int_list(["1,²"])


@pytest.fixture
def pages(teacher, admin_user):
    solution = make_solution()
    factories.make_call_log(owner=teacher)
    history = reverse("teacher:solution-history", args=[solution.pk])
    teacher_pages = ["/browse/problems/", "/browse/tags/", "/teach/problems/", "/teach/review/",
                     "/teach/templates/", "/teach/batches/", "/teach/generate/", history,
                     f"/browse/problems/{solution.problem.pk}/", "/teach/export/"]
    admin_pages = ["/admin/questionbank/calllog/", "/admin/questionbank/problem/",
                   "/admin/questionbank/solution/", "/admin/questionbank/generationjob/",
                   "/admin/questionbank/calllog/statistics/"]
    teacher_client = Client(raise_request_exception=False)
    teacher_client.force_login(teacher)
    admin_client = Client(raise_request_exception=False)
    admin_client.force_login(admin_user)
    return [(teacher_client, p) for p in teacher_pages] + [(admin_client, p) for p in admin_pages]


def _no_500(response, what):
    assert response.status_code < 500, (what, response.content.decode()[:1500])


@pytest.mark.django_db
@PROPERTY
@given(query=st.dictionaries(st.sampled_from(PARAMS), value, max_size=4))
def test_no_query_string_yields_a_500(pages, query):
    for client, path in pages:
        _no_500(client.get(path, query), (path, query))


@pytest.mark.django_db
@PROPERTY
@given(raw=st.binary(max_size=24), name=st.sampled_from(PARAMS))
def test_no_raw_bytes_in_a_query_string_yield_a_500(pages, raw, name):
    for client, path in pages:
        _no_500(client.get(f"{path}?{name}={quote_from_bytes(raw)}"), (path, name, raw))


@pytest.mark.django_db
@PROPERTY
@given(title=value, statement=value, tags=value, cases=value, difficulty=value)
def test_no_problem_form_input_yields_a_500(teacher_client, title, statement, tags, cases,
                                            difficulty):
    teacher_client.raise_request_exception = False
    response = teacher_client.post(reverse("teacher:problem-create"), {
        "title": title, "kind": "programming", "statement": statement or "x",
        "difficulty": difficulty, "status": "draft", "tags": tags, "test_cases": cases,
        "reference_answer": "", "source": "", "language": "python"})
    _no_500(response, (title, statement, tags, cases, difficulty))


@pytest.mark.django_db
@PROPERTY
@given(target=st.one_of(st.sampled_from(["rejected", "in_review", "published"]), value),
       reason=value, number=value)
def test_no_review_form_input_yields_a_500(teacher_client, target, reason, number):
    teacher_client.raise_request_exception = False
    solution = make_solution()
    response = teacher_client.post(
        reverse("teacher:solution-transition", args=[solution.pk]),
        {"target": target, "reason": reason})
    _no_500(response, (target, reason))
    response = teacher_client.post(reverse("teacher:solution-revert", args=[solution.pk]),
                                   {"number": number})
    _no_500(response, number)


@pytest.mark.django_db
def test_text_field_mixin_refuses_a_lone_surrogate_in_a_form():
    problem = factories.make_problem()
    form = ProblemBulkForm({"action": "tag", "problems": [problem.pk], "tags": "alg\ud800"})
    assert not form.is_valid()
    assert "broken character" in form.errors["tags"][0]
