"""Review queue, review page, editing, revisions, diffs and publishing, through the views."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from questionbank.models import Solution, SolutionTransition
from questionbank.services.solutions import solution_add_revision, solution_transition
from tests import factories
from tests.review_helpers import make_solution

pytestmark = pytest.mark.django_db


def _ids(page) -> list[int]:
    return [s.pk for s in page.context["page"]]


# --- Queue ----------------------------------------------------------------------------------


def test_queue_is_riskiest_first(teacher_client):
    agrees = make_solution(verdict=Solution.Verdict.AGREES, majority_share=1.0)
    unchecked = make_solution(verdict=Solution.Verdict.UNCHECKED, majority_share=None)
    thin = make_solution(verdict=Solution.Verdict.AGREES, majority_share=0.25)
    thinner_disagree = make_solution(verdict=Solution.Verdict.DISAGREES, majority_share=0.5)
    disagree = make_solution(verdict=Solution.Verdict.DISAGREES, majority_share=0.9)
    published = make_solution()
    solution_transition(solution=published, target="published", user=None)

    page = teacher_client.get(reverse("teacher:review-queue"))
    assert _ids(page) == [thinner_disagree.pk, disagree.pk, thin.pk, unchecked.pk, agrees.pk]
    body = page.content.decode()
    assert "Disagrees with reference" in body and "Only 25% of answers agree" in body


def test_queue_filters(teacher_client):
    algebra = factories.TagFactory(name="Algebra")
    tpl = factories.make_template(name="Careful")
    maths = make_solution(problem=factories.make_problem(tags=[algebra]), template=tpl,
                          verdict=Solution.Verdict.DISAGREES)
    code = make_solution(problem=factories.make_problem(kind="programming"))
    in_review = make_solution()
    solution_transition(solution=in_review, target="in_review", user=None)

    def ids(**params):
        return _ids(teacher_client.get(reverse("teacher:review-queue"), params))

    assert ids(kind="programming") == [code.pk]
    assert ids(tag="algebra") == [maths.pk]
    assert ids(template=str(tpl.lineage)) == [maths.pk]
    assert ids(template="not-a-uuid") == []
    assert ids(verdict="disagrees") == [maths.pk]
    assert ids(status="in_review") == [in_review.pk]
    assert ids(q=maths.problem.title) == [maths.pk]
    assert set(ids(kind="nonsense")) == {maths.pk, code.pk, in_review.pk}


def test_queue_template_filter_spans_versions(teacher_client, teacher):
    from questionbank.services.templates import template_update
    from tests.review_helpers import make_job

    tpl = factories.make_template()
    make_job(template=tpl)  # used, so an edit makes version 2
    v2 = template_update(template=tpl, user=teacher, user_prompt="Solve: {statement}")
    old, new = make_solution(template=tpl), make_solution(template=v2)
    ids = _ids(teacher_client.get(reverse("teacher:review-queue"), {"template": str(tpl.lineage)}))
    assert set(ids) == {old.pk, new.pk}


def test_queue_paginates(teacher_client):
    for _ in range(27):
        make_solution()
    first = teacher_client.get(reverse("teacher:review-queue"))
    second = teacher_client.get(reverse("teacher:review-queue"), {"page": 2})
    assert len(first.context["page"]) == 25 and len(second.context["page"]) == 2
    assert "Page 1 of 2" in first.content.decode()


def test_queue_query_count_does_not_grow_with_rows(teacher_client):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            assert teacher_client.get(reverse("teacher:review-queue")).status_code == 200
        return len(ctx.captured_queries)

    tag = factories.TagFactory(name="t")
    tpl = factories.make_template()
    make_solution(problem=factories.make_problem(tags=[tag]), template=tpl)
    few = count_queries()
    for _ in range(15):
        make_solution(problem=factories.make_problem(tags=[tag, factories.TagFactory()]),
                      template=factories.make_template(), endpoint=factories.make_endpoint())
    assert count_queries() == few


def test_bulk_publish_and_reject(teacher_client, teacher):
    a, b, c = make_solution(), make_solution(), make_solution()
    done = make_solution()
    solution_transition(solution=done, target="published", user=teacher)
    url = reverse("teacher:review-bulk")

    response = teacher_client.post(url, {"action": "published", "solutions": [a.pk, b.pk, done.pk]},
                                   follow=True)
    text = [str(m) for m in response.context["messages"]]
    assert "2 solutions published." in text
    assert "A published solution cannot be published." in response.content.decode()
    assert Solution.objects.get(pk=a.pk).status == "published"

    response = teacher_client.post(url, {"action": "rejected", "solutions": [c.pk]}, follow=True)
    assert "Say why these solutions are rejected" in response.content.decode()
    assert Solution.objects.get(pk=c.pk).status == "draft"
    teacher_client.post(url, {"action": "rejected", "solutions": [c.pk], "reason": "Wrong."})
    c.refresh_from_db()
    assert c.status == "rejected" and c.rejection_reason == "Wrong."
    assert c.status_changed_by == teacher


def test_bulk_without_selection_says_so(teacher_client):
    response = teacher_client.post(reverse("teacher:review-bulk"), {"action": "published"},
                                   follow=True)
    assert "Tick at least one solution first." in response.content.decode()


def test_bulk_next_must_be_local(teacher_client):
    s = make_solution()
    response = teacher_client.post(reverse("teacher:review-bulk"), {
        "action": "in_review", "solutions": [s.pk], "next": "https://evil.example/"})
    assert response["Location"] == reverse("teacher:review-queue")


# --- Review page ----------------------------------------------------------------------------


def test_review_page_shows_problem_solution_and_provenance(teacher_client):
    tpl = factories.make_template(name="Step by step")
    problem = factories.make_problem(title="Sum of two", statement="Compute $1+1$.",
                                     reference_answer="2")
    s = make_solution(problem=problem, template=tpl, body="So $1+1=\\boxed{2}$.",
                      final_answer="2", reasoning="Let me think about $1+1$ carefully.",
                      majority_share=0.75, endpoint=factories.make_endpoint(name="gpu-box"))
    other = make_solution(problem=problem, final_answer="3", verdict="disagrees")
    body = teacher_client.get(s.get_absolute_url()).content.decode()
    assert "Sum of two" in body and "<math" in body
    assert "<details class=\"trace\">" in body and "carefully" in body
    assert "75% agree" in body and "Agrees with the reference" in body
    assert "Step by step</a> version 1" in body and "gpu-box" in body
    assert reverse("teacher:solution-compare", args=[s.pk, other.pk]) in body
    assert "stale" not in body.lower()
    assert "Stand-in answer" not in body


def test_review_page_warns_when_stale_or_standin(teacher_client):
    from questionbank.services.problems import problem_update

    s = make_solution(from_standin=True)
    problem_update(problem=s.problem, statement="A changed statement.")
    body = teacher_client.get(s.get_absolute_url()).content.decode()
    assert "The problem changed after this solution was generated" in body
    assert "version 1 of the problem; the problem is now at version 2" in body
    assert "Stand-in answer." in body


def test_review_page_links_calls_for_auditors_and_job_calls_for_teachers(client, teacher):
    from questionbank.models import CallLog

    s = make_solution()
    job = factories.make_call_log(owner=teacher).job
    Solution.objects.filter(pk=s.pk).update(job=job)
    row = CallLog.objects.get(job=job)
    client.force_login(teacher)
    body = client.get(s.get_absolute_url()).content.decode()
    assert reverse("teacher:job-calls", args=[job.pk]) in body
    assert reverse("admin:questionbank_calllog_change", args=[row.pk]) not in body

    auditor = factories.make_admin("auditor")
    client.force_login(auditor)
    body = client.get(s.get_absolute_url()).content.decode()
    assert reverse("admin:questionbank_calllog_change", args=[row.pk]) in body


def test_transitions_through_the_page(teacher_client, teacher):
    s = make_solution()
    url = reverse("teacher:solution-transition", args=[s.pk])
    teacher_client.post(url, {"target": "in_review"})
    teacher_client.post(url, {"target": "published"})
    s.refresh_from_db()
    assert s.status == "published" and s.published_at and s.status_changed_by == teacher
    page = teacher_client.get(s.get_absolute_url()).content.decode()
    assert ">Unpublish</button>" in page and ">Publish</button>" not in page
    teacher_client.post(url, {"target": "draft"})
    s.refresh_from_db()
    assert s.status == "draft"
    steps = list(SolutionTransition.objects.filter(solution=s).values_list("source", "target",
                                                                            "user"))
    assert steps == [("draft", "in_review", teacher.pk), ("in_review", "published", teacher.pk),
                     ("published", "draft", teacher.pk)]


def test_illegal_transition_is_refused_with_a_message(teacher_client):
    s = make_solution()
    solution_transition(solution=s, target="published", user=None)
    response = teacher_client.post(reverse("teacher:solution-transition", args=[s.pk]),
                                   {"target": "in_review"}, follow=True)
    assert "A published solution cannot be in review." in response.content.decode()
    s.refresh_from_db()
    assert s.status == "published"


def test_reject_needs_a_reason(teacher_client):
    s = make_solution()
    url = reverse("teacher:solution-transition", args=[s.pk])
    response = teacher_client.post(url, {"target": "rejected", "reason": "  "}, follow=True)
    assert "Say why the solution is rejected" in response.content.decode()
    assert Solution.objects.get(pk=s.pk).status == "draft"
    teacher_client.post(url, {"target": "rejected", "reason": "Misreads the question."})
    page = teacher_client.get(s.get_absolute_url()).content.decode()
    assert "Rejected:</strong> Misreads the question." in page


def test_unknown_target_is_refused(teacher_client):
    s = make_solution()
    response = teacher_client.post(reverse("teacher:solution-transition", args=[s.pk]),
                                   {"target": "deleted"}, follow=True)
    assert "not a step a solution can take" in response.content.decode()


def test_publish_and_open_next(teacher_client):
    first = make_solution(verdict="disagrees")
    second = make_solution(verdict="unchecked")
    response = teacher_client.post(reverse("teacher:solution-transition", args=[first.pk]),
                                   {"target": "published", "then": "next",
                                    "confirm": ["disagrees"]})
    assert response["Location"] == second.get_absolute_url()
    response = teacher_client.post(reverse("teacher:solution-transition", args=[second.pk]),
                                   {"target": "published", "then": "next",
                                    "confirm": ["unchecked"]})
    assert response["Location"] == reverse("teacher:review-queue")


def test_compare_refuses_a_solution_of_another_problem(teacher_client):
    a, b = make_solution(), make_solution()
    assert teacher_client.get(reverse("teacher:solution-compare", args=[a.pk, b.pk])
                              ).status_code == 404


# --- Editing, conflicts, history, revert ------------------------------------------------------


def test_edit_adds_a_revision(teacher_client, teacher):
    s = make_solution(body="Old text.")
    url = reverse("teacher:solution-edit", args=[s.pk])
    page = teacher_client.get(url).content.decode()
    assert 'name="base_revision" value="1"' in page and "Old text." in page
    response = teacher_client.post(url, {"body": "New *text*.", "note": "clearer",
                                         "base_revision": 1})
    assert response.status_code == 302
    s.refresh_from_db()
    rev = s.current_revision
    assert (rev.number, rev.body, rev.author, rev.note) == (2, "New *text*.", teacher, "clearer")
    assert "<em>text</em>" in rev.body_html


def test_saving_unchanged_text_adds_nothing(teacher_client):
    s = make_solution(body="Same.")
    response = teacher_client.post(reverse("teacher:solution-edit", args=[s.pk]),
                                   {"body": "Same.", "base_revision": 1}, follow=True)
    assert "Nothing changed" in response.content.decode()
    assert s.revisions.count() == 1


def test_empty_text_is_refused(teacher_client):
    s = make_solution()
    response = teacher_client.post(reverse("teacher:solution-edit", args=[s.pk]),
                                   {"body": "", "base_revision": 1})
    assert "The explanation cannot be empty" in response.content.decode()
    assert s.revisions.count() == 1


def test_conflict_shows_both_texts_and_loses_nothing(client, teacher):
    s = make_solution(body="Line one.\nLine two.")
    other = factories.make_teacher("colleague")
    solution_add_revision(solution=s, body="Line one.\nLine two, by a colleague.",
                          author=other, base_revision=1)
    client.force_login(teacher)
    url = reverse("teacher:solution-edit", args=[s.pk])
    response = client.post(url, {"body": "Line one, mine.\nLine two.", "note": "mine",
                                 "base_revision": 1})
    assert response.status_code == 409
    body = response.content.decode()
    assert "colleague saved revision 2 while you were editing" in body
    assert "Line two, by a colleague." in body  # theirs
    assert "Line one, mine." in body  # mine, still in the editor
    assert 'name="base_revision" value="2"' in body
    assert s.revisions.count() == 2
    # Saving again (now based on their revision) goes through.
    response = client.post(url, {"body": "Line one, mine.\nLine two, by a colleague.",
                                 "base_revision": 2})
    assert response.status_code == 302
    assert s.revisions.count() == 3


def test_history_diff_between_any_two_revisions(teacher_client, teacher):
    s = make_solution(body="alpha\nbeta\ngamma")
    solution_add_revision(solution=s, body="alpha\nBETA\ngamma", author=teacher)
    solution_add_revision(solution=s, body="alpha\nBETA\ngamma\ndelta", author=teacher)
    url = reverse("teacher:solution-history", args=[s.pk])
    page = teacher_client.get(url)
    assert (page.context["old"].number, page.context["new"].number) == (1, 3)
    page = teacher_client.get(url, {"a": 2, "b": 3})
    diff = page.context["diff"]
    assert (diff.added, diff.removed) == (1, 0)
    assert "+1</span> line added" in page.content.decode()
    page = teacher_client.get(url, {"a": 1, "b": 2})
    assert '<mark>BETA</mark>' in page.content.decode()
    page = teacher_client.get(url, {"a": 99})
    assert "That revision does not exist" in page.content.decode()


def test_revert_appends_a_copy(teacher_client, teacher):
    s = make_solution(body="first")
    solution_add_revision(solution=s, body="second", author=teacher)
    teacher_client.post(reverse("teacher:solution-revert", args=[s.pk]), {"number": 1})
    s.refresh_from_db()
    assert [r.body for r in s.revisions.order_by("number")] == ["first", "second", "first"]
    assert s.current_revision.note == "Reverted to revision 1"
    response = teacher_client.post(reverse("teacher:solution-revert", args=[s.pk]),
                                   {"number": 42}, follow=True)
    assert "Revision 42 does not exist." in response.content.decode()


def test_markdown_preview_renders_and_needs_csrf(teacher):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(teacher)
    url = reverse("teacher:preview")
    assert client.post(url, {"text": "*hi*"}).status_code == 403
    client.get(reverse("teacher:problem-create"))
    token = client.cookies["csrftoken"].value
    response = client.post(url, {"text": "*hi* $x^2$"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert "<em>hi</em>" in response.content.decode() and "<math" in response.content.decode()
    response = client.post(url, {"text": "x" * 200_001}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400


def test_disagreeing_answer_is_flagged_before_publishing(teacher_client):
    s = make_solution(final_answer="6", verdict="disagrees")
    body = teacher_client.get(s.get_absolute_url()).content.decode()
    assert "Check the answer before publishing." in body
    # The answers are drawn as maths (issue 12), their TeX kept in the title.
    assert (f'reference answer <span class="answer-math" title="{s.problem.reference_answer}">'
            in body)
    assert "<math" in body.split("Check the answer before publishing.")[1].split("</div>")[0]
