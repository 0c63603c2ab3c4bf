"""Rendering on the teacher pages: maths and code render; model output and user text
(XSS payloads in every field a teacher page shows) stay inert."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from questionbank.models import GenerationJob
from questionbank.services.solutions import solution_add_revision
from tests import factories
from tests.review_helpers import make_job, make_solution
from tests.test_rendering import XSS_PAYLOADS

pytestmark = pytest.mark.django_db

# Our own scripts, by src; any other script element is an injection.
OWN_SCRIPTS = {"/static/js/preview.js", "/static/js/select.js", "/static/js/batch.js",
               "/jsi18n/"}  # Django's JavaScript catalog: the scripts' translated strings
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"}


class _Audit(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src") not in OWN_SCRIPTS:
            self.problems.append(f"script element {attrs}")
        if tag in {"iframe", "object", "embed", "style", "base", "meta", "svg"} and not (
            tag == "meta" and set(attrs) <= {"charset", "name", "content"}
            and "http-equiv" not in attrs
        ):
            self.problems.append(f"<{tag}> element")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name in URL_ATTRS and value:
                squeezed = "".join(value.split()).lower()
                if squeezed.startswith(("javascript:", "vbscript:", "data:")):
                    self.problems.append(f"{name}={value!r} on <{tag}>")
            if name == "style" and tag != "span":
                self.problems.append(f"style attribute on <{tag}>")

    handle_startendtag = handle_starttag


def assert_inert(html: str):
    audit = _Audit()
    audit.feed(html)
    audit.close()
    assert audit.problems == []




@pytest.fixture
def hostile(teacher):
    """A problem, solution, job and template whose every text field carries payloads."""
    blob = "\n\n".join(XSS_PAYLOADS)
    tag = factories.TagFactory(name='<img src=x onerror=alert("tag")>')
    problem = factories.make_problem(title='<script>alert("title")</script>', statement=blob,
                                     reference_answer="<svg onload=alert(1)>", tags=[tag])
    template = factories.make_template(name='<iframe src="javascript:alert(1)">',
                                       description=blob)
    job = make_job(problem=problem, template=template, user=teacher)
    GenerationJob.objects.filter(pk=job.pk).update(
        status=GenerationJob.Status.FAILED, last_error=blob,
    )
    solution = make_solution(problem=problem, template=template, body=blob, reasoning=blob,
                             final_answer='"><script>alert("answer")</script>', job=job)
    solution_add_revision(solution=solution, body=blob + "\n\nedited <b onmouseover=x>",
                          author=teacher, note='<script>alert("note")</script>')
    other = make_solution(problem=problem, body="<img src=x onerror=alert(2)>")
    return {"problem": problem, "solution": solution, "other": other, "template": template,
            "batch": job.batch}


@pytest.mark.parametrize("page", ["review", "queue", "edit", "history", "diff", "compare",
                                  "batch", "problem", "template", "dashboard"])
def test_payloads_are_inert_on_teacher_pages(teacher_client, hostile, page):
    s, o = hostile["solution"].pk, hostile["other"].pk
    url = {
        "review": reverse("teacher:solution-review", args=[s]),
        "queue": reverse("teacher:review-queue"),
        "edit": reverse("teacher:solution-edit", args=[s]),
        "history": reverse("teacher:solution-history", args=[s]),
        "diff": reverse("teacher:solution-history", args=[s]) + "?a=2&b=1",
        "compare": reverse("teacher:solution-compare", args=[s, o]),
        "batch": reverse("teacher:batch-detail", args=[hostile["batch"].pk]),
        "problem": reverse("teacher:problem-detail", args=[hostile["problem"].pk]),
        "template": reverse("teacher:template-detail", args=[hostile["template"].pk])
        + f"?problem={hostile['problem'].pk}",
        "dashboard": reverse("teacher:dashboard"),
    }[page]
    response = teacher_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert_inert(html)
    # The payload text is still there for the teacher to read, escaped.
    assert "alert" in html


def test_partial_text_in_the_progress_json_is_plain_text(teacher_client, hostile):
    job = hostile["batch"].jobs.get()
    GenerationJob.objects.filter(pk=job.pk).update(
        status=GenerationJob.Status.RUNNING, partial_text="<script>alert(1)</script> x",
        started_at=job.created_at,
    )
    data = teacher_client.get(reverse("teacher:batch-progress", args=[hostile["batch"].pk])
                              ).json()
    # JSON carries the raw text; batch.js inserts it with textContent only.
    assert data["running"][0]["partial_text"] == "<script>alert(1)</script> x"
    html = teacher_client.get(reverse("teacher:batch-detail", args=[hostile["batch"].pk])
                              ).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; x" in html
    assert_inert(html)


def test_preview_view_output_is_inert(teacher_client):
    for payload in XSS_PAYLOADS:
        response = teacher_client.post(reverse("teacher:preview"), {"text": payload})
        assert_inert(response.content.decode())


MATHS = [
    ("inline dollars", r"Then $x^2 + y^2 = z^2$ holds."),
    ("display dollars", r"$$\frac{a}{b} = \sqrt{c}$$"),
    ("inline parens", r"Then \(a_i \le b_i\) for all i."),
    ("display brackets", r"\[\sum_{k=1}^{n} k = \frac{n(n+1)}{2}\]"),
]


@pytest.mark.parametrize(("label", "text"), MATHS, ids=[m[0] for m in MATHS])
def test_maths_renders_on_the_review_page(teacher_client, label, text):
    s = make_solution(body=f"{text}\n\nSo the answer is $\\boxed{{4}}$.")
    html = teacher_client.get(s.get_absolute_url()).content.decode()
    assert "<math" in html and "qb-boxed" in html
    assert "$" not in html.split('id="solution-h"')[1].split("</article>")[0]


def test_code_is_highlighted_on_the_review_page(teacher_client):
    s = make_solution(body="```python\ndef f(x):\n    return x < 2\n```")
    html = teacher_client.get(s.get_absolute_url()).content.decode()
    assert 'class="k"' in html or 'class="kn"' in html  # Pygments token classes
    assert "&lt;" in html and "x < 2" not in html
