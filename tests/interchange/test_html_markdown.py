import pytest

from questionbank.interchange import html_to_markdown, markdown_to_html


@pytest.mark.parametrize(("html", "markdown"), [
    ("<p>a &lt; b &amp;&amp; c &gt; d</p>", "a < b && c > d"),
    ("<p>\\(a &lt; b\\) and \\[x_1 * x_2\\]</p>", "\\(a < b\\) and \\[x_1 * x_2\\]"),
    ("<p>$$\\sum_{i=1}^n i$$</p>", "$$\\sum_{i=1}^n i$$"),
    ("<p>2*3 costs $5 and snake_case _x_</p>", "2\\*3 costs \\$5 and snake_case \\_x\\_"),
    ("<p>x<sup>2</sup> and H<sub>2</sub>O</p>", "x\\(^{2}\\) and H\\(_{2}\\)O"),
    ("<p><b>bold </b><i>it</i></p>", "**bold** *it*"),
    ("<ol><li>one</li><li>two</li></ol>", "1. one\n2. two"),
    ("<p>a<br>b</p>", "a  \nb"),
    ("<script>alert(1)</script><p>ok</p>", "ok"),
    ('<a href="javascript:alert(1)">x</a> <a href="https://e.org">y</a>', "x [y](https://e.org)"),
    ("<pre>if a &lt; b:\n    *x*</pre>", "```\nif a < b:\n    *x*\n```"),
    ("<p>\\(x\n<br>y\\)</p>", "\\(x\ny\\)"),
])
def test_html_to_markdown(html, markdown):
    assert html_to_markdown(html)[0] == markdown


def test_plugin_images_are_reported():
    text, images = html_to_markdown(
        '<p><img src="@@PLUGINFILE@@/a%20b.png" alt="graph"><img src="data:image/png;base64,xx">'
        '<img src="https://example.org/c.png" alt="c"></p>'
    )
    assert images == ["a b.png", "embedded image"]
    assert "![c](https://example.org/c.png)" in text
    assert "“a b.png” was not imported" in text


def test_markdown_to_html_keeps_tex_for_mathjax():
    html = markdown_to_html("Solve $x<2$ and \\(y\\).\n\n$$\\frac{a}{b}$$\n\n- *it*")
    assert "\\(x&lt;2\\)" in html and "\\(y\\)" in html and "\\[\\frac{a}{b}\\]" in html
    assert "<em>it</em>" in html and "<math" not in html


def test_raw_html_in_markdown_is_escaped_on_export():
    assert "<script>" not in markdown_to_html("<script>alert(1)</script>")
