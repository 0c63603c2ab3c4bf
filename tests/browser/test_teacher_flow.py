"""A teacher generates a solution, reviews, edits and publishes it; a student then reads it.

Everything is real: the site (runserver), a django-q2 worker (qcluster), the Gradio stand-in
WEBUI and headless Chromium. Screenshots go to artifacts/ (dashboard, batch, queue, review).
"""

from __future__ import annotations

import re

import pytest

from questionbank.models import Solution
from questionbank.services.endpoints import endpoint_create
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.cluster,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "correct horse battery staple"
# Generous: the worker starts, discovers the stand-in's API, then the answer streams.
GENERATION_TIMEOUT_MS = 150_000


def _login(page, base, username):
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("log in", re.I)).click()
    page.wait_for_load_state()


def _teacher_with_stand_in(app_stack) -> None:
    """The teacher "ada", the stand-in WEBUI of the stack as an endpoint, one template."""
    factories.make_teacher("ada")
    endpoint_create(name="Stand-in WEBUI", base_url=app_stack["standin"], protocol="gradio",
                    is_standin=True)
    factories.make_template(name="Step by step", kind="maths", temperature=1.0)


def _new_page(browser, *, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


def test_teacher_generates_reviews_edits_publishes_and_a_student_reads(
        app_stack, browser, artifacts):
    base = app_stack["site"]
    _teacher_with_stand_in(app_stack)
    factories.make_student("sam")
    problem = factories.make_problem(
        # The stand-in takes 10 s for this one, so the page sees the call running however
        # slowly the page loads on a busy machine.
        title="Adding small numbers",
        statement="What is $2+3$? Explain briefly. [[standin:delay=10]]",
        reference_answer="5", tags=["Arithmetic"])

    context, page = _new_page(browser, width=1360)
    try:
        _login(page, base, "ada")
        assert page.get_by_role("heading", name="Dashboard").is_visible()

        # Generate from the problem's page.
        page.goto(f"{base}/teach/problems/{problem.pk}/")
        page.get_by_role("link", name="Generate solutions").click()
        page.get_by_label(re.compile("Stand-in WEBUI")).check()
        page.get_by_role("button", name="Start generation").click()
        page.wait_for_url(re.compile(r"/teach/batches/\d+/"))
        assert page.get_by_text("Generation started").is_visible()
        page.wait_for_selector("[data-running-section]:not([hidden])",
                               timeout=GENERATION_TIMEOUT_MS)
        page.screenshot(path=str(artifacts / "batch-page-running.png"), full_page=True)
        # batch.js reloads the page once the batch has finished.
        page.get_by_text("Finished.", exact=True).wait_for(timeout=GENERATION_TIMEOUT_MS)
        assert page.locator("[data-count=succeeded]").inner_text() == "1", (
            app_stack["logs"]["worker"].tail())
        page.screenshot(path=str(artifacts / "batch-page.png"), full_page=True)

        page.goto(f"{base}/teach/")
        page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)

        # Open it from the review queue.
        page.get_by_role("link", name="Review queue").first.click()
        page.screenshot(path=str(artifacts / "review-queue.png"), full_page=True)
        page.get_by_role("link", name="Adding small numbers").click()
        page.wait_for_url(re.compile(r"/teach/solutions/\d+/"))
        solution = Solution.objects.get(problem=problem)
        assert page.get_by_text("Stand-in answer.").is_visible()
        assert page.locator(".answer-box code.answer").inner_text() == "5"
        assert page.get_by_text("Agrees with the reference").first.is_visible()
        assert page.locator("details.trace").get_attribute("open") is None  # collapsed
        assert page.locator("article.card .rendered math").count() > 0  # maths as MathML
        page.screenshot(path=str(artifacts / "review-page.png"), full_page=True)

        # Edit, with the live preview.
        page.get_by_role("link", name="Edit explanation").click()
        editor = page.get_by_label("Explanation")
        editor.fill("Add the numbers: $2 + 3 = 5$.\n\nSo the answer is $\\boxed{5}$.")
        page.locator("#preview-pane").get_by_text("Add the numbers:").wait_for()
        assert page.locator("#preview-pane math").count() >= 2
        page.get_by_label("What did you change?").fill("Shorter, for year 7")
        page.screenshot(path=str(artifacts / "edit-page.png"), full_page=True)
        page.get_by_role("button", name="Save as a new revision").click()
        page.get_by_text("Saved as revision 2.").wait_for()

        # Publish: a stand-in answer needs its reason confirmed first.
        page.get_by_role("button", name="Publish…", exact=True).click()
        # The click posts a form: wait for the page it leads to before looking.
        page.get_by_text("Nothing was published yet.").wait_for()
        assert page.get_by_text("Nothing was published yet.").is_visible()
        page.screenshot(path=str(artifacts / "publish-confirm.png"), full_page=True)
        page.get_by_label(re.compile("It came from the stand-in server")).check()
        page.get_by_role("button", name="Publish anyway").click()
        page.get_by_text("Published: students can now read this solution.").wait_for()
        solution.refresh_from_db()
        assert solution.status == Solution.Status.PUBLISHED
        assert solution.current_revision.number == 2
        assert solution.status_changed_by.username == "ada"
        assert solution.edit_distance and 0 < solution.edit_distance <= 1
    finally:
        context.close()

    # A student reads it.
    context, page = _new_page(browser, width=1100)
    try:
        _login(page, base, "sam")
        page.goto(f"{base}/browse/problems/{problem.pk}/")
        assert page.get_by_role("heading", name="Adding small numbers").is_visible()
        page.get_by_text("Show the worked solution").click()
        page.get_by_text("Add the numbers:").wait_for()
        assert page.locator("details.solution math").count() >= 2
        page.screenshot(path=str(artifacts / "student-problem.png"), full_page=True)
        response = page.goto(f"{base}/teach/review/")
        assert response.status == 403
    finally:
        context.close()


def _generate(page, base, problem_pk, samples=1):
    page.goto(f"{base}/teach/problems/{problem_pk}/")
    page.get_by_role("link", name="Generate solutions").click()
    page.get_by_label(re.compile("Stand-in WEBUI")).check()
    if samples != 1:
        page.get_by_label("Answers per problem").fill(str(samples))
    page.get_by_role("button", name="Start generation").click()
    page.wait_for_url(re.compile(r"/teach/batches/\d+/"))
    page.get_by_text("Finished.", exact=True).wait_for(timeout=GENERATION_TIMEOUT_MS)


def test_students_keep_seeing_the_teachers_corrected_explanation(app_stack, browser, artifacts):
    """Issue 12, point 1: a teacher corrects a wrong model answer and publishes it; a later
    batch and a bulk publish of the review queue never replace it."""
    base = app_stack["site"]
    _teacher_with_stand_in(app_stack)
    problem = factories.make_problem(
        title="Area of a regular hexagon",
        statement="A regular hexagon has side $2$. What is its area?",
        reference_answer="6\\sqrt{3}", tags=["Geometry"])

    context, page = _new_page(browser, width=1360)
    try:
        _login(page, base, "ada")
        _generate(page, base, problem.pk)
        wrong = Solution.objects.get(problem=problem)
        assert wrong.verdict == Solution.Verdict.DISAGREES, wrong.final_answer

        # The model's answer is wrong: the teacher rewrites it and publishes.
        page.goto(f"{base}/teach/solutions/{wrong.pk}/")
        assert page.get_by_text("Check the answer before publishing.").is_visible()
        page.get_by_role("link", name="Edit explanation").click()
        page.get_by_label("Explanation").fill(
            "Split the hexagon into six equilateral triangles of side $2$, each of area "
            "$\\sqrt{3}$.\n\nSo the area is $\\boxed{6\\sqrt{3}}$.")
        page.get_by_role("button", name="Save as a new revision").click()
        page.get_by_text(re.compile(r"Saved as revision 2\. Final answer: 6\\sqrt\{3\}")
                         ).wait_for()
        assert page.get_by_text("Check the answer before publishing.").count() == 0
        assert page.get_by_text("Agrees with the reference").first.is_visible()
        page.get_by_role("button", name="Publish…", exact=True).click()
        page.get_by_label(re.compile("It came from the stand-in server")).check()
        page.get_by_role("button", name="Publish anyway").click()
        page.get_by_text("Published: students can now read this solution.").wait_for()

        # Later: another batch for the same problem, then "tick all, publish" in the queue.
        _generate(page, base, problem.pk, samples=2)
        page.goto(f"{base}/teach/review/")
        page.locator("input[name=solutions]").first.wait_for()
        for box in page.locator("input[name=solutions]").all():
            box.check()
        page.get_by_label("With the ticked solutions:").select_option("published")
        page.get_by_role("button", name="Apply", exact=True).click()
        page.get_by_text(re.compile(r"Published 0, held back 2")).wait_for()
        assert page.get_by_text(f"Students now see solution {wrong.pk}").first.is_visible()
        page.screenshot(path=str(artifacts / "bulk-publish-held.png"), full_page=True)

        # The teacher's page says which one students see.
        page.goto(f"{base}/teach/problems/{problem.pk}/")
        assert page.get_by_text(f"solution {wrong.pk}", exact=False).first.is_visible()
    finally:
        context.close()

    # A visitor sees the teacher's explanation with the right final answer.
    context, page = _new_page(browser, width=1100)
    try:
        page.goto(f"{base}/browse/problems/{problem.pk}/")
        page.get_by_text("Show the worked solution").click()
        page.get_by_text("Split the hexagon into six equilateral triangles").wait_for()
        assert page.locator("details.solution math").count() >= 2
        assert "732" not in page.locator("main").inner_text()
        page.screenshot(path=str(artifacts / "student-sees-corrected.png"), full_page=True)
    finally:
        context.close()
    assert Solution.objects.published().filter(problem=problem).get().pk == wrong.pk
