"""The HTML allowlist, exhaustively: every allowed tag with ``style``, event handlers and
script-bearing URLs passed raw to the sanitizer, and what must survive."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from questionbank import rendering
from questionbank.rendering import render_inline, render_markdown, sanitize_html

TAGS = sorted(rendering._ALLOWED_TAGS)
# Spelled out: an allowlist that grows must fail here first.
EXPECTED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li",
    "strong", "em", "b", "i", "s", "del", "sub", "sup", "code", "pre", "span", "div", "a",
    "img", "table", "thead", "tbody", "tr", "th", "td", "math", "semantics", "annotation",
    "merror", "mfrac", "mi", "mn", "mo", "mover", "mpadded", "mphantom", "mroot", "mrow",
    "mspace", "msqrt", "mstyle", "msub", "msubsup", "msup", "mtable", "mtd", "mtext", "mtr",
    "munder", "munderover", "mmultiscripts", "mprescripts",
}  # fmt: skip
EVENTS = ["onclick", "onerror", "onload", "onmouseover", "onfocus", "OnClick", "ONLOAD",
          "onanimationstart", "onbegin"]
BAD_URLS = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
    "\tjavascript:alert(1)", "java\tscript:alert(1)", "java\nscript:alert(1)",
    "&#106;avascript:alert(1)", "&#x6A;avascript:alert(1)", "javascript&colon;alert(1)",
    "jav&#x09;ascript:alert(1)", "\x01javascript:alert(1)", "javascript://%0aalert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "DATA:text/html,x",
    " data:image/svg+xml,<svg onload=alert(1)>", "vbscript:msgbox(1)", "VBScript:msgbox(1)",
    "file:///etc/passwd", "ftp://x/y", "livescript:x", "mocha:x",
]


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


_MATHML = rendering._MATHML_TAGS
_CONTEXT = {"th": "<table><thead><tr>{}</tr></thead></table>",
            "td": "<table><tbody><tr>{}</tr></tbody></table>",
            "tr": "<table><tbody>{}</tbody></table>", "thead": "<table>{}</table>",
            "tbody": "<table>{}</table>"}


def raw(tag: str, attributes: str = "", content: str = "x") -> str:
    """``<tag attributes>content</tag>`` inside the parent the HTML parser needs to keep it
    (a ``<td>`` outside a table, an ``<mi>`` outside ``<math>``, is dropped on parsing)."""
    element = f"<{tag} {attributes}>{content}</{tag}>"
    if tag in _MATHML and tag != "math":
        return f"<math>{element}</math>"
    return _CONTEXT.get(tag, "{}").format(element)


def attributes_of(tag: str, html: str) -> dict[str, str | None]:
    found = [attrs for name, attrs in elements(html) if name == tag]
    assert found, f"<{tag}> was dropped: {html!r}"
    return found[0]


def _attrs(html: str) -> list[tuple[str, str, str | None]]:
    return [(tag, name, value) for tag, attrs in elements(html) for name, value in attrs.items()]


def test_the_allowlist_is_exactly_the_expected_tags():
    assert set(TAGS) == EXPECTED_TAGS


@pytest.mark.parametrize("tag", TAGS)
def test_style_is_removed_from_every_tag(tag):
    out = sanitize_html(raw(tag, 'style="position:fixed;top:0;left:0;width:100%"'))
    assert "style" not in attributes_of(tag, out)
    assert "position" not in out


@pytest.mark.parametrize("tag", TAGS)
def test_event_handlers_are_removed_from_every_tag(tag):
    for event in EVENTS:
        out = sanitize_html(raw(tag, f'{event}="alert(1)"'))
        attributes_of(tag, out)
        assert all(not name.lower().startswith("on") for _, name, _ in _attrs(out)), out
        assert "alert" not in out


URL_ATTRIBUTES = ["href", "src", "xlink:href", "action", "formaction", "background", "srcset",
                  "poster"]


@pytest.mark.parametrize("tag", TAGS)
def test_no_script_url_survives_on_any_tag(tag):
    # One test per tag, every attribute x URL inside: ~170 cases each, 60 tests in all.
    for attribute in URL_ATTRIBUTES:
        for url in BAD_URLS:
            out = sanitize_html(raw(tag, f'{attribute}="{url}"'))
            attributes_of(tag, out)
            for _, name, value in _attrs(out):
                assert name not in set(URL_ATTRIBUTES) - {"href", "src"}, out
                if name in {"href", "src"}:
                    assert value is not None
                    squeezed = "".join(value.split()).lower()
                    assert not squeezed.startswith((
                        "javascript", "vbscript", "data", "file", "ftp", "livescript", "mocha",
                        "&#", "\x01")), out


@pytest.mark.parametrize("tag", sorted(EXPECTED_TAGS - {"a", "img", "ol", "code", "math",
                                                          "annotation"}))
def test_plain_tags_take_no_url_attribute_at_all(tag):
    out = sanitize_html(raw(tag, 'href="https://example.org/" src="https://example.org/x.png"'
                            ' title="t"'))
    attributes_of(tag, out)
    assert "example.org" not in out


@pytest.mark.parametrize("scheme", ["http", "https", "mailto"])
def test_allowed_link_schemes_are_kept_with_rel(scheme):
    target = f"{scheme}://example.org/a" if scheme != "mailto" else "mailto:a@example.org"
    out = sanitize_html(f'<a href="{target}" title="t">x</a>')
    assert elements(out) == [("a", {"href": target, "title": "t",
                                    "rel": "nofollow noopener noreferrer"})]


def test_relative_links_and_images_are_kept():
    assert elements(sanitize_html('<a href="/browse/">x</a>'))[0][1]["href"] == "/browse/"
    assert elements(sanitize_html('<img src="/static/a.png">'))[0][1]["src"] == "/static/a.png"


def test_images_keep_src_alt_title_and_are_lazy_without_referrer():
    out = sanitize_html('<img src="https://example.org/a.png" alt="a" title="t" width="9">')
    assert elements(out) == [("img", {"src": "https://example.org/a.png", "alt": "a",
                                      "title": "t", "loading": "lazy",
                                      "referrerpolicy": "no-referrer"})]


def test_ol_start_and_code_title_are_kept():
    assert elements(sanitize_html('<ol start="3" type="a"><li>x</li></ol>'))[0] == (
        "ol", {"start": "3"})
    assert elements(sanitize_html('<code title="why" class="math-error">x</code>'))[0] == (
        "code", {"title": "why", "class": "math-error"})


@pytest.mark.parametrize(
    ("tag", "kept", "dropped"),
    [("span", "math-display", "evil"), ("div", "math", "overlay"), ("pre", "highlight", "x"),
     ("code", "math-error", "x"), ("th", "align-left", "x"), ("td", "align-right", "x"),
     ("td", "align-center", "x"), ("th", "align-right", "fixed"), ("mrow", "qb-boxed", "x"),
     ("merror", "math-unknown", "x"), ("span", "k", "evil")],
)
def test_only_listed_classes_survive(tag, kept, dropped):
    out = sanitize_html(raw(tag, f'class="{kept} {dropped}"'))
    assert attributes_of(tag, out).get("class") == kept


def test_the_class_allowlist_is_exactly_the_expected_one():
    # Spelled out like the tags: a class allowed anywhere else must fail here first.
    pygments = rendering._PYGMENTS_CLASSES
    assert {"k", "nf", "mi", "s2"} <= pygments and all(c.isalnum() for c in pygments)
    expected = {
        "span": pygments | {"math", "math-display"}, "div": {"math", "math-display"},
        "pre": {"highlight"}, "code": {"math-error"},
        "th": {"align-left", "align-center", "align-right"},
        "td": {"align-left", "align-center", "align-right"},
        "mrow": {"qb-boxed"}, "merror": {"math-unknown"},
    }
    assert expected == rendering._ALLOWED_CLASSES


@pytest.mark.parametrize("tag", TAGS)
def test_a_class_listed_for_no_tag_is_dropped_from_every_tag(tag):
    out = sanitize_html(raw(tag, 'class="overlay fixed evil"'))
    assert attributes_of(tag, out).get("class", "") == ""  # nh3 may leave class=""


@pytest.mark.parametrize("tag", ["p", "a", "img", "table", "li", "mi", "math"])
def test_classes_are_dropped_where_none_are_listed(tag):
    out = sanitize_html(raw(tag, 'class="math highlight"'))
    assert "class" not in attributes_of(tag, out)


def test_math_attributes_are_limited_to_their_values():
    assert elements(sanitize_html('<math display="block">x</math>'))[0][1] == {
        "display": "block"}
    assert elements(sanitize_html('<math display="inline">x</math>'))[0][1] == {
        "display": "inline"}
    assert elements(sanitize_html('<math display="evil" href="x">x</math>'))[0][1] == {}
    kept = sanitize_html(raw("annotation", 'encoding="application/x-tex"'))
    assert attributes_of("annotation", kept) == {"encoding": "application/x-tex"}
    dropped = sanitize_html(raw("annotation", 'encoding="text/html"'))
    assert attributes_of("annotation", dropped) == {}


@pytest.mark.parametrize("attribute", sorted(rendering._MATHML_ATTRIBUTES))
def test_mathml_presentation_attributes_pass_on_mathml_tags_only(attribute):
    assert attributes_of("mi", sanitize_html(raw("mi", f'{attribute}="1"'))) == {
        attribute: "1"}
    assert elements(sanitize_html(f'<p {attribute}="1">x</p>'))[0][1] == {}


@pytest.mark.parametrize("tag", ["script", "style"])
def test_script_and_style_lose_their_content(tag):
    assert sanitize_html(f"a<{tag}>alert(1) body{{}}</{tag}>b") == "ab"


@pytest.mark.parametrize("tag", ["iframe", "form", "svg", "object", "embed", "input", "button",
                                 "textarea", "select", "link", "meta", "base", "maction",
                                 "annotation-xml", "template", "frame", "video", "audio"])
def test_dangerous_tags_are_removed(tag):
    out = sanitize_html(f'<{tag} src="https://x/" href="https://x/">t</{tag}>')
    assert f"<{tag}" not in out


def test_comments_are_removed():
    assert sanitize_html("a<!-- <script>x</script> -->b") == "ab"


# --- The renderer keeps what it produces ------------------------------------------------------


def test_table_alignment_becomes_a_class_never_a_style():
    out = render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |")
    assert "style" not in out
    assert [attrs.get("class") for tag, attrs in elements(out) if tag in {"th", "td"}] == [
        "align-left", "align-center", "align-right"] * 2


def test_a_table_cell_without_alignment_has_no_class():
    out = render_markdown("| a |\n|---|\n| 1 |")
    assert [attrs for tag, attrs in elements(out) if tag in {"th", "td"}] == [{}, {}]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "vbscript:x"])
def test_markdown_links_and_images_with_script_urls_lose_them(url):
    out = render_markdown(f"[x]({url}) ![y]({url}) <{url}>")
    assert not [name for _, name, _ in _attrs(out) if name in {"href", "src"}]


def test_raw_html_in_markdown_is_text():
    out = render_markdown('<img src=x onerror="alert(1)"> <b>bold</b>')
    assert "<img" not in out and "&lt;img" in out and "<b>" not in out


def test_inline_rendering_uses_the_same_allowlist():
    assert render_inline("[x](javascript:alert(1)) *e*") == "[x](javascript:alert(1)) <em>e</em>"
    assert render_inline("") == "" and render_inline(None) == ""
    assert render_markdown("") == "" and render_markdown(None) == ""


# --- Properties ----------------------------------------------------------------------------

_fragment = st.lists(
    st.one_of(
        st.sampled_from([f"<{t}>" for t in TAGS] + [f"</{t}>" for t in TAGS]),
        st.sampled_from([f'<{t} {e}="alert(1)" style="x:y">' for t in ("a", "img", "td", "p")
                         for e in EVENTS[:3]]),
        st.sampled_from([f'<a href="{u}">' for u in BAD_URLS]
                        + [f'<img src="{u}">' for u in BAD_URLS]),
        st.sampled_from(["<script>alert(1)</script>", "<svg onload=alert(1)>", "<!--", "-->",
                         "<", ">", "&", '"', "'", "=", "<iframe src=x>", "</", "<a"]),
        st.text(max_size=5),
    ),
    max_size=25,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_fragment)
def test_no_fragment_yields_script_styles_or_handlers(fragment):
    out = sanitize_html(fragment)
    for tag, name, value in _attrs(out):
        assert tag in EXPECTED_TAGS
        assert name != "style" and not name.startswith("on")
        if name in {"href", "src"}:
            squeezed = "".join((value or "").split()).lower()
            assert not squeezed.startswith(("javascript", "vbscript", "data"))
    assert "<script" not in out.lower() and "<iframe" not in out.lower()


@settings(max_examples=200, deadline=None)
@given(_fragment)
def test_sanitizing_twice_changes_nothing(fragment):
    once = sanitize_html(fragment)
    assert elements(sanitize_html(once)) == elements(once)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_any_markdown_renders_to_allowlisted_html(text):
    out = render_markdown(text)
    for tag, name, _ in _attrs(out):
        assert tag in EXPECTED_TAGS and name != "style" and not name.startswith("on")
