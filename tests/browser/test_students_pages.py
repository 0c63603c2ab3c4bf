"""Students' pages in headless Chromium with JavaScript off: the phone menu, the show/hide
controls, maths at size, search, and printing. Only the site runs (runserver on the test
database). Screenshots go to artifacts/ (home, search, problem at 1280 and 390 px, print).
"""

from __future__ import annotations

import os
import re

import pytest

from questionbank.models import Solution
from questionbank.services.solutions import solution_create, solution_transition
from tests import factories
from tests.browser.conftest import Process, _database_url, free_port

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
BODY = ("Split the hexagon into six equilateral triangles of side $2$:\n\n"
        "$$\\sum_{k=1}^{6} \\frac{\\sqrt{3}}{4} \\cdot 2^2 = 6\\sqrt{3}.$$\n\n"
        "So the area is $\\boxed{6\\sqrt{3}}$.")


@pytest.fixture
def site(transactional_db, tmp_path):
    """The site alone (no worker, no model server), on the test database."""
    env = dict(os.environ, DATABASE_URL=_database_url(), QB_DEBUG="1", QB_HTTPS="0",
               PYTHONUNBUFFERED="1")
    env.pop("QB_TEST_SQLITE", None)
    port = free_port()
    process = Process("site", ["manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                      tmp_path / "site.log", env)
    try:
        process.wait_for_url(f"http://127.0.0.1:{port}/login/", timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def _hexagon():
    problem = factories.make_problem(
        title="Area of a regular hexagon", tags=["geometry"], reference_answer="6\\sqrt{3}",
        statement="A regular hexagon has side length $2$. Find its area as $a\\sqrt{b}$.")
    solution = solution_create(problem=problem, body=BODY, final_answer="6\\sqrt{3}")
    solution_transition(solution=solution, target=Solution.Status.PUBLISHED, user=None)
    return problem


def _page(browser, viewport):
    context = browser.new_context(viewport=viewport, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


def _height(page, selector: str) -> float:
    return page.locator(selector).bounding_box()["height"]


def test_phone_menu_is_compact_and_works_without_javascript(site, browser, artifacts):
    factories.make_teacher("ada")
    problem = _hexagon()
    context, page = _page(browser, PHONE)
    try:
        page.goto(f"{site}/login/")
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name=re.compile("log in", re.I)).click()
        page.wait_for_load_state()
        page.goto(f"{site}/browse/problems/{problem.pk}/")
        # One line: the brand and a "Menu" control (was ~250 px of links).
        assert _height(page, ".site-header") <= 64
        queue = page.get_by_role("link", name="Review queue")
        assert not queue.is_visible()
        menu = page.locator(".nav-compact > summary")
        assert menu.inner_text().strip().endswith("Menu")
        menu.click()
        assert queue.is_visible() and page.get_by_role("button", name="Log out").is_visible()
        assert menu.inner_text().strip().endswith("Close menu")
        page.screenshot(path=artifacts / "phone-menu-open.png")
        # The open menu lies over the page: it does not push the content down.
        assert _height(page, ".site-header") <= 64
        queue.click()
        page.wait_for_url(re.compile(r"/teach/review/"))
        assert not page.get_by_role("link", name="Review queue").is_visible()

        # A visitor's menu: the student pages and "Log in".
        visitor, page = _page(browser, PHONE)
        try:
            page.goto(f"{site}/browse/")
            assert _height(page, ".site-header") <= 64
            page.locator(".nav-compact > summary").click()
            for name in ("Problems", "Tags", "Log in"):
                assert page.locator(".nav-compact").get_by_role(
                    "link", name=name, exact=True).is_visible(), name
        finally:
            visitor.close()
    finally:
        context.close()


def test_problem_page_answer_maths_and_print(site, browser, artifacts):
    problem = _hexagon()
    factories.make_problem(title="Hexagons and other polygons", statement="Count the sides.")
    for label, viewport in (("1280", DESKTOP), ("390", PHONE)):
        context, page = _page(browser, viewport)
        try:
            page.goto(f"{site}/browse/")
            page.screenshot(path=artifacts / f"home-{label}.png", full_page=True)
            page.get_by_role("searchbox").fill("Hexagons")
            page.get_by_role("button", name="Search").click()
            page.wait_for_url(re.compile(r"q=Hexagons"))
            assert page.locator(".result-title").all_inner_texts() == [problem.title]
            snippet = page.locator(".snippet").first
            assert "$" not in snippet.inner_text() and snippet.locator("math").count() >= 1
            page.screenshot(path=artifacts / f"search-{label}.png", full_page=True)

            page.get_by_role("link", name=problem.title).click()
            answer = page.locator("details.answer > summary")
            assert answer.inner_text().strip() == "Show the final answer"
            answer.click()
            assert answer.inner_text().strip() == "Hide the final answer"
            drawn = page.locator("details.answer .answer math")
            assert drawn.is_visible() and drawn.locator("msqrt").count() == 1
            assert "sqrt" not in page.locator("details.answer").inner_text()
            page.locator("details.solution > summary").click()
            # Display maths at size: the sum is much taller than a line's letters.
            sigma = page.locator(".rendered math[display=block] munderover > mo").first
            assert sigma.bounding_box()["height"] >= 1.4 * 16
            page.screenshot(path=artifacts / f"problem-{label}.png", full_page=True)
            answer.click()
            assert answer.inner_text().strip() == "Show the final answer"

            page.emulate_media(media="print")
            for frame in (".site-header", ".site-footer", ".breadcrumbs", ".prev-next"):
                assert not page.locator(frame).is_visible(), frame
            assert page.get_by_role("heading", name=problem.title).is_visible()
            assert page.locator("details.solution .rendered").is_visible()
            page.screenshot(path=artifacts / f"problem-print-{label}.png", full_page=True)
        finally:
            context.close()
