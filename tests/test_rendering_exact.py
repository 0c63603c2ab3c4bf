"""questionbank.rendering at its exact output: the ``\\(…\\)`` and ``\\[…\\]`` rules, the MathML
serializer, the fallbacks and their limits, the parser set-up. Written for issue 20's
mutation testing: each case pins one decision of the code (block or inline, where a formula
starts and ends, which characters are escaped) that a looser assertion would let drift."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, SubElement

import pytest

from questionbank import rendering
from questionbank.rendering import render_markdown, render_math, sanitize_html, split_reasoning


@pytest.fixture(autouse=True)
def fresh_parser(monkeypatch):
    """Each test renders with a parser built for it: the set-up in ``_build_markdown`` runs
    under test instead of once at import."""
    monkeypatch.setattr(rendering, "_MARKDOWN", rendering._build_markdown())


def maths(body: str, tex: str, display: str) -> str:
    return (f'<math display="{display}"><semantics><mrow>{body}</mrow>'
            f'<annotation encoding="application/x-tex">{tex}</annotation></semantics></math>')


def block(body: str, tex: str) -> str:
    return f'<div class="math math-display">{maths(body, tex, "block")}</div>\n'


def in_paragraph(body: str, tex: str) -> str:
    return f'<span class="math math-display">{maths(body, tex, "block")}</span>'


def inline(body: str, tex: str) -> str:
    return maths(body, tex, "inline")


X = "<mrow><mi>x</mi></mrow>"

# --- \[ … \] on lines of its own is a block; anywhere else it is part of a paragraph ----------


@pytest.mark.parametrize(("source", "expected"), [
    ("\\[x\\]", block(X, "x")),
    ("\\[\nx\n\\]", block(X, "x")),
    ("\\[ab\n\\]", block("<mrow><mi>a</mi><mi>b</mi></mrow>", "ab")),
    (" \\[\nx\n\\]", block(X, "x")),  # up to three spaces of indentation
    ("\\[\nx\n  \\]", block(X, "x")),  # the closing line may be indented
    ("\\[\na\nb\nc\n\\]", block("<mrow><mi>a</mi><mi>b</mi><mi>c</mi></mrow>", "a\nb\nc")),
    ("\\[\nx\ny\n\\]", block("<mrow><mi>x</mi><mi>y</mi></mrow>", "x\ny")),
    ("\\[\nx\n\\]\nnext", block(X, "x") + "<p>next</p>\n"),
    ("text\n\n\\[\nx\n\\]", "<p>text</p>\n" + block(X, "x")),
    ("Text\n\\[x\\]", "<p>Text</p>\n" + block(X, "x")),  # it ends the paragraph above
    ("- a\n\n  \\[\n  x\n  \\]", "<ul>\n<li>\n<p>a</p>\n" + block(X, "x") + "</li>\n</ul>\n"),
    ("> \\[\n> x\n> \\]", "<blockquote>\n" + block(X, "x") + "</blockquote>\n"),
    ("> a\n\\[x\\]", "<blockquote>\n<p>a</p>\n</blockquote>\n" + block(X, "x")),  # ends it
    ("[a]:\n\\[x\\]", "<p>[a]:</p>\n" + block(X, "x")),  # ends a link reference
    # Indented four spaces, a lazy line continues the quoted paragraph.
    ("> a\n    \\[x\\]", f"<blockquote>\n<p>a\n{in_paragraph(X, 'x')}</p>\n</blockquote>\n"),
    # Text after the closing \] makes it a paragraph; the first \] on a line closes it.
    ("\\[x\\] tail", f"<p>{in_paragraph(X, 'x')} tail</p>\n"),
    ("\\[\nx\n\\]y", f"<p>{in_paragraph(X, 'x')}y</p>\n"),
    ("\\[\na\\]b\\]", f"<p>{in_paragraph('<mrow><mi>a</mi></mrow>', 'a')}b]</p>\n"),
    # Never closed: the text as it is (the backslash escapes the bracket).
    ("\\[\nx", "<p>[\nx</p>\n"),
    ("\\[x", "<p>[x</p>\n"),
    ("    \\[x\\]", "<pre><code>\\[x\\]\n</code></pre>\n"),  # four spaces: code
])  # fmt: skip
def test_display_brackets(source, expected):
    assert render_markdown(source) == expected


def test_a_display_block_is_one_token_with_its_lines():
    tokens = rendering._MARKDOWN.parse("para\n\n\\[\na\nb\n\\]\n")
    assert [(t.type, t.tag, t.nesting, t.markup, t.content, t.map, t.block)
            for t in tokens if t.type == "math_block"] == [
        ("math_block", "math", 0, "\\[", "\na\nb", [2, 6], True)]


# --- \( … \) and \[ … \] inside a paragraph ---------------------------------------------------


@pytest.mark.parametrize(("source", "expected"), [
    ("\\(x\\)y", f"<p>{inline(X, 'x')}y</p>\n"),
    ("\\(ab\\)", f"<p>{inline('<mrow><mi>a</mi><mi>b</mi></mrow>', 'ab')}</p>\n"),
    ("\\(a\\) b \\(c\\)", f"<p>{inline('<mrow><mi>a</mi></mrow>', 'a')} b "
                          f"{inline('<mrow><mi>c</mi></mrow>', 'c')}</p>\n"),
    ("x\\) and \\(y\\)", f"<p>x) and {inline('<mrow><mi>y</mi></mrow>', 'y')}</p>\n"),
    ("x\\)\\(y\\)", f"<p>x){inline('<mrow><mi>y</mi></mrow>', 'y')}</p>\n"),
    ("a \\[x\\] b", f"<p>a {in_paragraph(X, 'x')} b</p>\n"),
    # Empty, unclosed or not a bracket at all: text.
    ("\\(\\) a \\)", "<p>() a )</p>\n"),
    ("ab\\( \\)", "<p>ab( )</p>\n"),
    ("\\(xy", "<p>(xy</p>\n"),
    ("\\Xa\\]", "<p>\\Xa]</p>\n"),
    ("a\\", "<p>a\\</p>\n"),
    ("Then $$x$$ follows", f"<p>Then {in_paragraph(X, 'x')} follows</p>\n"),
])  # fmt: skip
def test_inline_brackets(source, expected):
    assert render_markdown(source) == expected


def test_inline_brackets_are_tokens_like_dollar_maths():
    (paragraph,) = [t for t in rendering._MARKDOWN.parse("a \\(x\\) \\[y\\]") if t.children]
    assert [(t.type, t.tag, t.nesting, t.markup, t.content)
            for t in paragraph.children if t.type.startswith("math")] == [
        ("math_inline", "math", 0, "\\(", "x"), ("math_inline_double", "math", 0, "\\[", "y")]


def test_a_formula_inside_link_text_ends_with_the_text():
    # The link rule parses its label with posMax at the "]": \) after it is not the closer.
    out = rendering._MARKDOWN.parseInline("[a \\(b](/x) c\\)")[0].children
    assert [t.type for t in out if t.type.startswith("math")] == ["math_inline"]


# --- The parser set-up --------------------------------------------------------------------------


def test_the_maths_rules_are_registered_by_name_where_they_must_run():
    # By name, so that md.disable("math_brackets") and the like keep working. \( must run
    # before the backslash escape rule (which would eat it); \[ before fences and
    # paragraphs; table alignment after the table is built.
    inline = rendering._MARKDOWN.inline.ruler.get_all_rules()
    assert inline.index("math_brackets") == inline.index("escape") - 1
    block_rules = rendering._MARKDOWN.block.ruler.get_all_rules()
    assert block_rules.index("math_brackets_block") == block_rules.index("fence") - 1
    # ... and may end a paragraph, a link reference, a quote or a list without a blank line.
    assert [rule.alt for rule in rendering._MARKDOWN.block.ruler.__rules__
            if rule.name == "math_brackets_block"] == [
        ["paragraph", "reference", "blockquote", "list"]]
    assert rendering._MARKDOWN.core.ruler.get_all_rules()[-1] == "table_alignment_class"


def test_parser_options_commonmark_no_raw_html_no_linkify_no_typographer():
    options = rendering._MARKDOWN.options
    assert (options["html"], options["linkify"], options["typographer"]) == (False, False, False)
    assert render_markdown('"a" -- b... <b>c</b> www.example.org (c)') == (
        "<p>\"a\" -- b... &lt;b&gt;c&lt;/b&gt; www.example.org (c)</p>\n")


@pytest.mark.parametrize(("source", "expected"), [
    ("~~a~~", "<p><s>a</s></p>\n"),
    ("$x$", f"<p>{inline(X, 'x')}</p>\n"),
    ("$ x $", f"<p>{inline(X, 'x')}</p>\n"),  # allow_space
    ("$1$ and $2", "<p>$1$ and $2</p>\n"),  # no digits after the opening $: currency
    ("$$x$$", block(X, "x")),
    ("a $$x$$ b", f"<p>a {in_paragraph(X, 'x')} b</p>\n"),  # double_inline
    ("$$x$$ (1)", block(X, "x")),  # an equation label is dropped
    ("\\begin{align*}\nx\n\\end{align*}",
     block('<mrow><mtable displaystyle="true" rowspacing="3pt" columnspacing="">'
           '<mtr><mtd columnalign="right"><mi>x</mi></mtd></mtr></mtable></mrow>',
           "\\begin{align*}\nx\n\\end{align*}")),
    ("```math\nx\n```", block(X, "x")),
    ("```MATH\nx\n```", block(X, "x")),
])  # fmt: skip
def test_enabled_extensions(source, expected):
    assert render_markdown(source) == expected


def test_table_alignment_is_a_class_on_the_token():
    tokens = rendering._MARKDOWN.parse("| a | b |\n|:-:|---|\n| 1 | 2 |")
    assert [t.attrs for t in tokens if t.type in {"th_open", "td_open"}] == [
        {"class": "align-center"}, {}, {"class": "align-center"}, {}]


# --- render_math: unsanitized output, limits, fallbacks ----------------------------------------


def test_render_math_exact_output_inline_and_block():
    sum_ = "\\sum_{i=1}^{n} i"
    limits = "<mrow><mi>i</mi><mo>=</mo><mn>1</mn></mrow><mrow><mi>n</mi></mrow>"
    assert render_math(sum_, display=True) == maths(
        f"<mrow><munderover><mo>∑</mo>{limits}</munderover><mi>i</mi></mrow>", sum_, "block")
    assert render_math(sum_, display=False) == maths(
        f'<mrow><munderover><mo movablelimits="true">∑</mo>{limits}</munderover><mi>i</mi></mrow>',
        sum_, "inline")


@pytest.mark.parametrize(("tex", "body"), [
    ("\\boxed{x}", f'<mrow><mrow class="qb-boxed">{X}</mrow></mrow>'),
    ("\\cancel{x}", f"<mrow><mrow>{X}</mrow></mrow>"),  # menclose without a box: plain mrow
    ("\\foo", '<mrow><merror class="math-unknown"><mtext>\\foo</mtext></merror></mrow>'),
    ("\\a", '<mrow><merror class="math-unknown"><mtext>\\a</mtext></merror></mrow>'),
    ("\\", "<mrow><mi>\\</mi></mrow>"),  # a lone backslash is not a command
    ("\\text{\\foo}", '<mrow><merror class="math-unknown"><mtext>\\foo</mtext></merror></mrow>'),
    ("\\left\\foo x \\right.", '<mrow><mrow><merror class="math-unknown"><mtext>\\foo</mtext>'
     '</merror><mi>x</mi><mo stretchy="true" fence="true" form="postfix"></mo></mrow></mrow>'),
    ("\\text{\"a'<b>&}", "<mrow><mtext>\"a'&lt;b&gt;&amp;</mtext></mrow>"),
])  # fmt: skip
def test_render_math_serializes_exactly(tex, body):
    assert render_math(tex, display=False) == inline(body, tex.replace("&", "&amp;").replace(
        "<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


def test_blank_tex_is_nothing():
    assert render_math("  \n", display=True) == ""
    assert render_math("", display=False) == ""


def _error(tex: str, display: bool) -> str:
    code = ('<code class="math-error" title="This formula could not be displayed">'
            f"{tex}</code>")
    return f'<div class="math math-display">{code}</div>' if display else code


def test_a_formula_of_exactly_the_cap_is_drawn_and_one_more_is_not():
    at_cap = "1" * rendering.MAX_MATH_CHARS
    assert render_math(at_cap, display=True).startswith('<math display="block">')
    over = at_cap + "1"
    assert render_math(over, display=True) == _error(over, True)
    assert render_math(over, display=False) == _error(over, False)


@pytest.mark.parametrize("display", [True, False])
def test_tex_that_cannot_be_parsed_is_shown_as_source(display):
    assert render_math("\\frac{1}{", display=display) == _error("\\frac{1}{", display)


def test_every_text_and_tail_is_escaped_whatever_the_converter_returns(monkeypatch):
    # latex2mathml writes no tails and no namespaces today; the serializer must not rely on it.
    root = Element("{http://www.w3.org/1998/Math/MathML}math")
    mi = SubElement(root, "{http://www.w3.org/1998/Math/MathML}mi", {
        "{http://www.w3.org/1999/xlink}href": "x", "onclick": "a", "mathvariant": "bold",
        "mathcolor": "url(javascript:a)"})
    mi.text = "\"a'<"
    mi.tail = "\"t'<"
    inner = SubElement(mi, "mglyph")
    inner.tail = "'u\""
    box = SubElement(root, "menclose")
    box.text = "b"
    monkeypatch.setattr(rendering, "convert_to_element", lambda tex, display: root)
    assert render_math("x", display=False) == inline(
        '<mi mathvariant="bold">"a\'&lt;<mrow></mrow>\'u"</mi>"t\'&lt;<mrow>b</mrow>', "x")


@pytest.mark.parametrize(("name", "local"), [
    ("{http://www.w3.org/1998/Math/MathML}mi", "mi"), ("mi", "mi"),
    ("{http://www.w3.org/1999/xlink}href", "href"),
])
def test_local_name_drops_the_namespace(name, local):
    assert rendering._local_name(name) == local


# --- Code ---------------------------------------------------------------------------------


def test_the_language_is_the_first_word_of_the_info_string():
    out = render_markdown("```python linenums extra\nx = 1\n```")
    assert out == ('<pre class="highlight"><code><span class="n">x</span> <span class="o">=</span>'
                   ' <span class="mi">1</span>\n</code></pre>\n')


def test_code_of_exactly_the_cap_is_highlighted_and_longer_is_not(monkeypatch):
    monkeypatch.setattr(rendering, "MAX_HIGHLIGHT_CHARS", 5)
    assert rendering._highlight("x = 1", "python") == (
        '<span class="n">x</span> <span class="o">=</span> <span class="mi">1</span>\n')
    assert rendering._highlight("x = 12", "python") == "x = 12"
    assert rendering._highlight("x = 1", "py thon") == "x = 1"  # not a language name


# --- Sanitizer attributes the renderer sets -----------------------------------------------


def test_images_get_lazy_loading_and_no_referrer_written_in_lower_case():
    # An HTML parser would read LOADING= as loading=; the written text is what browsers get.
    out = sanitize_html('<img src="/a.png">')
    assert sorted(re.findall(r' ([^ =]+="[^"]*")', out)) == [
        'loading="lazy"', 'referrerpolicy="no-referrer"', 'src="/a.png"']


# --- split_reasoning ------------------------------------------------------------------------


def test_a_stray_closer_after_a_think_block_takes_the_explanation_before_it():
    assert split_reasoning("a<think>b</think>c</think>d") == ("b\n\na\n\nc", "d")
