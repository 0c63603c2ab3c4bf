"""The teacher's flow once in Simplified Chinese (issue 19), in a browser that asks for
Chinese: generate, follow the batch live (the scripts' strings come from the JavaScript
catalog), review, edit, publish; switch the language and back with the switcher; a student
reads the explanation. Then the main pages at phone and desktop widths in both languages:
screenshots in artifacts/i18n-*.png, and no page scrolls sideways or clips a button.

Everything is real, as in test_teacher_flow.py: site, worker, stand-in WEBUI, Chromium.
"""

from __future__ import annotations

import re

import pytest

from questionbank.models import Solution
from tests import factories
from tests.browser.test_teacher_flow import (
    GENERATION_TIMEOUT_MS,
    PASSWORD,
    _teacher_with_stand_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.cluster,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Buttons and links styled as buttons whose text is cut off, and pages wider than the
# window (something does not wrap).
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    problems.push(`page is ${document.documentElement.scrollWidth}px wide`);
  const buttons = 'button, .button, summary.button, input[type=submit]';
  for (const el of document.querySelectorAll(buttons)) {
    // Not shown: a closed menu, a hidden section.
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    const box = el.getBoundingClientRect();
    if (el.scrollWidth > el.clientWidth + 1 || box.right > window.innerWidth + 1)
      problems.push(`button "${(el.innerText || el.value).trim()}" is clipped`);
  }
  return problems;
}"""


def _context(browser, *, width: int, locale: str):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


def _login(page, base, username, *, user_label="用户名", password_label="密码",
           button="登录"):
    page.goto(f"{base}/login/")
    page.get_by_label(user_label).fill(username)
    page.get_by_label(password_label).fill(PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()


def test_teacher_flow_in_chinese(app_stack, browser, artifacts):
    base = app_stack["site"]
    _teacher_with_stand_in(app_stack)
    factories.make_student("sam")
    problem = factories.make_problem(
        title="两个小数相加",
        statement="What is $2+3$? Explain briefly. [[standin:delay=10]]",
        reference_answer="5", tags=["算术"])

    context, page = _context(browser, width=1360, locale="zh-CN")
    try:
        _login(page, base, "ada")
        assert page.locator("html").get_attribute("lang") == "zh-hans"
        assert page.get_by_role("heading", name="工作台").is_visible()

        page.goto(f"{base}/teach/problems/{problem.pk}/")
        page.get_by_role("link", name="生成解答").click()
        page.get_by_label(re.compile("Stand-in WEBUI")).check()
        page.get_by_role("button", name="开始生成").click()
        page.wait_for_url(re.compile(r"/teach/batches/\d+/"))
        assert page.get_by_text("已开始生成").is_visible()
        page.wait_for_selector("[data-running-section]:not([hidden])",
                               timeout=GENERATION_TIMEOUT_MS)
        # Written by batch.js from the JavaScript catalog while the call runs.
        assert page.locator("[data-live-state]").inner_text() in ("运行中…", "等待中…")
        page.get_by_text("已完成。", exact=True).wait_for(timeout=GENERATION_TIMEOUT_MS)
        assert page.locator("[data-count=succeeded]").inner_text() == "1", (
            app_stack["logs"]["worker"].tail())

        page.get_by_role("link", name="审阅队列").first.click()
        page.get_by_role("link", name="两个小数相加").click()
        page.wait_for_url(re.compile(r"/teach/solutions/\d+/"))
        solution = Solution.objects.get(problem=problem)
        assert page.get_by_text("模拟服务器的答案。").is_visible()
        assert page.get_by_text("与参考答案一致").first.is_visible()

        page.get_by_role("link", name="编辑讲解").click()
        page.get_by_label("讲解").fill("把两个数相加：$2 + 3 = 5$。\n\n所以答案是 $\\boxed{5}$。")
        page.locator("#preview-pane").get_by_text("把两个数相加").wait_for()
        page.get_by_label("你修改了什么？").fill("改成中文讲解")
        page.get_by_role("button", name="保存为新的修订版本").click()
        page.get_by_text("已保存为修订版本 2。").wait_for()

        page.get_by_role("button", name="发布…", exact=True).click()
        # The click posts a form: wait for the page it leads to before looking.
        page.get_by_text("尚未发布任何内容。").wait_for()
        assert page.get_by_text("尚未发布任何内容。").is_visible()
        page.get_by_label(re.compile("它来自模拟服务器")).check()
        page.get_by_role("button", name="仍然发布").click()
        page.get_by_text("已发布：学生现在可以阅读这份解答了。").wait_for()
        solution.refresh_from_db()
        assert solution.status == Solution.Status.PUBLISHED

        # The switcher: to English and back, on the same page, remembered across pages.
        page.locator(".nav-wide").get_by_role("button", name="English").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "en-gb"
        assert page.get_by_role("link", name="Edit explanation").is_visible()
        page.goto(f"{base}/teach/")
        assert page.get_by_role("heading", name="Dashboard").is_visible()
        page.locator(".nav-wide").get_by_role("button", name="简体中文").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="工作台").is_visible()
    finally:
        context.close()

    # A student whose browser asks for Chinese reads it.
    context, page = _context(browser, width=390, locale="zh-CN")
    try:
        _login(page, base, "sam")
        page.goto(f"{base}/browse/problems/{problem.pk}/")
        page.get_by_text("显示详细解答").click()
        page.get_by_text("把两个数相加").wait_for()
        page.screenshot(path=str(artifacts / "i18n-zh-390-student-problem.png"), full_page=True)
    finally:
        context.close()

    _layout_in_both_languages(app_stack, browser, artifacts, problem, solution)


def _layout_in_both_languages(app_stack, browser, artifacts, problem, solution):
    base = app_stack["site"]
    pages = {
        "home": "/browse/", "list": "/browse/problems/?q=2",
        "problem": f"/browse/problems/{problem.pk}/",
        "dashboard": "/teach/", "review-queue": "/teach/review/",
        "review": f"/teach/solutions/{solution.pk}/",
        "edit": f"/teach/solutions/{solution.pk}/edit/", "batches": "/teach/batches/",
        "problems": "/teach/problems/", "import": "/teach/import/",
    }
    problems = {}
    for locale, lang in (("zh-CN", "zh"), ("en-GB", "en")):
        for width in (390, 1360):
            context, page = _context(browser, width=width, locale=locale)
            try:
                _login(page, base, "ada", **({} if lang == "zh" else {
                    "user_label": "Username", "password_label": "Password",
                    "button": "Log in"}))
                for name, path in pages.items():
                    page.goto(base + path)
                    page.screenshot(path=str(artifacts / f"i18n-{lang}-{width}-{name}.png"),
                                    full_page=True)
                    found = page.evaluate(LAYOUT_PROBLEMS)
                    if found:
                        problems[f"{lang} {width}px {name}"] = found
            finally:
                context.close()
    assert not problems, problems
