"""Every page that shows text from the stand-in WEBUI says so (and only those pages)."""

import pytest
from django.urls import reverse

from tests.browse_helpers import with_solution
from tests.factories import make_problem

NOTICE = 'class="standin-notice"'


@pytest.fixture
def pair(db):
    """A published stand-in solution and a published model solution, same problem."""
    problem = make_problem(title="Stand-in check")
    standin = with_solution(problem, "published", body="Stand-in text.", from_standin=True)
    model = with_solution(problem, "published", body="Model text.", from_standin=False)
    return problem, standin, model


def _has_notice(response) -> bool:
    assert response.status_code == 200
    return NOTICE in response.content.decode()


@pytest.mark.parametrize("name", ["solution-review", "solution-edit", "solution-history"])
def test_teacher_solution_pages(teacher_client, pair, name):
    _, standin, model = pair
    assert _has_notice(teacher_client.get(reverse(f"teacher:{name}", args=[standin.pk])))
    assert not _has_notice(teacher_client.get(reverse(f"teacher:{name}", args=[model.pk])))


def test_teacher_compare_marks_the_stand_in_card(teacher_client, pair):
    _, standin, model = pair
    page = teacher_client.get(reverse("teacher:solution-compare", args=[standin.pk, model.pk]))
    assert page.content.decode().count(NOTICE) == 1


def test_student_problem_page_and_worksheet(student_client, pair):
    problem, standin, model = pair
    url = reverse("browse:problem-detail", args=[problem.pk])
    shown = student_client.get(url).content.decode()
    # Whichever published solution students get, the notice follows it.
    assert (NOTICE in shown) == ("Stand-in text." in shown)
    worksheet = student_client.get(reverse("browse:problem-list") + "?print=1&solutions=1")
    html = worksheet.content.decode()
    assert (NOTICE in html) == ("Stand-in text." in html)


def test_student_sees_the_notice_on_a_stand_in_solution(student_client, db):
    problem = make_problem(title="Only stand-in")
    with_solution(problem, "published", body="Stand-in text.", from_standin=True)
    assert _has_notice(student_client.get(reverse("browse:problem-detail", args=[problem.pk])))
    html = student_client.get(reverse("browse:problem-list") + "?print=1&solutions=1")
    assert _has_notice(html)


def test_admin_solution_page(admin_client, pair):
    _, standin, model = pair
    url = "admin:questionbank_solution_change"
    assert _has_notice(admin_client.get(reverse(url, args=[standin.pk])))
    assert not _has_notice(admin_client.get(reverse(url, args=[model.pk])))
