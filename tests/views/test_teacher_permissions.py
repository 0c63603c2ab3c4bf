"""Every teacher URL: anonymous users get the login page, students 403, teachers the page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.urls.resolvers import URLPattern

from questionbank.urls import teacher_patterns
from tests import factories
from tests.review_helpers import make_job, make_solution

pytestmark = pytest.mark.django_db


def _teacher_urls():
    """(name, url) for every route in the teacher namespace, with made-up ids."""
    urls = []
    for pattern in teacher_patterns:
        assert isinstance(pattern, URLPattern)
        kwargs = {}
        for name, converter in pattern.pattern.converters.items():
            kwargs[name] = 1 if converter.regex == "[0-9]+" else "token"
        urls.append((pattern.name, reverse(f"teacher:{pattern.name}", kwargs=kwargs)))
    return urls


TEACHER_URLS = _teacher_urls()


@pytest.mark.parametrize(("name", "url"), TEACHER_URLS, ids=[n for n, _ in TEACHER_URLS])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_users_are_sent_to_the_login_page(client, name, url, method):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("name", "url"), TEACHER_URLS, ids=[n for n, _ in TEACHER_URLS])
@pytest.mark.parametrize("method", ["get", "post"])
def test_students_are_refused(student_client, name, url, method):
    response = getattr(student_client, method)(url)
    assert response.status_code == 403


def test_staff_without_the_teacher_group_is_refused(client):
    user = factories.UserFactory(username="clerk", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("teacher:review-queue")).status_code == 403


@pytest.fixture
def objects(teacher):
    template = factories.make_template()
    problem = factories.make_problem()
    job = make_job(problem=problem, template=template, user=teacher)
    solution = make_solution(problem=problem, template=template, job=job)
    other = make_solution(problem=problem, template=template)
    return {"problem": problem, "template": template, "batch": job.batch,
            "solution": solution, "other": other}


def test_teachers_get_every_page(teacher_client, objects):
    s, o = objects["solution"].pk, objects["other"].pk
    pages = [
        reverse("teacher:dashboard"),
        reverse("teacher:problem-list"),
        reverse("teacher:problem-create"),
        reverse("teacher:problem-detail", args=[objects["problem"].pk]),
        reverse("teacher:problem-edit", args=[objects["problem"].pk]),
        reverse("teacher:generate") + f"?problems={objects['problem'].pk}",
        reverse("teacher:batch-list"),
        reverse("teacher:batch-detail", args=[objects["batch"].pk]),
        reverse("teacher:batch-progress", args=[objects["batch"].pk]),
        reverse("teacher:template-list"),
        reverse("teacher:template-create"),
        reverse("teacher:template-detail", args=[objects["template"].pk]),
        reverse("teacher:template-edit", args=[objects["template"].pk]),
        reverse("teacher:review-queue"),
        reverse("teacher:solution-review", args=[s]),
        reverse("teacher:solution-edit", args=[s]),
        reverse("teacher:solution-history", args=[s]),
        reverse("teacher:solution-compare", args=[s, o]),
    ]
    for url in pages:
        response = teacher_client.get(url)
        assert response.status_code == 200, url


@pytest.mark.parametrize("name", ["problem-bulk", "preview", "batch-cancel", "batch-retry",
                                  "review-bulk", "solution-revert", "solution-transition"])
def test_actions_refuse_get(teacher_client, objects, name):
    pattern = next(p for p in teacher_patterns if p.name == name)
    args = [objects["batch"].pk if name.startswith("batch") else objects["solution"].pk] * len(
        pattern.pattern.converters
    )
    assert teacher_client.get(reverse(f"teacher:{name}", args=args)).status_code == 405


def test_missing_objects_are_404(teacher_client, db):
    for name in ("solution-review", "solution-edit", "solution-history", "batch-detail",
                 "template-detail", "problem-detail"):
        assert teacher_client.get(reverse(f"teacher:{name}", args=[999999])).status_code == 404
