"""Every page, for every role, in both languages (issue 19).

In Chinese, the visible text of each page (text nodes and the title, placeholder,
aria-label, alt and button-value attributes; not scripts, styles, code or anything marked
with another ``lang``) must hold no English word once the user content seeded here (all
in Chinese, plus the user names) and a short list of words that are English in any
language (product and format names, units, placeholders) are taken out. A string left
out of the translation, or a catalogue that lost one, fails here with the page and the
words. In English, the same pages render with their English words.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from questionbank.models import GenerationJob, Solution
from questionbank.services.api_tokens import token_create
from questionbank.services.generation import batch_create
from questionbank.services.solutions import Concern, solution_create, solution_transition
from questionbank.stored_text import GAVE_UP, english
from tests import factories

# Words that stay English in a Chinese page: names of products, formats and standards,
# units and symbols, syntax the reader types, and the seeded user names.
ALLOWED = re.compile(r"""
    VibeThinker(-1\.5B)? | Moodle | XML | GIFT | CSV | JSON(\s+Lines)? | UTF-8 | API | URL
  | HTTP | HTML | Markdown | LaTeX | Python | WEBUI | Gradio | OpenAI | vLLM | SGLang
  | llama\.cpp | Ollama | Axes | Bearer | Authorization | qb_ | Top-p | top\s+p | p50 | p95
  | CPU | MB | KB | ID | ISO | YYYY-MM-DD(\s+HH:MM)? | Ctrl\+P | OR | AIME | idnumber
  | "integral" | "integrals" | QB_SECRETS_KEY | README\.md | docs/import-formats\.md
  | Secrets\s+at\s+rest | Final\s+answer | \\boxed\{…?\} | csv | jsonl | Django
  | JavaScript | CJK | \ben\b | \d{3}\s+OK | ```\w+ | \\[a-zA-Z]+ | \{\w+\}
  | \b(statement|title|reference_answer|solution|tags|difficulty|kind|source|language
       |external_id|input|output|tolerance|problems)\b(?=["\s]*(列|:|”|"))
  | UTC | Control | Command | Mac | H?MAC
  | https?://\S+ | \w+_\w+ | /\w+ | \{[^{}]*\} | \[[^\[\]]*\]
  | \((gradio|openai)\)
  | laoshi | xuesheng | guanliyuan | \b[a-z]\b
""", re.VERBOSE)
# Django's own admin templates: the search box's icon has alt="Search" in every language,
# and a boolean is shown as an icon whose alt text is True, False or None.
ALLOWED_IN_ADMIN = re.compile(r"^(Search|True|False|None)$")
ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")
SKIPPED = {"script", "style", "code", "pre", "textarea", "svg", "math", "kbd", "samp"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


class VisibleText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden from this check)
        self.texts: list[str] = []

    def _hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        lang = attrs.get("lang")
        hidden = (self._hidden() or tag in SKIPPED
                  or (lang is not None and not lang.startswith("zh")))
        if not hidden:
            self.texts += [attrs[a] for a in ATTRIBUTES if attrs.get(a)]
            if tag == "input" and attrs.get("type") in ("submit", "button"):
                self.texts.append(attrs.get("value") or "")
        if tag not in VOID:
            self.stack.append((tag, hidden))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self._hidden() and data.strip():
            self.texts.append(data)


def english_left(html: str, *, admin: bool = False) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    left = []
    for text in parser.texts:
        if admin and ALLOWED_IN_ADMIN.match(text.strip()):
            continue
        rest = ALLOWED.sub(" ", text)
        if ENGLISH_WORD.search(rest):
            left.append(" ".join(text.split())[:120])
    return sorted(set(left))


@pytest.fixture
def bank(db):
    """A small bank, all of its content in Chinese."""
    teacher = factories.make_teacher("laoshi")
    student = factories.make_student("xuesheng")
    admin = factories.make_admin("guanliyuan")
    tag = factories.TagFactory(name="几何")
    problem = factories.make_problem(
        title="长方形的面积", statement="长方形的长是 $6$，宽是 $4$，求面积。",
        reference_answer="24", tags=[tag], created_by=teacher)
    other = factories.make_problem(
        title="三角形的周长", statement="边长为 3、4、5 的三角形，周长是多少？",
        reference_answer="12", tags=[tag])
    template = factories.make_template(name="数学模板", description="逐步推理")
    endpoint = factories.make_endpoint(name="本地服务器")
    published = solution_create(problem=problem, body="面积是 $6 \\times 4 = \\boxed{24}$。",
                                final_answer="24", problem_version=problem.version,
                                template=template)
    solution_transition(solution=published, target=Solution.Status.PUBLISHED, user=teacher,
                        confirm=Concern.LABELS)
    draft = solution_create(problem=problem, body="面积是 $\\boxed{25}$。", final_answer="25",
                            problem_version=problem.version, template=template)
    batch = batch_create(problems=[problem, other], template=template, endpoints=[endpoint],
                         samples=1, created_by=teacher, name="第一批")
    failed = batch.jobs.get(problem=other)
    GenerationJob.objects.filter(pk=failed.pk).update(
        status=GenerationJob.Status.FAILED, attempts=4, endpoint=endpoint,
        last_error=english(GAVE_UP, error="服务器没有响应。", attempts=4))
    failed.refresh_from_db()
    call = factories.make_call_log(job=failed, error_message="服务器没有响应。")
    token_create(user=teacher, name="教务系统")
    return {"teacher": teacher, "student": student, "admin": admin, "problem": problem,
            "tag": tag, "published": published, "draft": draft, "template": template,
            "endpoint": endpoint, "batch": batch, "job": failed, "call": call}


# Every Chinese character the bank above holds.
SEEDED = ("长方形的面积长是宽求三角形周长边为多少几何数学模板逐步推理本地服务器第一批教务系统"
          "没有响应面积是不存在的词")


def student_pages(b):
    p, problems = b["problem"].pk, reverse("browse:problem-list")
    return [
        reverse("browse:home"), problems, problems + "?q=面积", problems + "?q=不存在的词",
        reverse("browse:problem-detail", args=[p]), problems + "?print=1&solutions=1",
        reverse("browse:tag-list"), reverse("browse:tag", args=[b["tag"].slug]),
        reverse("browse:problem-detail", args=[999999]),
    ]


def teacher_pages(b):
    p, s, d = b["problem"].pk, b["published"].pk, b["draft"].pk
    t, batch, job = b["template"].pk, b["batch"].pk, b["job"].pk
    return [
        reverse("teacher:dashboard"), reverse("teacher:problem-list"),
        reverse("teacher:problem-create"), reverse("teacher:problem-detail", args=[p]),
        reverse("teacher:problem-edit", args=[p]), reverse("teacher:review-queue"),
        reverse("teacher:solution-review", args=[d]), reverse("teacher:solution-review", args=[s]),
        reverse("teacher:solution-edit", args=[d]), reverse("teacher:solution-history", args=[s]),
        reverse("teacher:solution-compare", args=[s, d]), reverse("teacher:template-list"),
        reverse("teacher:template-detail", args=[t]) + f"?problem={p}",
        reverse("teacher:template-create"), reverse("teacher:template-edit", args=[t]),
        reverse("teacher:batch-list"), reverse("teacher:batch-detail", args=[batch]),
        reverse("teacher:generate") + f"?problems={p}", reverse("teacher:import"),
        reverse("teacher:export"), reverse("teacher:job-calls", args=[job]),
        reverse("api-tokens"),
    ]


def admin_pages(b):
    return [
        reverse("admin:index"), reverse("admin:questionbank_problem_changelist"),
        reverse("admin:questionbank_problem_change", args=[b["problem"].pk]),
        reverse("admin:questionbank_problem_import"),
        reverse("admin:questionbank_solution_changelist"),
        reverse("admin:questionbank_solution_change", args=[b["published"].pk]),
        reverse("admin:questionbank_calllog_changelist"),
        reverse("admin:questionbank_calllog_change", args=[b["call"].pk]),
        reverse("admin:questionbank_calllog_stats"), reverse("admin:questionbank_calllog_verify"),
        reverse("admin:questionbank_modelendpoint_changelist"),
        reverse("admin:questionbank_modelendpoint_change", args=[b["endpoint"].pk]),
        reverse("admin:questionbank_generationbatch_changelist"),
        reverse("admin:questionbank_generationbatch_change", args=[b["batch"].pk]),
        reverse("admin:questionbank_prompttemplate_changelist"),
    ]


ROLES = {
    "anonymous": (None, lambda b: [*student_pages(b), reverse("login"), reverse("admin:login")]),
    "student": ("student", lambda b: [*student_pages(b), reverse("api-tokens"),
                                      reverse("teacher:dashboard")]),  # the last is a 403
    "teacher": ("teacher", teacher_pages),
    "admin": ("admin", admin_pages),
}


def client_for(bank, role: str, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    user = ROLES[role][0]
    if user:
        client.force_login(bank[user])
    return client


@pytest.mark.parametrize("role", ROLES)
def test_every_page_in_chinese(bank, role):
    client = client_for(bank, role, "zh-CN,zh;q=0.9")
    failures = {}
    for url in ROLES[role][1](bank):
        response = client.get(url)
        assert response.status_code in (200, 403, 404), (url, response.status_code)
        page = response.content.decode()
        assert '<html lang="zh-hans"' in page or 'lang="zh-hans"' in page[:400], url
        left = english_left(page, admin=url.startswith("/admin/"))
        if left:
            failures[url] = left
    assert not failures, "English left on Chinese pages:\n" + "\n".join(
        f"{url}: {words}" for url, words in failures.items())


@pytest.mark.parametrize("role", ROLES)
def test_every_page_in_english(bank, role):
    client = client_for(bank, role, "en-GB,en;q=0.9")
    for url in ROLES[role][1](bank):
        response = client.get(url)
        assert response.status_code in (200, 403, 404), (url, response.status_code)
        page = response.content.decode()
        assert 'lang="en-gb"' in page[:400] or 'lang="en"' in page[:400], url
        assert "简体中文" in page, f"no language switcher on {url}"
        # Chinese appears only as the seeded content and the switcher's own label.
        words = set(re.findall(r"[\u4e00-\u9fff]+", page)) - {"简体中文"}
        assert all(set(w) <= set(SEEDED) for w in words), (url, words)
