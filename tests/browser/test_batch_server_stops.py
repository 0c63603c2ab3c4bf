"""Issue 12, point 4: the model server stops in the middle of a batch, and the batch page
says so, live, without being reloaded: paused, why, and when it tries again.

Everything is real: the site (runserver), a django-q2 worker (qcluster), the Gradio stand-in
WEBUI (stopped mid-batch) and headless Chromium. Screenshots of the page with the paused
server, at 1280 px and at 390 px wide, go to artifacts/.
"""

from __future__ import annotations

import re

import pytest

from questionbank.models import GenerationJob, ModelEndpoint
from questionbank.services.endpoints import endpoint_create
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.cluster,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "correct horse battery staple"
# Generous: the worker starts and discovers the stand-in before the first answer streams.
FIRST_ANSWERS_MS = 150_000


def _login(page, base, username):
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("log in", re.I)).click()
    page.wait_for_load_state()


def _buttons_clear_of_the_next_line(page) -> list[str]:
    """Buttons on the page whose box overlaps the next element below them."""
    return page.evaluate("""() => {
      const bad = [];
      for (const b of document.querySelectorAll('main .button, .container .button')) {
        const r = b.getBoundingClientRect();
        if (!r.width || !r.height) continue;
        let el = b.closest('.page-head, .card-head, .bulkbar') || b.parentElement;
        let next = el.nextElementSibling;
        while (next && !next.getBoundingClientRect().height) next = next.nextElementSibling;
        if (!next) continue;
        const n = next.getBoundingClientRect();
        if (r.bottom > n.top + 1 && r.top < n.bottom) bad.push(b.textContent.trim());
      }
      return bad;
    }""")


def test_the_batch_page_says_live_that_the_server_stopped(app_stack, browser, artifacts):
    base = app_stack["site"]
    factories.make_teacher("ada")
    endpoint = endpoint_create(name="Stand-in WEBUI", base_url=app_stack["standin"],
                               protocol="gradio", is_standin=True)
    factories.make_template(name="Step by step", kind="maths", temperature=1.0)
    problems = [factories.make_problem(title=f"Sum number {n}", statement=f"What is {n}+{n}?",
                                       reference_answer=str(2 * n), status="ready")
                for n in range(1, 9)]

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        _login(page, base, "ada")
        # Tick all on the problem list, generate.
        page.goto(f"{base}/teach/problems/?status=ready")
        page.locator("[data-select-all]").check()
        page.get_by_label("With the ticked problems:").select_option("generate")
        page.get_by_role("button", name="Apply").click()
        page.get_by_text(f"For {len(problems)} problems").wait_for()
        page.get_by_label(re.compile("Stand-in WEBUI")).check()
        page.get_by_role("button", name="Start generation").click()
        page.wait_for_url(re.compile(r"/teach/batches/\d+/"))
        page.evaluate("window.__notReloaded = true")

        # Two answers arrive, then the model server stops.
        page.wait_for_function(
            "Number(document.querySelector('[data-count=succeeded]').textContent) >= 2",
            timeout=FIRST_ANSWERS_MS)
        app_stack["logs"]["stand-in WEBUI"].stop()

        # Without a reload, the page says the server is paused, why, and when it retries.
        why = page.locator("[data-waiting] [data-reason=paused]")
        why.wait_for(timeout=90_000)
        text = why.inner_text()
        endpoint.refresh_from_db()
        assert endpoint.is_paused, app_stack["logs"]["worker"].tail()
        assert re.search(r"Model server “Stand-in WEBUI” is paused after \d+ failures in a "
                         r"row\.", text), text
        assert "Last error: The model server at" in text
        assert re.search(r"Next try at \d\d:\d\d:\d\d \(in ", text), text
        assert page.evaluate("window.__notReloaded") is True
        line = page.locator(".big-progress").inner_text()
        assert "waiting: the server is paused, next try at" in line and "left" not in line, line
        assert page.locator("[data-live-state]").inner_text() == "Waiting…"
        # The job rows moved too: the ones that failed an attempt say so, with the reason.
        rows = page.locator("table.jobs tbody tr")
        assert rows.count() == len(problems)
        assert page.locator("table.jobs [data-status=succeeded]").count() >= 2
        retrying = GenerationJob.objects.filter(batch__endpoints=endpoint, status="queued",
                                                attempts__gt=0)
        assert retrying.exists()
        for job in retrying:
            row = page.locator(f"#job-{job.pk}")
            assert "Waiting to retry" in row.inner_text()
            assert "waits for the paused server, until" in row.inner_text()
        assert "ConnectFailed (HTTP 200)" not in page.content()
        page.screenshot(path=str(artifacts / "batch-paused-1280.png"), full_page=True)

        # The same page on a phone: nothing overlaps, the reason is still there.
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        assert page.locator("[data-waiting] [data-reason=paused]").is_visible()
        assert _buttons_clear_of_the_next_line(page) == []
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
        page.screenshot(path=str(artifacts / "batch-paused-390.png"), full_page=True)
    finally:
        context.close()
    assert ModelEndpoint.objects.get(pk=endpoint.pk).consecutive_failures >= 3
