"""Prompt template pages: create, edit (versioned when used), detail, preview, quality."""

from __future__ import annotations

import pytest
from django.urls import reverse

from questionbank.models import PromptTemplate
from questionbank.services.solutions import Concern, solution_add_revision, solution_transition
from tests import factories
from tests.review_helpers import make_job, make_solution

pytestmark = pytest.mark.django_db

FORM = {"name": "Careful", "kind": "any", "description": "", "system_prompt": "",
        "user_prompt": "{statement}\n\nPut the answer in \\boxed{}.", "temperature": 0.6,
        "top_p": 0.95, "max_new_tokens": 8192, "repetition_penalty": 1.0, "samples": 1}


def test_create(teacher_client, teacher):
    response = teacher_client.post(reverse("teacher:template-create"), FORM)
    template = PromptTemplate.objects.get(name="Careful")
    assert response["Location"] == template.get_absolute_url()
    assert (template.version, template.is_current, template.created_by) == (1, True, teacher)


def test_unknown_placeholder_is_explained(teacher_client):
    response = teacher_client.post(reverse("teacher:template-create"),
                                   dict(FORM, user_prompt="Solve {problem}"))
    assert "Unknown placeholder {problem}" in response.content.decode()
    assert not PromptTemplate.objects.exists()


def test_editing_an_unused_template_changes_it_in_place(teacher_client):
    template = factories.make_template(**{k: v for k, v in FORM.items()})
    teacher_client.post(reverse("teacher:template-edit", args=[template.pk]),
                        dict(FORM, temperature=1.0))
    template.refresh_from_db()
    assert template.temperature == 1.0 and PromptTemplate.objects.count() == 1


def test_editing_a_used_template_makes_a_new_version_and_says_so(teacher_client):
    template = factories.make_template(**FORM)
    make_job(template=template)
    page = teacher_client.get(reverse("teacher:template-edit", args=[template.pk]))
    assert "Save as version 2" in page.content.decode()
    response = teacher_client.post(reverse("teacher:template-edit", args=[template.pk]),
                                   dict(FORM, user_prompt="Think, then: {statement}"),
                                   follow=True)
    new = PromptTemplate.objects.get(lineage=template.lineage, is_current=True)
    assert new.version == 2 and new.user_prompt == "Think, then: {statement}"
    template.refresh_from_db()
    assert template.user_prompt == FORM["user_prompt"] and not template.is_current
    assert "Your edit is saved as version 2" in response.content.decode()
    assert response.redirect_chain[-1][0] == new.get_absolute_url()
    # The history lists both versions; the old one points at the current one.
    old_page = teacher_client.get(template.get_absolute_url()).content.decode()
    assert "Version 2 is current" in old_page and "v1" in old_page and "v2" in old_page


def test_list_shows_current_versions_only(teacher_client):
    template = factories.make_template(name="Alpha")
    make_job(template=template)
    teacher_client.post(reverse("teacher:template-edit", args=[template.pk]),
                        dict(FORM, name="Alpha"))
    page = teacher_client.get(reverse("teacher:template-list"))
    rows = list(page.context["page"])
    assert [(t.name, t.version, t.n_versions) for t in rows] == [("Alpha", 2, 2)]


def test_preview_shows_the_sanitized_prompt(teacher_client):
    template = factories.make_template(user_prompt="Title: {title}\n{statement}")
    problem = factories.make_problem(title="Zero\u200bwidth", statement="Find $x$.\u202e")
    page = teacher_client.get(template.get_absolute_url(), {"problem": problem.pk})
    body = page.content.decode()
    assert page.context["preview"]["problem"] == problem
    user = page.context["preview"]["result"].user
    assert user == "Title: Zerowidth\nFind $x$."
    assert 'data-prompt="user">Title: Zerowidth' in body
    # By title words too.
    page = teacher_client.get(template.get_absolute_url(), {"problem": "Zero"})
    assert page.context["preview"]["problem"] == problem


def test_preview_of_an_unknown_problem_explains(teacher_client):
    template = factories.make_template()
    body = teacher_client.get(template.get_absolute_url(), {"problem": "nothing like it"}
                              ).content.decode()
    assert "No problem has the number or a title containing" in body


def test_preview_of_an_over_long_statement_shows_the_reason(teacher_client, settings):
    settings.QB_MAX_STATEMENT_CHARS = 100
    template = factories.make_template()
    problem = factories.make_problem(statement="x" * 150)
    body = teacher_client.get(template.get_absolute_url(), {"problem": problem.pk}
                              ).content.decode()
    assert "This problem cannot be sent with this template" in body


def test_quality_on_the_template_page_and_list(teacher_client, teacher):
    template = factories.make_template()
    untouched = make_solution(template=template, body="one two three four")
    solution_transition(solution=untouched, target="published", user=teacher,
                        confirm=Concern.LABELS)
    edited = make_solution(template=template, body="one two three four")
    solution_add_revision(solution=edited, body="one two THREE FOUR", author=teacher)
    solution_transition(solution=edited, target="published", user=teacher,
                        confirm=Concern.LABELS)
    rejected = make_solution(template=template)
    solution_transition(solution=rejected, target="rejected", user=teacher, reason="No.")
    make_solution(template=template)  # still a draft: not counted as reviewed

    page = teacher_client.get(template.get_absolute_url())
    quality = page.context["quality"]
    assert (quality.total, quality.published, quality.rejected) == (4, 2, 1)
    assert quality.mean_edit_distance == pytest.approx(0.25)  # (0 + 0.5) / 2
    assert quality.rejection_share == pytest.approx(1 / 3)
    body = page.content.decode()
    assert "25%" in body and "33%" in body
    listing = teacher_client.get(reverse("teacher:template-list")).content.decode()
    assert "25% changed" in listing and "33% rejected" in listing
