"""questionbank.rendering: Markdown, maths, code, and that nothing can run script."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.template import Context, Template

from questionbank import rendering
from questionbank.rendering import (
    pygments_css,
    render_answer,
    render_inline,
    render_markdown,
    render_math,
    sanitize_html,
    split_reasoning,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fresh_parser(monkeypatch):
    """Each test renders with a parser built for it: the set-up in ``_build_markdown`` runs
    under test instead of once at import."""
    monkeypatch.setattr(rendering, "_MARKDOWN", rendering._build_markdown())


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(fragment: str) -> _Collector:
    collector = _Collector()
    collector.feed(fragment)
    collector.close()
    return collector


def find(fragment: str, tag: str) -> list[dict[str, str | None]]:
    return [attrs for name, attrs in parse(fragment).elements if name == tag]


def text_of(fragment: str) -> str:
    return "".join(parse(fragment).text)


# Independent of the module's own allowlist on purpose: a change there must show up here.
EXPECTED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li",
    "strong", "em", "b", "i", "s", "del", "sub", "sup", "code", "pre", "span", "div", "a",
    "img", "table", "thead", "tbody", "tr", "th", "td",
    "math", "semantics", "annotation", "merror", "mfrac", "mi", "mn", "mo", "mover",
    "mpadded", "mphantom", "mroot", "mrow", "mspace", "msqrt", "mstyle", "msub", "msubsup",
    "msup", "mtable", "mtd", "mtext", "mtr", "munder", "munderover", "mmultiscripts",
    "mprescripts",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "xlink:href", "action", "formaction", "data", "background"}
SAFE_URL = re.compile(r"^(?:https?:|mailto:|[^:]*$|[^:]*[/?#])", re.IGNORECASE)


def assert_inert(fragment: str) -> None:
    """No element, attribute or URL in ``fragment`` can run script or load active content."""
    for tag, attrs in parse(fragment).elements:
        assert tag in EXPECTED_TAGS, f"unexpected <{tag}> in {fragment!r}"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name} in {fragment!r}"
            assert name not in {"style", "srcdoc", "formaction", "action", "xlink:href"}, name
            if name in URL_ATTRIBUTES:
                assert (tag, name) in {("a", "href"), ("img", "src")}, (tag, name)
                # Browsers ignore whitespace and control characters inside a scheme.
                url = re.sub(r"[\x00-\x20]", "", html.unescape(value or "")).lower()
                assert not url.startswith(("javascript:", "data:", "vbscript:")), url
                assert SAFE_URL.match(url), url
            if name == "class":
                assert "javascript" not in (value or "").lower()


# --- Maths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "display"),
    [
        (r"Let $x^2$ be.", "inline"),
        (r"Let \(x^2\) be.", "inline"),
        ("$$x^2$$", "block"),
        ("$$\nx^2\n$$", "block"),
        (r"\[x^2\]", "block"),
        ("\\[\nx^2\n\\]", "block"),
        ("Then $$x^2$$ follows.", "block"),
        (r"Then \[x^2\] follows.", "block"),
        ("```math\nx^2\n```", "block"),
    ],
)
def test_every_maths_delimiter_renders_mathml(source, display):
    out = render_markdown(source)
    maths = find(out, "math")
    assert [m["display"] for m in maths] == [display]
    assert find(out, "msup"), out
    assert "$" not in text_of(out).replace("x^2", "")  # delimiters consumed
    assert_inert(out)


def test_display_maths_inside_a_paragraph_does_not_break_the_paragraph():
    out = render_markdown(r"Then \[x = 1\] follows.")
    # A <div> inside <p> would make the browser close the paragraph early.
    assert re.search(r"<p>Then <span class=\"math math-display\"><math display=\"block\">", out)
    assert out.strip().endswith("follows.</p>")


def test_display_block_is_a_div_and_inline_is_bare_math():
    assert render_markdown("$$a$$").startswith('<div class="math math-display"><math display')
    assert render_markdown("$a$").startswith('<p><math display="inline">')


def test_amsmath_environment_without_delimiters():
    out = render_markdown("\\begin{align}\na &= b \\\\\nc &= d\n\\end{align}")
    assert len(find(out, "mtr")) == 2
    assert find(out, "math")[0]["display"] == "block"


@pytest.mark.parametrize("environment", ["aligned", "gathered", "equation*", "alignat*"])
def test_environments_latex2mathml_lacks_are_rewritten(environment):
    extra = "{2}" if environment == "alignat*" else ""
    out = render_math(
        rf"\begin{{{environment}}}{extra}a&=b\\c&=d\end{{{environment}}}", display=True
    )
    assert "math-error" not in out
    assert "&amp;" not in text_of(out.split("<annotation")[0])  # alignment & not shown as text
    if environment != "equation*":
        assert len(find(out, "mtr")) == 2


def test_boxed_renders_as_bordered_mrow():
    out = render_markdown(r"The answer is $\boxed{\frac{\sqrt{3}}{2}}$.")
    boxed = [attrs for tag, attrs in parse(out).elements if attrs.get("class") == "qb-boxed"]
    assert len(boxed) == 1
    assert find(out, "mfrac") and find(out, "msqrt")
    assert "menclose" not in out


def test_fbox_renders_as_bordered_mrow():
    assert 'class="qb-boxed"' in render_markdown(r"$\fbox{7}$")


def test_tex_source_kept_as_annotation():
    out = render_markdown(r"$\frac{a}{b}$")
    assert '<annotation encoding="application/x-tex">\\frac{a}{b}</annotation>' in out


def test_unparseable_tex_falls_back_to_source_without_crashing():
    out = render_markdown(r"Bad $\frac{1}{$ here")
    codes = find(out, "code")
    assert codes == [{"class": "math-error", "title": "This formula could not be displayed"}]
    assert r"\frac{1}{" in text_of(out)
    assert not find(out, "math")


def test_unknown_command_is_marked_not_dropped():
    out = render_math(r"\foo + 1", display=False)
    assert find(out, "merror") == [{"class": "math-unknown"}]
    assert r"\foo" in text_of(out)


def test_huge_or_deeply_nested_tex_does_not_crash():
    deep = "$" + "{" * 3000 + "x" + "}" * 3000 + "$"
    out = render_markdown(deep)
    assert_inert(out)
    assert render_math("x+" * 5000 + "1", display=True).count("math-error") == 1


def test_currency_is_not_maths():
    out = render_markdown("It costs $5 and $10 in total.")
    assert not find(out, "math")
    assert "$5 and $10" in text_of(out)


def test_escaped_dollar_and_escaped_backslash_paren_are_not_maths():
    assert not find(render_markdown(r"Price \$5, then \$6."), "math")
    assert not find(render_markdown(r"\\(not maths\\)"), "math")


def test_markdown_emphasis_does_not_apply_inside_maths():
    out = render_markdown(r"$a*b*c$ and $x_1 + y_1$")
    assert not find(out, "em")
    assert len(find(out, "msub")) == 2


def test_maths_colour_and_href_attributes_are_filtered():
    out = render_markdown(r"$\color{red}{x} + \href{javascript:alert(1)}{y}$")
    assert {"mathcolor": "red"} in find(out, "mstyle")
    assert "javascript" not in out.split("<annotation")[0]


# --- Code, tables, links ---------------------------------------------------------------------


def test_python_fence_is_highlighted_with_classes_not_styles():
    out = render_markdown("```python\ndef f(x):\n    return x < 2\n```")
    assert find(out, "pre") == [{"class": "highlight"}]
    classes = {attrs.get("class") for attrs in find(out, "span")}
    assert {"k", "nf", "o", "mi"} <= classes
    assert "style=" not in out
    assert "x &lt; 2" not in out  # highlighted, so x and < are separate spans
    assert "return x < 2" in text_of(out)


@pytest.mark.parametrize("info", ["nosuchlanguage", "", "<script>", '"><img src=x onerror=1>'])
def test_unknown_or_missing_language_is_plain_escaped_text(info):
    out = render_markdown(f"```{info}\nif a<b: print('<b>')\n```")
    assert not find(out, "span")
    assert not find(out, "b")
    assert "if a<b: print('<b>')" in text_of(out)
    assert_inert(out)


def test_indented_code_block():
    out = render_markdown("Text\n\n    x = 1\n")
    assert find(out, "pre") and "x = 1" in text_of(out)


def test_table_with_alignment():
    out = render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |")
    assert [a.get("class") for a in find(out, "th")] == [
        "align-left",
        "align-center",
        "align-right",
    ]
    assert len(find(out, "td")) == 3
    assert "style" not in out


def test_strikethrough_and_lists():
    out = render_markdown("~~old~~\n\n1. one\n2. two\n")
    assert find(out, "s") and len(find(out, "li")) == 2


@pytest.mark.parametrize(
    ("source", "href"),
    [
        ("[doc](https://example.org/a?b=1)", "https://example.org/a?b=1"),
        ("[doc](http://example.org)", "http://example.org"),
        ("[mail](mailto:teacher@example.org)", "mailto:teacher@example.org"),
        ("[rel](/problems/3/)", "/problems/3/"),
        ("<https://example.org>", "https://example.org"),
    ],
)
def test_allowed_links_keep_href_and_get_rel(source, href):
    links = find(render_markdown(source), "a")
    assert links == [{"href": href, "rel": "nofollow noopener noreferrer"}]


def test_images_http_and_relative_only_lazy_without_referrer():
    out = render_markdown("![d](https://example.org/d.png) ![r](/static/r.png)")
    images = find(out, "img")
    assert [i["src"] for i in images] == ["https://example.org/d.png", "/static/r.png"]
    assert all(i["loading"] == "lazy" and i["referrerpolicy"] == "no-referrer" for i in images)


def test_linkify_is_off():
    assert not find(render_markdown("see www.example.org or https://example.org"), "a")


def test_raw_html_is_shown_as_text():
    out = render_markdown("Compare a<b and vector<int>, <b>not bold</b>")
    assert not find(out, "b")
    assert "a<b and vector<int>, <b>not bold</b>" in text_of(out)


def test_render_inline_has_no_paragraph():
    out = render_inline(r"Sum of $x^2$ and **y**")
    assert not find(out, "p")
    assert find(out, "math") and find(out, "strong")


@pytest.mark.parametrize("empty", ["", None])
def test_empty_input(empty):
    assert render_markdown(empty) == ""
    assert render_inline(empty) == ""


def test_committed_pygments_stylesheet_is_current():
    committed = (REPO / "static" / "css" / "pygments.css").read_text()
    assert committed == pygments_css()
    assert "pre {" not in committed  # only .highlight rules, nothing site-wide


# --- XSS -------------------------------------------------------------------------------------

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle/></svg>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;&#x61;vascript&#x3A;alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![img](javascript:alert(1))",
    "[ref][x]\n\n[x]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<div style="width: expression(alert(1))">x</div><style>*{x:expression(alert(1))}</style>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<form action="javascript:alert(1)"><input type=submit>'
    '<button formaction="javascript:alert(1)">go</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>',
    '<math><annotation-xml encoding="text/html"><script>alert(1)</script></annotation-xml></math>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "$<script>alert(1)</script>$",
    "$$<img src=x onerror=alert(1)>$$",
    r"$\text{<script>alert(1)</script>}$",
    r"$\href{javascript:alert(1)}{click}$",
    r"\(<svg/onload=alert(1)>\)",
    r"\[\mathrm{<iframe src=javascript:alert(1)>}\]",
    "<think><img src=x onerror=alert(1)></think>Answer",
    "</think><script>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    '```"><script>alert(1)</script>\ncode\n```',
    "<!-- --><script>alert(1)</script><!-- -->",
    "<a href='jav&#x09;ascript:alert(1)'>x</a>",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_in_model_output_is_inert(payload):
    reasoning, explanation = split_reasoning(f"<think>thinking {payload}</think>\n\n{payload}")
    assert_inert(render_markdown(explanation))
    assert_inert(render_markdown(reasoning))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_in_problem_statement_is_inert(payload):
    statement = f"Solve for $x$.\n\n{payload}\n\n- item {payload}\n\n> quote {payload}"
    assert_inert(render_markdown(statement))
    assert_inert(render_inline(payload))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_sanitizer_alone_neutralises_raw_html_payload(payload):
    # Defence in depth: even if Markdown let raw HTML through, nh3 must stop it.
    assert_inert(sanitize_html(payload))


def test_xss_text_is_visible_not_lost():
    out = render_markdown("<script>alert(1)</script>")
    assert "<script>alert(1)</script>" in text_of(out)


def test_sanitizer_keeps_the_mathml_the_renderer_makes():
    fragment = (
        '<div class="math math-display"><math display="block"><semantics><mrow>'
        '<mrow class="qb-boxed"><mfrac linethickness="0"><mi mathvariant="bold">x</mi>'
        '<mn>2</mn></mfrac></mrow></mrow><annotation encoding="application/x-tex">x</annotation>'
        "</semantics></math></div>"
    )
    assert sanitize_html(fragment) == fragment


def test_sanitizer_drops_foreign_classes_and_annotation_encodings():
    out = sanitize_html(
        '<span class="k btn-danger">x</span><math><semantics><mi>x</mi>'
        '<annotation encoding="text/html">y</annotation></semantics></math>'
    )
    assert find(out, "span") == [{"class": "k"}]
    assert find(out, "annotation") == [{}]


# --- split_reasoning -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reasoning", "explanation"),
    [
        ("<think>plan</think>\n\nThe answer is 4.", "plan", "The answer is 4."),
        ("  <think>never closed because of the token limit", "never closed because of the "
         "token limit", ""),
        ("reasoning without opener</think>Explanation", "reasoning without opener",
         "Explanation"),
        ("Just an explanation.", "", "Just an explanation."),
        ("<THINK>a</THINK>b<think>c</think>d", "a\n\nc", "bd"),
        ("Intro <think>x <think>y</think> outro", "x\n\ny", "Intro  outro"),
        ("", "", ""),
    ],
)  # fmt: skip
def test_split_reasoning(text, reasoning, explanation):
    assert split_reasoning(text) == (reasoning, explanation)


# --- Answers (issue 12): reference and final answers as maths ---------------------------------

@pytest.mark.parametrize(("answer", "expected"), [
    (r"6\sqrt{3}", "<mn>6</mn><msqrt><mrow><mn>3</mn></mrow></msqrt>"),
    (r"\frac{5}{9}", "<mfrac>"),
    ("133", "<mn>133</mn>"),
    ("x = -1", "<mi>x</mi><mo>=</mo><mo>−</mo><mn>1</mn>"),
    (r"$6\sqrt{3}$", "<msqrt>"),
    (r"\text{Alice}", "<mtext>Alice</mtext>"),
])
def test_render_answer_draws_tex_as_inline_maths(answer, expected):
    html = render_answer(answer)
    assert html.startswith('<math display="inline">') and expected in html
    drawn = re.sub(r"<annotation.*?</annotation>", "", html)
    assert "\\" not in drawn and "$" not in drawn  # no TeX source is drawn


@pytest.mark.parametrize(("answer", "expected"), [
    ("Alice wins", "Alice wins"),
    ("YES", "YES"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("", ""),
    (None, ""),
    (r"\frac{", '<code class="math-error" title="This formula could not be displayed">'
                r"\frac{</code>"),
])
def test_render_answer_keeps_words_as_words_and_is_safe(answer, expected):
    assert render_answer(answer) == expected


def test_answer_math_filter_in_a_template():
    html = Template(r"{% load maths %}{{ a|answer_math }} {{ b|answer_math }}").render(
        Context({"a": r"6\sqrt{3}", "b": "<b>"}))
    assert "<msqrt>" in html and "&lt;b&gt;" in html and "<b>" not in html


@pytest.mark.parametrize(("tex", "expected"), [
    (r"\lim_{x \to 0} f(x)", '<munder><mo movablelimits="true">lim</mo>'),
    (r"\max_{i} a_i", '<munder><mo movablelimits="true">max</mo>'),
    (r"\bigcup_{i=1}^{n} A_i", '<munderover><mo movablelimits="true">⋃</mo>'),
    (r"\sum_{k=1}^{n} k", '<munderover><mo( movablelimits="true")?>∑</mo>'),
    (r"\int_0^1 x\,dx", "<msubsup><mo>∫</mo>"),  # integrals keep their limits beside
    (r"x_1^2", "<msubsup><mi>x</mi>"),
])
def test_limits_go_under_and_over_operators(tex, expected):
    for display in (True, False):
        assert re.search(expected, render_markdown(f"$${tex}$$" if display else f"${tex}$"))


def test_maths_font_is_shipped_with_its_licence():
    css = (REPO / "static/css/math.css").read_text()
    font = re.search(r'url\("\.\./(fonts/[^"]+\.otf)"\)', css)[1]
    data = (REPO / "static" / font).read_bytes()
    assert data[:4] == b"OTTO" and b"MATH" in data[:1024]  # OpenType with a MATH table
    assert "SIL Open Font License" in (REPO / "static/fonts/OFL.txt").read_text()
