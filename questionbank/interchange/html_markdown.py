"""Moodle HTML -> our Markdown, and our Markdown -> HTML for Moodle, maths kept as TeX.

Maths is the point: ``\\(...\\)``, ``\\[...\\]`` and ``$$...$$`` pass through both ways
untouched (entities inside them decoded, e.g. ``\\(a &lt; b\\)`` -> ``\\(a < b\\)``),
because Moodle's MathJax filter and our renderer both read TeX. Outside maths, the few
characters Markdown would misread (``*``, ``_`` at word edges, backticks and a single
``$``, which Moodle never treats as maths but our renderer would) are backslash-escaped.

A ``<`` that does not open a tag is text, as Moodle treats it: ``\\(x<y\\)`` inside maths
(a "tag" there must close before the maths does) and ``x <y`` outside. Tables become
Markdown tables with a header row (an empty one when the HTML table has no ``<th>``).
Plain text (Moodle's ``plain_text`` and auto-format, GIFT's default) is escaped the same
way by :func:`plain_to_markdown`. :func:`text_lost` warns when the converted text holds
fewer letters than the HTML showed, so nothing shrinks silently.

Images stored in Moodle (``@@PLUGINFILE@@/...``) and embedded ``data:`` images cannot be
imported: they are replaced by a visible note and reported, so the teacher knows which
questions to fix by hand.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import unquote

_BLOCKS = {"p", "div", "section", "article", "header", "footer", "blockquote",
           "figure", "figcaption", "dl", "dt", "dd", "center", "address"}
_SKIP = {"script", "style", "head", "title", "template", "noscript", "iframe", "object"}
_OPENERS = (("\\(", "\\)"), ("\\[", "\\]"), ("$$", "$$"))


class _Converter(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.images: list[str] = []
        self.skip = 0
        self.pre = 0
        self.lists: list[list] = []  # [tag, counter]
        self.links: list[str | None] = []
        self.math_closer: str | None = None
        self.quote = 0
        # One entry per open <table>: where its text starts in ``out``, its rows so far,
        # the row and cell being read (cell: where its text starts in ``out``).
        self.tables: list[dict] = []

    # -- helpers
    def _text(self) -> str:
        return "".join(self.out)

    def _tail(self, size: int = 2) -> str:
        """The last ``size`` characters written, without joining everything written."""
        pieces, length = [], 0
        for piece in reversed(self.out):
            pieces.append(piece)
            length += len(piece)
            if length >= size:
                break
        return "".join(reversed(pieces))[-size:]

    def _ends_with_newline(self) -> bool:
        text = self._text()
        return not text or text.endswith("\n")

    def _block(self):
        """Start a new block: a blank line, or a plain newline inside a list item."""
        if self.math_closer:
            self.out.append("\n")
            return
        text = self._text()
        if not text.strip():
            return
        if self.lists:
            if not text.endswith(("\n", "- ", ". ")):
                self.out.append("\n" + "   " * len(self.lists))
            return
        stripped = text.rstrip(" ")
        prefix = "> " * self.quote
        if not stripped.endswith("\n\n"):
            self.out.append("\n" if stripped.endswith("\n") else "\n\n")
        if prefix:
            self.out.append(prefix)

    # -- parser callbacks
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if self.pre and tag != "pre":
            return
        if tag in _BLOCKS:
            self._block()
            if tag == "blockquote":
                self.quote += 1
                self.out.append("> ")
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self._block()
            self.out.append("#" * int(tag[1]) + " ")
        elif tag == "br":
            self.out.append("\n" if self.math_closer else "\x01\n")
        elif tag == "hr":
            self._block()
            self.out.append("---\n\n")
        elif tag in {"strong", "b"}:
            self.out.append("**")
        elif tag in {"em", "i"}:
            self.out.append("*")
        elif tag == "code":
            self.out.append("`")
        elif tag == "pre":
            self._block()
            self.out.append("```\n")
            self.pre += 1
        elif tag in {"ul", "ol"}:
            if not self.lists:
                self._block()
            self.lists.append([tag, 0])
        elif tag == "li":
            depth = max(len(self.lists), 1)
            if not self._ends_with_newline():
                self.out.append("\n")
            indent = "   " * (depth - 1)
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                self.out.append(f"{indent}{self.lists[-1][1]}. ")
            else:
                self.out.append(f"{indent}- ")
        elif tag == "a":
            href = (attrs.get("href") or "").strip()
            ok = href.startswith(("http://", "https://", "mailto:"))
            self.links.append(href if ok else None)
            if ok:
                self.out.append("[")
        elif tag == "img":
            self._image(attrs)
        elif tag == "sup":
            self.out.append("^{" if self.math_closer else "\\(^{")
        elif tag == "sub":
            self.out.append("_{" if self.math_closer else "\\(_{")
        elif tag == "table":
            self._block()
            self.tables.append({"start": len(self.out), "rows": [], "row": None,
                                "cell": None, "caption": None, "header": False})
        elif self.tables and tag == "tr":
            self._end_row()
            self.tables[-1]["row"] = []
        elif self.tables and tag in {"td", "th"}:
            table = self.tables[-1]
            self._end_cell()
            if table["row"] is None:
                table["row"] = []
            if tag == "th" and not table["rows"]:
                table["header"] = True
            table["cell"] = len(self.out)
        elif self.tables and tag == "caption":
            self.tables[-1]["caption"] = len(self.out)

    def _end_cell(self):
        table = self.tables[-1]
        if table["cell"] is None:
            return
        text = "".join(self.out[table["cell"]:])
        del self.out[table["cell"]:]
        table["cell"] = None
        table["row"].append(_table_cell(" ".join(text.replace("\x01", "").split())))

    def _end_row(self):
        table = self.tables[-1]
        self._end_cell()
        if table["row"]:
            table["rows"].append(table["row"])
        table["row"] = None

    def _end_table(self):
        self._end_row()
        table = self.tables.pop()
        caption = table["caption"]
        if isinstance(caption, int):
            caption = None
        del self.out[table["start"]:]
        rows = table["rows"]
        if not rows:
            return
        width = max(len(row) for row in rows)
        rows = [row + [""] * (width - len(row)) for row in rows]
        header = rows.pop(0) if table["header"] else [""] * width
        lines = [f"*{caption}*", ""] if caption else []
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + " --- |" * width)
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        self._block()
        self.out.append("\n".join(lines))
        self._block()

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if self.pre and tag != "pre":
            return
        if tag in _BLOCKS or tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            self._block()
        elif tag in {"strong", "b"}:
            self._close_inline("**")
        elif tag in {"em", "i"}:
            self._close_inline("*")
        elif tag == "code":
            self._close_inline("`")
        elif tag == "pre":
            self.pre -= 1
            if not self._ends_with_newline():
                self.out.append("\n")
            self.out.append("```")
            self._block()
        elif tag in {"ul", "ol"}:
            if self.lists:
                self.lists.pop()
            if not self.lists:
                self._block()
        elif tag == "a":
            href = self.links.pop() if self.links else None
            if href:
                self.out.append(f"]({href})")
        elif tag in {"sup", "sub"}:
            self.out.append("}" if self.math_closer else "}\\)")
        elif self.tables and tag == "table":
            self._end_table()
        elif self.tables and tag == "tr":
            self._end_row()
        elif self.tables and tag in {"td", "th"}:
            self._end_cell()
        elif self.tables and tag == "caption" and isinstance(self.tables[-1]["caption"], int):
            start = self.tables[-1]["caption"]
            self.tables[-1]["caption"] = " ".join("".join(self.out[start:]).split())
            del self.out[start:]

    def _close_inline(self, marker: str):
        # Markdown emphasis cannot end with a space: move the space outside.
        if self.out and self.out[-1] == marker:  # an empty element: drop its opener
            self.out.pop()
            return
        text = self._text()
        trailing = len(text) - len(text.rstrip(" "))
        if trailing:
            self.out[-1] = self.out[-1].rstrip(" ")
            self.out.append(marker + " ")
        else:
            self.out.append(marker)

    def _image(self, attrs):
        src = (attrs.get("src") or "").strip()
        alt = " ".join((attrs.get("alt") or "").split())
        if src.startswith(("http://", "https://")):
            self.out.append(f"![{alt}]({src})")
            return
        if "@@PLUGINFILE@@" in src:
            name = unquote(src.rsplit("/", 1)[-1]) or "image"
        elif src.startswith("data:"):
            name = "embedded image"
        else:
            name = unquote(src.rsplit("/", 1)[-1]) or "image"
        self.images.append(name)
        self.out.append(f"*[image “{name}” was not imported{': ' + alt if alt else ''}]*")

    def handle_data(self, data):
        if self.skip:
            return
        if self.pre:
            self.out.append(data)
            return
        data = re.sub(r"\s+", " ", data)
        tail = self._tail()
        at_newline = not tail or tail.endswith("\n")
        line_start = at_newline and not self.tables and not self.math_closer
        if at_newline or tail in ("> ", "- ", ". ", "# "):
            data = data.lstrip()
        data = self._escape_outside_maths(data)
        if line_start:  # "# of apples" in a paragraph is not a heading
            data = _LINE_MARKER.sub(_escape_marker, data, count=1)
        self.out.append(data)

    def _escape_outside_maths(self, data: str) -> str:
        parts, pos = [], 0
        while pos < len(data):
            if self.math_closer:
                end = data.find(self.math_closer, pos)
                if end == -1:
                    parts.append(data[pos:])
                    break
                end += len(self.math_closer)
                parts.append(data[pos:end])
                self.math_closer, pos = None, end
                continue
            best = None
            for opener, closer in _OPENERS:
                at = data.find(opener, pos)
                if at != -1 and (best is None or at < best[0]):
                    best = (at, opener, closer)
            if best is None:
                parts.append(escape_markdown(data[pos:]))
                break
            at, opener, closer = best
            parts.append(escape_markdown(data[pos:at]))
            parts.append(opener)
            self.math_closer, pos = closer, at + len(opener)
        return "".join(parts)


_ESCAPES = re.compile(r"[*`$]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|&(?=#?[A-Za-z0-9]+;)")


def escape_markdown(text: str) -> str:
    """Backslash-escape what Markdown would read as markup in plain text (emphasis, code,
    a lone ``$``, and ``&`` before what Markdown would decode as an entity)."""
    return _ESCAPES.sub(lambda m: "\\" + m.group(0), text)


# No ".*?" anywhere below: a lazy match that never finds its end rescans the rest of the
# text for every opener, and a hostile file with many unclosed ones would take hours.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|<![^<>]*>|<\?[^<>]*>")
_MATH_TOKEN = re.compile(r"\\[()\[\]]|\$\$")
_MATH_CLOSER = {"\\(": "\\)", "\\[": "\\]", "$$": "$$"}


def math_regions(text: str) -> list[tuple[int, int]]:
    """(start, end) of each ``\\(..\\)``, ``\\[..\\]`` and ``$$..$$`` in ``text``: an opener
    ends at the next closer of its kind; an opener never closed is not maths. Linear in
    the length of the text."""
    tokens = [(m.start(), m.group(0)) for m in _MATH_TOKEN.finditer(text)]
    # next_at[kind][i]: index of the first token of that kind at or after token i.
    next_at = {closer: [0] * (len(tokens) + 1) for closer in ("\\)", "\\]", "$$")}
    for closer, table in next_at.items():
        table[len(tokens)] = -1
        for i in range(len(tokens) - 1, -1, -1):
            table[i] = i if tokens[i][1] == closer else table[i + 1]
    regions, i = [], 0
    while i < len(tokens):
        start, token = tokens[i]
        closer = _MATH_CLOSER.get(token)
        j = next_at[closer][i + 1] if closer else -1
        if j == -1:
            i += 1
            continue
        regions.append((start, tokens[j][0] + len(closer)))
        i = j + 1
    return regions


def _split_maths(text: str):
    """(is maths, piece) for the pieces of ``text`` in order."""
    pos = 0
    for start, end in math_regions(text):
        yield False, text[pos:start]
        yield True, text[start:end]
        pos = end
    yield False, text[pos:]


def _table_cell(text: str) -> str:
    """A cell's text with its pipes kept out of the table syntax: ``\\|`` in text, ``\\vert``
    inside maths (where ``\\|`` would be TeX's double bar)."""
    return "".join(piece.replace("|", "\\vert ") if maths else piece.replace("|", "\\|")
                   for maths, piece in _split_maths(text))


def escape_stray_lt(fragment: str) -> str:
    """``&lt;`` for every ``<`` that does not open a tag, as Moodle reads it.

    Inside maths (``\\(x<y\\)``) a tag must also end before the maths does; outside, a
    ``<`` not followed by a complete tag (``x <y``, ``a<3``) is text. Python's HTML parser
    would otherwise read ``<y\\) true ...`` as a tag and drop the rest of the sentence.
    """
    if "<" not in fragment:
        return fragment
    return "".join(_escape_lt_in_maths(piece) if maths else _STRAY_LT.sub("&lt;", piece)
                   for maths, piece in _split_maths(fragment))


_STRAY_LT = re.compile(r"<(?!/?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|!|\?)")


def _escape_lt_in_maths(maths: str) -> str:
    """Inside one maths region, only a tag that closes within it stays a tag."""
    if "<" not in maths:
        return maths
    out, pos = [], 0
    while (at := maths.find("<", pos)) != -1:
        tag = _TAG.match(maths, at)
        if tag is not None:
            out.append(maths[pos:tag.end()])
            pos = tag.end()
        else:
            out.append(maths[pos:at] + "&lt;")
            pos = at + 1
    out.append(maths[pos:])
    return "".join(out)


def html_to_markdown(fragment: str) -> tuple[str, list[str]]:
    """Markdown for a Moodle HTML fragment, and the names of images that were not imported."""
    converter = _Converter()
    converter.feed(escape_stray_lt(fragment or ""))
    converter.close()
    while converter.tables:  # a table never closed: keep what it held
        converter._end_table()
    text = converter._text()
    lines = [line.rstrip(" \t") for line in text.split("\n")]
    text = "\n".join(lines).replace("\x01", "  ")
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    text = re.sub(r"\\\(\^\{\}\\\)|\\\(_\{\}\\\)", "", text)
    return text, converter.images


_SKIPPED_OPEN = re.compile(r"<(script|style|head|title|template|noscript)\b|<!--",
                           re.IGNORECASE)


def _drop_skipped(text: str) -> str:
    """``text`` without comments and the content of script, style, ... elements (what a
    browser does not show). One pass: an element never closed hides the rest."""
    out, pos = [], 0
    lowered = text.lower()
    while (match := _SKIPPED_OPEN.search(text, pos)) is not None:
        out.append(text[pos:match.start()])
        closer = "-->" if match.group(0) == "<!--" else f"</{match[1].lower()}"
        end = lowered.find(closer, match.end())
        if end == -1:
            return " ".join(out)
        gt = text.find(">", end)
        pos = len(text) if gt == -1 else gt + 1
        out.append(" ")
    out.append(text[pos:])
    return "".join(out)
_IMAGE_NOTE = re.compile(r"\*\[image “[^”]*” was not imported[^\]]*\]\*")


def html_to_text(fragment: str) -> str:
    """The text a browser would show for an HTML fragment (tags dropped, entities decoded),
    for one-line values such as answers, where Markdown escapes would be wrong."""
    text = _drop_skipped(escape_stray_lt(fragment or ""))
    text = _TAG.sub("", _BREAKING_TAG.sub(" ", text))
    return " ".join(html.unescape(text).split())


_BREAKING_TAG = re.compile(r"</?(?:p|div|br|li|tr|td|th)\b[^<>]*>", re.IGNORECASE)
_ALNUM = re.compile(r"[^\W_]")


def _letters(text: str) -> int:
    return len(_ALNUM.findall(text))


def text_lost(fragment: str, markdown: str) -> bool:
    """Whether the Markdown shows noticeably fewer letters and digits than the HTML did
    (a conversion that cut text off); image notes do not count."""
    shown = _letters(html_to_text(fragment))
    kept = _letters(_IMAGE_NOTE.sub("", markdown))
    return kept < shown * 0.95 - 1


_LINE_MARKER = re.compile(r"^(\s*)(#|>|[-+](?=\s)|\d+(?=[.)]\s)|=+\s*$|-+\s*$)",
                          re.MULTILINE)
_PUNCT_AFTER_BACKSLASH = re.compile(r"\\(?=[!\"#%&'*+,./:;<=>?@\[\]^_`{|}~-])")


def plain_to_markdown(text: str) -> str:
    """Markdown that shows plain text as it is: ``2*3*4`` stays ``2*3*4``, ``# 1`` is not
    a heading. Maths (``\\(..\\)``, ``\\[..\\]``, ``$$..$$``) is left as TeX; outside
    it, the characters the HTML path escapes are escaped the same way."""
    return "".join(piece if maths else _escape_plain(piece)
                   for maths, piece in _split_maths(text))


def _escape_plain(text: str) -> str:
    text = _PUNCT_AFTER_BACKSLASH.sub(r"\\\\", text)
    text = escape_markdown(text)
    return _LINE_MARKER.sub(_escape_marker, text)


def _escape_marker(match: re.Match) -> str:
    indent, marker = match[1], match[2]
    if marker[0].isdigit():
        return indent + marker + "\\"  # "1." -> "1\." (the dot is escaped)
    return indent + "\\" + marker


def looks_like_html(text: str) -> bool:
    return bool(re.search(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>|&[a-zA-Z]+;|&#\d+;", text))


# --- Markdown -> HTML (export) ------------------------------------------------------------

_MATH = re.compile(
    r"(?P<dd>\$\$(?P<dd_body>.+?)\$\$)"
    r"|(?P<bracket>\\\[(?P<bracket_body>.+?)\\\])"
    r"|(?P<paren>\\\((?P<paren_body>.+?)\\\))"
    r"|(?P<env>\\begin\{(?P<env_name>[a-zA-Z*]+)\}.+?\\end\{(?P=env_name)\})"
    r"|(?P<d>(?<![\\$])\$(?=\S)(?P<d_body>[^$\n]+?)(?<=\S)\$(?!\d))",
    re.DOTALL,
)


def markdown_to_html(text: str) -> str:
    """HTML for Moodle: Markdown rendered, maths left as TeX in ``\\(..\\)``/``\\[..\\]``
    for Moodle's MathJax filter (not converted to MathML as on our own pages)."""
    from markdown_it import MarkdownIt

    if not text:
        return ""
    maths: list[str] = []

    def protect(match: re.Match) -> str:
        if match["dd"] is not None:
            tex = "\\[" + match["dd_body"] + "\\]"
        elif match["bracket"] is not None:
            tex = "\\[" + match["bracket_body"] + "\\]"
        elif match["paren"] is not None:
            tex = "\\(" + match["paren_body"] + "\\)"
        elif match["env"] is not None:
            tex = "\\[" + match["env"] + "\\]"
        else:
            tex = "\\(" + match["d_body"] + "\\)"
        maths.append(html.escape(tex, quote=False))
        return f"QBMATH{len(maths) - 1}X"

    protected = _MATH.sub(protect, text)
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    rendered = md.render(protected)
    return re.sub(r"QBMATH(\d+)X", lambda m: maths[int(m[1])], rendered).strip()
