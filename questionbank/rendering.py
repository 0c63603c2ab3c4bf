"""Markdown + LaTeX maths + code -> safe HTML: the one place that does it.

Pipeline, and why each step is there:

1. **Markdown** with markdown-it-py: CommonMark plus tables and strikethrough.
   Raw HTML in the source is *not* interpreted (``html=False``): it shows as
   text. Explanations are full of ``a<b``, ``vector<int>`` and ``<think>``, which
   a browser would otherwise swallow as tags, and it removes the largest source
   of injected markup before the sanitizer even runs.
2. **Maths** in ``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``, top-level
   amsmath environments (``\\begin{align}``) and ```` ```math ```` fences is
   converted on the server to MathML with latex2mathml. Pages need no
   JavaScript and no CDN, print well, and Chromium (MathML Core), Firefox and
   Safari render MathML natively. latex2mathml's element tree is re-serialized
   here through an allowlist of MathML elements and attributes, escaping all
   text (latex2mathml itself would pass ``\\text{<script>}`` through raw). TeX
   it cannot parse is shown as its source in ``<code class="math-error">``;
   unknown commands become ``<merror>``. ``\\boxed{}`` becomes
   ``<mrow class="qb-boxed">`` styled by ``static/css/math.css``, because
   ``menclose`` is not part of MathML Core and Chromium ignores it.
3. **Code** in fences is highlighted by Pygments with CSS classes
   (``static/css/pygments.css``); an unknown or missing language is shown as
   plain escaped text.
4. **Sanitize** the whole result with nh3 (ammonia) against an explicit
   allowlist, whatever the steps above produced: links only ``http``,
   ``https``, ``mailto`` or relative, with ``rel="nofollow noopener
   noreferrer"``; images only ``http(s)`` or relative, lazy-loaded and without
   a referrer; no scripts, styles, event handlers, frames, forms, SVG, or
   MathML URL attributes (``href``, ``xlink:href``, ``maction``,
   ``annotation-xml``).

Nothing is memoized here: callers cache the rendered HTML of a revision.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from xml.etree.ElementTree import Element

import nh3
from latex2mathml.converter import convert_to_element
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

__all__ = [
    "pygments_css",
    "render_answer",
    "render_inline",
    "render_markdown",
    "render_math",
    "sanitize_html",
    "split_reasoning",
]

# Formulas longer than this are shown as source: nobody writes one by hand, and
# it bounds the converter's work on hostile input.
MAX_MATH_CHARS = 5000
# Pygments gets slow on huge blocks; beyond this a block is shown unhighlighted.
MAX_HIGHLIGHT_CHARS = 100_000

# --- Maths ----------------------------------------------------------------------------------

MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"

# MathML Core elements latex2mathml can emit (menclose is rewritten to mrow).
_MATHML_TAGS = frozenset(
    {
        "math", "semantics", "annotation", "merror", "mfrac", "mi", "mn", "mo", "mover",
        "mpadded", "mphantom", "mroot", "mrow", "mspace", "msqrt", "mstyle", "msub",
        "msubsup", "msup", "mtable", "mtd", "mtext", "mtr", "munder", "munderover",
        "mmultiscripts", "mprescripts", "none",
    }
)  # fmt: skip
# Presentation attributes only: nothing here can hold a URL or a script.
_MATHML_ATTRIBUTES = frozenset(
    {
        "accent", "accentunder", "columnalign", "columnlines", "columnspacing", "depth",
        "displaystyle", "fence", "form", "height", "largeop", "linethickness", "lspace",
        "mathbackground", "mathcolor", "mathsize", "mathvariant", "maxsize", "minsize",
        "movablelimits", "rowalign", "rowlines", "rowspacing", "rspace", "scriptlevel",
        "separator", "stretchy", "symmetric", "voffset", "width",
    }
)  # fmt: skip
# Lengths, keywords and colour names; no "(", ":" or quotes, so no url() or scheme.
_SAFE_ATTRIBUTE_VALUE = re.compile(r"^[\w .%#+-]{0,64}$")
# latex2mathml stores characters as literal "&#x0002B;" strings in the tree.
_CHAR_REFERENCE = re.compile(r"&#x([0-9A-Fa-f]{1,6});")

# TeX that latex2mathml does not know, rewritten to what it does (same meaning on
# the page). Environment names only: their content is left alone.
_TEX_REWRITES: Sequence[tuple[re.Pattern[str], str]] = (
    (re.compile(r"\\(begin|end)\{(?:aligned|alignedat|alignat\*?|flalign\*?)\}(?:\{\d+\})?"),
     r"\\\1{align*}"),
    (re.compile(r"\\begin\{(?:gathered|gather\*?|multline\*?)\}"), r"\\begin{array}{c}"),
    (re.compile(r"\\end\{(?:gathered|gather\*?|multline\*?)\}"), r"\\end{array}"),
    (re.compile(r"\\(begin|end)\{dcases\}"), r"\\\1{cases}"),
    (re.compile(r"\\(?:begin|end)\{equation\*?\}"), ""),
    (re.compile(r"\\(?:label|eqref|ref)\{[^{}]*\}|\\(?:nonumber|notag|nolimits|hfill)\b"), ""),
    (re.compile(r"\\textdegree\b"), r"^{\\circ}"),
)  # fmt: skip


def _decode_text(text: str | None) -> str:
    if not text:
        return ""
    return _CHAR_REFERENCE.sub(lambda m: chr(int(m[1], 16)), text)


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# Operators whose limits go under and over in display maths, as TeX does (\lim_{x \to 0}),
# and beside them in inline maths (movablelimits); latex2mathml writes msub for the words.
_LIMIT_OPERATORS = frozenset(
    {"lim", "liminf", "limsup", "max", "min", "sup", "inf", "det", "gcd", "Pr",
     "∑", "∏", "∐", "⋃", "⋂", "⋁", "⋀", "⨁", "⨂", "⨀", "⨄"}
)  # fmt: skip
_UNDER_OVER = {"msub": "munder", "msubsup": "munderover"}


def _serialize_mathml(element: Element, out: list[str]) -> None:
    """Write ``element`` as MathML through the allowlist, escaping every text node."""
    tag = _local_name(element.tag)
    attributes: dict[str, str] = {}
    text = _decode_text(element.text)
    if tag in _UNDER_OVER and len(element) and _local_name(element[0].tag) == "mo" and (
            _decode_text(element[0].text) in _LIMIT_OPERATORS):
        tag = _UNDER_OVER[tag]
        element[0].set("movablelimits", "true")
    if tag == "menclose":
        # Not in MathML Core: Chromium would drop the box of \boxed{}.
        if "box" in element.get("notation", "").split():
            attributes["class"] = "qb-boxed"
        tag = "mrow"
    elif tag in {"mi", "mo", "mtext"} and len(text) > 1 and text.startswith("\\"):
        # latex2mathml prints commands it does not know as identifiers.
        out.append('<merror class="math-unknown"><mtext>')
        out.append(html.escape(text))
        out.append("</mtext></merror>")
        return
    if tag not in _MATHML_TAGS:
        tag = "mrow"
    for name, value in element.attrib.items():
        name = _local_name(name)
        if name in _MATHML_ATTRIBUTES and _SAFE_ATTRIBUTE_VALUE.match(value):
            attributes[name] = value
    out.append("<" + tag)
    for name, value in attributes.items():
        out.append(f' {name}="{html.escape(value)}"')
    out.append(">")
    out.append(html.escape(text, quote=False))
    for child in element:
        _serialize_mathml(child, out)
        out.append(html.escape(_decode_text(child.tail), quote=False))
    out.append(f"</{tag}>")


def _math_error(tex: str, display: bool) -> str:
    code = (
        '<code class="math-error" title="This formula could not be displayed">'
        f"{escapeHtml(tex)}</code>"
    )
    return f'<div class="math math-display">{code}</div>' if display else code


def render_math(tex: str, *, display: bool) -> str:
    """Render one TeX formula (without delimiters) to a MathML ``<math>`` element.

    Never raises: TeX that cannot be converted comes back as its source in
    ``<code class="math-error">``. The result is safe on its own but callers
    normally go through :func:`render_markdown`, which also runs nh3.
    """
    source = tex.strip()
    if not source:
        return ""
    if len(source) > MAX_MATH_CHARS:
        return _math_error(source, display)
    rewritten = source
    for pattern, replacement in _TEX_REWRITES:
        rewritten = pattern.sub(replacement, rewritten)
    try:
        root = convert_to_element(rewritten, display="block" if display else "inline")
        body: list[str] = []
        for child in root:
            _serialize_mathml(child, body)
            body.append(html.escape(_decode_text(child.tail), quote=False))
    except Exception:  # latex2mathml raises many error types; RecursionError included
        return _math_error(source, display)
    # The TeX annotation lets readers copy the source and is ignored when drawing.
    return (
        f'<math display="{"block" if display else "inline"}"><semantics><mrow>'
        + "".join(body)
        + '</mrow><annotation encoding="application/x-tex">'
        + escapeHtml(source)
        + "</annotation></semantics></math>"
    )


# --- Markdown-it rules for \( \) and \[ \] ---------------------------------------------------


def _bracket_math_inline(state: StateInline, silent: bool) -> bool:
    """``\\(...\\)`` inline and ``\\[...\\]`` as display maths inside a paragraph."""
    src, pos = state.src, state.pos
    if src[pos] != "\\" or pos + 1 >= state.posMax:
        return False
    opener = src[pos + 1]
    if opener not in "([":
        return False
    closer = "\\)" if opener == "(" else "\\]"
    end = src.find(closer, pos + 2, state.posMax)
    if end == -1 or not src[pos + 2 : end].strip():
        return False
    if not silent:
        token = state.push("math_inline" if opener == "(" else "math_inline_double", "math", 0)
        token.content = src[pos + 2 : end]
        token.markup = "\\" + opener
    state.pos = end + 2
    return True


def _bracket_math_block(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """A ``\\[`` at the start of a line, closed by ``\\]`` at the end of a later line."""
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False
    begin = state.bMarks[start_line] + state.tShift[start_line]
    if not state.src.startswith("\\[", begin):
        return False
    line = start_line
    while line < end_line:
        line_begin = begin + 2 if line == start_line else state.bMarks[line] + state.tShift[line]
        line_text = state.src[line_begin : state.eMarks[line]]
        close = line_text.find("\\]")
        if close != -1:
            # Anything after \] on that line makes it part of a paragraph instead.
            if line_text[close + 2 :].strip():
                return False
            if silent:
                return True
            first = state.src[begin + 2 : state.eMarks[start_line]]
            if line == start_line:
                content = first[:close]
            else:
                middle = state.getLines(start_line + 1, line, state.tShift[start_line], False)
                content = first + "\n" + middle + line_text[:close]
            token = state.push("math_block", "math", 0)
            token.block = True
            token.content = content
            token.markup = "\\["
            token.map = [start_line, line + 1]
            state.line = line + 1
            return True
        line += 1
    return False


def _render_math_token(display: bool):
    def render(self, tokens: Sequence[Token], idx: int, options, env) -> str:
        math = render_math(tokens[idx].content, display=display)
        if display and tokens[idx].block:
            return f'<div class="math math-display">{math}</div>\n'
        if display:
            # Inside a paragraph: a <div> here would end the <p> early.
            return f'<span class="math math-display">{math}</span>'
        return math

    return render


def _render_amsmath(self, tokens: Sequence[Token], idx: int, options, env) -> str:
    math = render_math(tokens[idx].content, display=True)
    return f'<div class="math math-display">{math}</div>\n'


# --- Code ------------------------------------------------------------------------------------

# A light theme with dark text: readable on screen and in black-and-white print.
PYGMENTS_STYLE = "default"
_FORMATTER = HtmlFormatter(nowrap=True, style=PYGMENTS_STYLE)
_LANGUAGE = re.compile(r"^[\w+#.-]{1,40}$")


def _highlight(code: str, language: str) -> str:
    if language and _LANGUAGE.match(language) and len(code) <= MAX_HIGHLIGHT_CHARS:
        try:
            lexer = get_lexer_by_name(language)
        except ClassNotFound:
            lexer = None
        if lexer is not None:
            return highlight(code, lexer, _FORMATTER)
    return escapeHtml(code)


def pygments_css() -> str:
    """The stylesheet for highlighted code, as committed in ``static/css/pygments.css``.

    Only rules under ``.highlight``: Pygments' full output would also restyle
    every ``pre`` on the site.
    """
    return (
        "/* Generated by questionbank.rendering.pygments_css() from the Pygments style "
        f"{PYGMENTS_STYLE!r}.\n"
        '   Regenerate: python -c "from questionbank.rendering import pygments_css; '
        "print(pygments_css(), end='')\" > static/css/pygments.css */\n"
        + "\n".join(_FORMATTER.get_background_style_defs(".highlight"))
        + "\n"
        + "\n".join(_FORMATTER.get_token_style_defs(".highlight"))
        + "\n"
    )


def _render_fence(self, tokens: Sequence[Token], idx: int, options, env) -> str:
    token = tokens[idx]
    language = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else ""
    if language.lower() == "math":
        return _render_amsmath(self, tokens, idx, options, env)
    return f'<pre class="highlight"><code>{_highlight(token.content, language)}</code></pre>\n'


def _table_alignment_to_class(state) -> None:
    # markdown-it aligns table cells with style="", which the sanitizer removes.
    for token in state.tokens:
        if token.type in {"th_open", "td_open"} and token.attrs.get("style"):
            style = str(token.attrs.pop("style"))
            align = style.partition(":")[2].strip()
            if align in {"left", "center", "right"}:
                token.attrSet("class", f"align-{align}")


def _build_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    dollarmath_plugin(md, allow_space=True, allow_digits=False, double_inline=True)
    amsmath_plugin(md)
    md.inline.ruler.before("escape", "math_brackets", _bracket_math_inline)
    md.block.ruler.before(
        "fence",
        "math_brackets_block",
        _bracket_math_block,
        {"alt": ["paragraph", "reference", "blockquote", "list"]},
    )
    md.core.ruler.push("table_alignment_class", _table_alignment_to_class)
    md.add_render_rule("math_inline", _render_math_token(display=False))
    md.add_render_rule("math_inline_double", _render_math_token(display=True))
    md.add_render_rule("math_block", _render_math_token(display=True))
    md.add_render_rule("math_block_label", _render_math_token(display=True))
    md.add_render_rule("amsmath", _render_amsmath)
    md.add_render_rule("fence", _render_fence)
    return md


# A configured parser holds no per-document state, so one instance serves every call.
_MARKDOWN = _build_markdown()

# --- Sanitizer ---------------------------------------------------------------------------

_PYGMENTS_CLASSES = frozenset(cls for cls in STANDARD_TYPES.values() if cls)
_ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li",
        "strong", "em", "b", "i", "s", "del", "sub", "sup", "code", "pre", "span", "div",
        "a", "img", "table", "thead", "tbody", "tr", "th", "td",
    }
) | (_MATHML_TAGS - {"none"})  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "code": {"title"},
    **{tag: set(_MATHML_ATTRIBUTES) for tag in _MATHML_TAGS - {"math", "annotation"}},
}
_ALLOWED_VALUES = {
    "math": {"display": {"block", "inline"}},
    "annotation": {"encoding": {"application/x-tex"}},
}
_ALLOWED_CLASSES = {
    "span": _PYGMENTS_CLASSES | {"math", "math-display"},
    "div": {"math", "math-display"},
    "pre": {"highlight"},
    "code": {"math-error"},
    "th": {"align-left", "align-center", "align-right"},
    "td": {"align-left", "align-center", "align-right"},
    "mrow": {"qb-boxed"},
    "merror": {"math-unknown"},
}


def sanitize_html(fragment: str) -> str:
    """Sanitize an HTML fragment with the renderer's allowlist (nh3).

    :func:`render_markdown` already applies it; use this only for HTML that was
    produced some other way.
    """
    return nh3.clean(
        fragment,
        tags=set(_ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes=_ALLOWED_ATTRIBUTES,
        tag_attribute_values=_ALLOWED_VALUES,
        set_tag_attribute_values={"img": {"loading": "lazy", "referrerpolicy": "no-referrer"}},
        allowed_classes=_ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


# --- Public API ------------------------------------------------------------------------------


def render_markdown(text: str | None) -> str:
    """Render Markdown with LaTeX maths and fenced code to sanitized HTML.

    Returns an HTML string that is safe to insert into a page (callers wrap it
    in ``mark_safe``). Raw HTML in ``text`` is displayed as text, never
    interpreted; split ``<think>`` blocks off first with :func:`split_reasoning`.
    """
    if not text:
        return ""
    return sanitize_html(_MARKDOWN.render(text))


def render_inline(text: str | None) -> str:
    """Render one line of Markdown (titles, list entries): no paragraphs or blocks.

    Same maths and sanitizing as :func:`render_markdown`.
    """
    if not text:
        return ""
    return sanitize_html(_MARKDOWN.renderInline(text))


# An answer is TeX unless it has its own delimiters (Markdown) or is in words: a run of
# two letters that is not a command name (``\\sqrt``) makes it prose.
_DELIMITED = re.compile(r"\$|\\\(|\\\[")
_TEX = re.compile(r"[\\^_{}]")
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")


def render_answer(text: str | None) -> str:
    """A final or reference answer as safe HTML: maths when it is maths.

    Answers are stored as extracted from ``\\boxed{}`` or typed by a teacher: TeX
    without delimiters (``6\\sqrt{3}``, ``\\frac{5}{9}``, ``x = -1``), TeX with its
    own (``$6\\sqrt{3}$``), or words (``Alice wins``). TeX becomes inline MathML; the
    rest goes through :func:`render_inline`, so words stay words.
    """
    text = (text or "").strip()
    if not text:
        return ""
    if _DELIMITED.search(text) or (not _TEX.search(text) and _WORD.search(text)):
        return render_inline(text)
    return sanitize_html(render_math(text, display=False))


_THINK_TAG = re.compile(r"<(/?)think\s*>", re.IGNORECASE)


def split_reasoning(text: str | None) -> tuple[str, str]:
    """Separate the model's reasoning trace from the student-facing explanation.

    Returns ``(reasoning, explanation)``, both stripped. Reasoning is the
    content of every ``<think>...</think>`` block, joined by blank lines; an
    unclosed ``<think>`` runs to the end of the text; text before a ``</think>``
    that has no opening tag is reasoning too (chat templates often put the
    opening tag in the prompt). Everything else is the explanation.
    """
    if not text:
        return "", ""
    reasoning: list[str] = []
    explanation: list[str] = []
    inside = False
    pos = 0
    for match in _THINK_TAG.finditer(text):
        chunk = text[pos : match.start()]
        closing = bool(match[1])
        if inside and closing:
            reasoning.append(chunk)
            inside = False
        elif not inside and not closing:
            explanation.append(chunk)
            inside = True
        elif not inside and closing:
            # A closer without an opener: everything so far was reasoning.
            reasoning.extend(explanation)
            reasoning.append(chunk)
            explanation = []
        else:
            # A nested <think> inside reasoning is just more reasoning.
            reasoning.append(chunk)
        pos = match.end()
    (reasoning if inside else explanation).append(text[pos:])
    joined_reasoning = "\n\n".join(part.strip() for part in reasoning if part.strip())
    return joined_reasoning, "".join(explanation).strip()
