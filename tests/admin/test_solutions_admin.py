"""Solution admin: the review services behind its actions, read-only revisions, previews."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from questionbank.models import GenerationBatch, Solution
from questionbank.services.solutions import solution_add_revision, solution_transition
from tests import factories
from tests.review_helpers import make_solution

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:questionbank_solution_changelist")


def _act(client, action, solutions, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [s.pk for s in solutions], **extra}
    return client.post(CHANGELIST, data, follow=True)


@pytest.fixture(params=["admin", "teacher"])
def staff_client(request, client):
    user = factories.make_admin("boss") if request.param == "admin" else factories.make_teacher(
        "staffteacher")
    client.force_login(user)
    client.user = user
    return client


def test_publish_and_unpublish_actions(staff_client):
    a, b = make_solution(), make_solution()
    response = _act(staff_client, "publish", [a, b])
    assert "2 solution(s) published." in response.content.decode()
    a.refresh_from_db()
    assert a.status == "published" and a.status_changed_by == staff_client.user
    c = make_solution()
    response = _act(staff_client, "unpublish", [a, c])
    body = response.content.decode()
    assert "1 solution(s) unpublished." in body and "were not published" in body
    a.refresh_from_db()
    assert a.status == "draft"


def test_publish_action_reports_illegal_moves(staff_client):
    s = make_solution()
    solution_transition(solution=s, target="published", user=None)
    body = _act(staff_client, "publish", [s]).content.decode()
    assert "A published solution cannot be published." in body


def test_reject_asks_for_a_reason_first(staff_client):
    s = make_solution()
    response = _act(staff_client, "reject", [s])
    assert response.templates[0].name == "admin/questionbank/solution/reject.html"
    assert Solution.objects.get(pk=s.pk).status == "draft"
    response = _act(staff_client, "reject", [s], apply="1", reason="")
    assert "Say why the solutions are rejected" in response.content.decode()
    assert Solution.objects.get(pk=s.pk).status == "draft"
    response = _act(staff_client, "reject", [s], apply="1", reason="Off by one.")
    assert "1 solution(s) rejected." in response.content.decode()
    s.refresh_from_db()
    assert (s.status, s.rejection_reason) == ("rejected", "Off by one.")


def test_regenerate_starts_a_batch_with_the_current_template(staff_client, teacher):
    from questionbank.services.templates import template_update
    from tests.review_helpers import make_job

    tpl = factories.make_template()
    endpoint = factories.make_endpoint()
    make_job(template=tpl, endpoint=endpoint)
    v2 = template_update(template=tpl, user=teacher, user_prompt="Again: {statement}")
    s = make_solution(template=tpl, endpoint=endpoint)
    handmade = make_solution(template=None)
    before = GenerationBatch.objects.count()
    body = _act(staff_client, "regenerate", [s, handmade]).content.decode()
    assert "Generation started" in body and "have no template" in body
    batch = GenerationBatch.objects.order_by("-id").first()
    assert GenerationBatch.objects.count() == before + 1
    assert batch.template == v2 and list(batch.endpoints.all()) == [endpoint]
    assert list(batch.jobs.values_list("problem_id", flat=True)) == [s.problem_id]


def test_change_page_shows_rendered_text_and_read_only_revisions(admin_client, teacher):
    s = make_solution(body="Since $x^2=4$, <script>alert(1)</script> x = 2.",
                      reasoning="<img src=x onerror=alert(1)> thinking")
    solution_add_revision(solution=s, body="Edited: **bold**", author=teacher)
    body = admin_client.get(reverse("admin:questionbank_solution_change", args=[s.pk])
                            ).content.decode()
    assert "<strong>bold</strong>" in body  # rendered, not escaped twice
    assert "<math" in body  # the model's revision 1 is in the revisions inline
    assert "<script>alert(1)</script>" not in body
    assert "<img src=x" not in body and "<img src=\"x\"" not in body
    assert "Open in the review pages" in body
    # Revisions are shown, not editable.
    assert 'name="revisions-0-body"' not in body
    assert "Edited: " in body


def test_list_filters_by_status_and_verdict(admin_client):
    a = make_solution(verdict="disagrees")
    b = make_solution(verdict="agrees")
    solution_transition(solution=b, target="published", user=None)
    page = admin_client.get(CHANGELIST, {"verdict__exact": "disagrees"})
    assert list(page.context["cl"].result_list) == [a]
    page = admin_client.get(CHANGELIST, {"status__exact": "published"})
    assert list(page.context["cl"].result_list) == [b]


def test_students_cannot_use_the_admin(student_client):
    s = make_solution()
    response = _act(student_client, "publish", [s])
    assert Solution.objects.get(pk=s.pk).status == "draft"
    assert response.redirect_chain and "login" in response.redirect_chain[-1][0]
