"""Publishing through the pages: which solution students see, the confirmation step that
names each reason, the editor's final-answer field and the bulk publish report."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from questionbank.models import Solution
from questionbank.services.solutions import solution_transition
from tests import factories
from tests.review_helpers import make_solution

pytestmark = pytest.mark.django_db


def _publish(client, solution, **extra):
    return client.post(reverse("teacher:solution-transition", args=[solution.pk]),
                       {"target": "published", **extra})


def test_publishing_a_risky_solution_asks_to_confirm_each_reason(teacher_client):
    solution = make_solution(verdict="disagrees", final_answer="732", from_standin=True)
    page = teacher_client.get(solution.get_absolute_url()).content.decode()
    assert "Publishing needs your confirmation" in page
    assert "Its final answer 732 disagrees with the reference answer" in page

    response = _publish(teacher_client, solution)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing was published yet" in body
    assert 'name="confirm" value="disagrees"' in body and 'value="standin"' in body
    assert Solution.objects.get(pk=solution.pk).status == "draft"

    _publish(teacher_client, solution, confirm=["disagrees"])  # one of two reasons
    assert Solution.objects.get(pk=solution.pk).status == "draft"
    response = _publish(teacher_client, solution, confirm=["disagrees", "standin"])
    assert response.status_code == 302
    assert Solution.objects.get(pk=solution.pk).status == "published"


def test_pages_say_which_solution_students_see(teacher_client, teacher):
    shown = make_solution()
    other = make_solution(problem=shown.problem)
    solution_transition(solution=shown, target="published", user=teacher)

    problem_page = teacher_client.get(
        reverse("teacher:problem-detail", args=[shown.problem_id])).content.decode()
    assert f"Students see <a href=\"{shown.get_absolute_url()}\">solution {shown.pk}</a>" in \
        problem_page
    assert reverse("browse:problem-detail", args=[shown.problem_id]) in problem_page
    assert "students see this one" in problem_page

    assert "Students see this solution." in teacher_client.get(
        shown.get_absolute_url()).content.decode()
    page = teacher_client.get(other.get_absolute_url()).content.decode()
    assert f"solution {shown.pk}</a> for this problem; publishing this one replaces it" in page

    response = _publish(teacher_client, other)
    assert f"Students now see solution {shown.pk}" in response.content.decode()
    _publish(teacher_client, other, confirm=["replaces"])
    assert Solution.objects.get(pk=other.pk).status == "published"
    assert Solution.objects.get(pk=shown.pk).status == "draft"


def test_problem_page_says_when_students_see_nothing(teacher_client):
    solution = make_solution()
    page = teacher_client.get(
        reverse("teacher:problem-detail", args=[solution.problem_id])).content.decode()
    assert "No explanation is published for this problem" in page


def test_editor_final_answer_field_sets_and_checks_the_answer(teacher_client):
    problem = factories.make_problem(reference_answer="6\\sqrt{3}")
    solution = make_solution(problem=problem, body="Area $\\boxed{732}$", final_answer="732",
                             verdict="disagrees")
    url = reverse("teacher:solution-edit", args=[solution.pk])
    assert 'name="final_answer"' in teacher_client.get(url).content.decode()

    response = teacher_client.post(url, {"body": "Area $\\boxed{6\\sqrt{3}}$", "note": "",
                                         "final_answer": "", "base_revision": 1}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert "Saved as revision 2. Final answer: 6\\sqrt{3} (taken from the text); check: " \
           "agrees with the reference." in messages
    page = response.content.decode()
    assert "Check the answer before publishing" not in page
    assert "taken from the text" in page

    response = teacher_client.post(url, {"body": "Area $\\boxed{6\\sqrt{3}}$", "note": "",
                                         "final_answer": "10", "base_revision": 2}, follow=True)
    solution.refresh_from_db()
    assert (solution.final_answer, solution.verdict) == ("10", "disagrees")
    assert solution.current_revision.final_answer_by_teacher
    assert "typed by teacher" in response.content.decode()
    # The editor opens with the typed answer, so saving again keeps it.
    assert 'value="10"' in teacher_client.get(url).content.decode()


def test_history_shows_each_revisions_check(teacher_client, teacher):
    from questionbank.services.solutions import solution_add_revision

    problem = factories.make_problem(reference_answer="4")
    solution = make_solution(problem=problem, body="$\\boxed{5}$", final_answer="5",
                             verdict="disagrees")
    solution_add_revision(solution=solution, body="$\\boxed{4}$", author=teacher)
    page = teacher_client.get(reverse("teacher:solution-history", args=[solution.pk]))
    body = page.content.decode()
    assert "Disagrees with the reference" in body and "Agrees with the reference" in body


def test_bulk_publish_page_lists_what_was_held_and_offers_a_second_step(teacher_client):
    safe = make_solution()
    wrong = make_solution(verdict="disagrees", final_answer="9")
    url = reverse("teacher:review-bulk")
    response = teacher_client.post(url, {"action": "published", "solutions": [safe.pk, wrong.pk]})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Published 1, held back 1" in body
    assert "Its final answer 9 disagrees with the reference answer" in body
    assert 'name="confirmed" value="on"' in body
    assert Solution.objects.get(pk=wrong.pk).status == "draft"

    response = teacher_client.post(url, {"action": "published", "solutions": [wrong.pk],
                                         "confirmed": "on"})
    assert response.status_code == 302
    assert Solution.objects.get(pk=wrong.pk).status == "published"


def test_admin_publish_action_confirms_on_an_intermediate_page(admin_client):
    safe = make_solution()
    risky = make_solution(from_standin=True)
    changelist = reverse("admin:questionbank_solution_changelist")
    data = {"action": "publish", ACTION_CHECKBOX_NAME: [safe.pk, risky.pk]}
    response = admin_client.post(changelist, data)
    body = response.content.decode()
    assert response.status_code == 200 and "Nothing was published yet" in body
    assert "It came from the stand-in server" in body
    assert not Solution.objects.published().exists()

    response = admin_client.post(changelist, {**data, "apply": "1"}, follow=True)
    assert "2 solution(s) published." in response.content.decode()
    assert Solution.objects.published().count() == 2


def test_admin_publish_without_concerns_publishes_at_once(admin_client):
    a = make_solution()
    changelist = reverse("admin:questionbank_solution_changelist")
    response = admin_client.post(changelist, {"action": "publish", ACTION_CHECKBOX_NAME: [a.pk]},
                                 follow=True)
    assert "1 solution(s) published." in response.content.decode()
