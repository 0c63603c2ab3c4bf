"""Highlighted text as safe HTML, from the databases' marks: no database access here.

The databases wrap matches in two control characters (START, STOP; never HTML) and cut
snippets at FRAGMENT. Every piece of text is escaped here and the markers become
``<mark>``: stored text is never trusted as HTML. A snippet's formulas are rendered as
MathML and never cut in two.
"""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from questionbank.db.cjk import unblank_ranges
from questionbank.rendering import render_math

START, STOP = "\x02", "\x03"
SENTINELS = START + STOP
# Separates the fragments of a database snippet (never shown: snippet_html joins them).
FRAGMENT = "\x1f"
# str.translate's table that removes them all (as the highlight queries do in the database).
_NO_MARKERS = dict.fromkeys(map(ord, SENTINELS + FRAGMENT))


def marked(text: str | None) -> SafeString:
    """Escape ``text`` and turn the database's START/STOP markers into balanced <mark>s."""
    out: list[str] = []
    inside = False
    for part in re.split(f"([{SENTINELS}])", text or ""):
        if part == START:
            if not inside:
                out.append("<mark>")
                inside = True
        elif part == STOP:
            if inside:
                out.append("</mark>")
                inside = False
        elif part:
            out.append(escape(part))
    if inside:
        out.append("</mark>")
    return mark_safe("".join(out))  # every piece of text was escaped above


def substring_highlight(text: str, terms: tuple[str, ...]) -> SafeString:
    """Mark every occurrence of ``terms`` in ``text`` (the substring search's titles)."""
    return marked(substring_marks(text, terms))


def substring_marks(text: str, terms: tuple[str, ...], *, width: int | None = None) -> str:
    """``text`` with START/STOP around every occurrence of ``terms``; with ``width``, only
    a window around the first one (the substring search's answer to ts_headline/snippet),
    FRAGMENT where it was cut."""
    text = (text or "").replace(START, "").replace(STOP, "").replace(FRAGMENT, "")
    terms = tuple(t for t in terms if t)
    if not terms:
        return text[:width] if width else text
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)),
                         re.IGNORECASE)
    if width:
        first = pattern.search(text)
        start = max(0, (first.start() if first else 0) - width // 3)
        text = text[start:start + width]
    return pattern.sub(lambda m: START + m.group(0) + STOP, text)


# Maths in a statement's Markdown, with the renderer's delimiters: $$…$$, $…$, \(…\), \[…\]
# (an escaped \$ is not one). An approximation of the Markdown parser, enough for snippets.
_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$"
                   r"|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
# A formula a snippet cuts through is shown whole up to this length, else left out.
MAX_SNIPPET_MATH_CHARS = 200


def snippet_html(statement: str | None, raw: str | None) -> SafeString:
    """A search snippet as HTML: the database's ``raw`` snippet of ``statement`` (matches
    between START and STOP, fragments separated by FRAGMENT) with its formulas rendered
    as MathML instead of shown as TeX source.

    Each fragment is found in the statement and widened (or narrowed, for a long
    formula) so that it never cuts a formula in two; a formula holding a match is
    marked whole. "…" shows where the statement goes on. Text is escaped as in
    :func:`marked`.
    """
    statement = (statement or "").replace(START, "").replace(STOP, "").replace(FRAGMENT, "")
    parts: list[str] = []
    first = last = 0  # the statement's range the shown fragments come from
    searched_from = 0
    for piece in (raw or "").split(FRAGMENT):
        piece = piece.strip()
        plain = piece.replace(START, "").replace(STOP, "")
        if not plain:
            continue
        marks = _mark_ranges(piece)
        at = statement.find(plain, searched_from)
        if at < 0:
            at = statement.find(plain)
        if at < 0:  # not found as it came: shown on its own, whole formulas only
            parts.append(_window_html(plain, 0, len(plain), marks))
            continue
        searched_from = at + len(plain)
        marks = [(a + at, b + at) for a, b in marks]
        start, end = _whole_formulas(statement, at, at + len(plain))
        if start < end:
            first, last = (start, end) if not parts else (first, end)
            parts.append(_window_html(statement, start, end, marks))
    if not parts:
        return mark_safe("")
    html = " … ".join(parts)  # every part was escaped or rendered as MathML
    if statement[:first].strip():
        html = "… " + html
    if last and statement[last:].strip():
        html += " …"
    return mark_safe(html)


def _mark_ranges(piece: str) -> list[tuple[int, int]]:
    """Where ``piece``'s START/STOP markers are, as ranges of its text without them."""
    ranges, opened, pos = [], None, 0
    for part in re.split(f"([{SENTINELS}])", piece):
        if part == START:
            opened = pos if opened is None else opened
        elif part == STOP:
            if opened is not None:
                ranges.append((opened, pos))
            opened = None
        else:
            pos += len(part)
    if opened is not None:
        ranges.append((opened, pos))
    return ranges


def _whole_formulas(statement: str, start: int, end: int) -> tuple[int, int]:
    """``start``..``end`` moved so that no formula of ``statement`` is cut in two."""
    for match in _MATH.finditer(statement):
        a, b = match.span()
        if a >= end:
            break
        short = b - a <= MAX_SNIPPET_MATH_CHARS
        if a < start < b:
            start = a if short else b
        if a < end < b:
            end = b if short else a
    return start, end


def _window_html(text: str, start: int, end: int, marks: list[tuple[int, int]]) -> str:
    """``text[start:end]`` as HTML: formulas as MathML (in <mark> when a match falls in
    one), the rest escaped with its matches marked."""
    out: list[str] = []
    pos = start
    window = text[start:end]
    for match in _MATH.finditer(window):
        a, b = match.start() + start, match.end() + start
        out.append(_marked_range(text, pos, a, marks))
        tex = next(group for group in match.groups() if group is not None)
        math = render_math(tex, display=False)
        if any(ma < b and mb > a for ma, mb in marks):
            math = f"<mark>{math}</mark>"
        out.append(math)
        pos = b
    out.append(_marked_range(text, pos, end, marks))
    return "".join(out).strip()


def _marked_range(text: str, start: int, end: int, marks: list[tuple[int, int]]) -> str:
    """``text[start:end]`` escaped, with the parts inside ``marks`` in <mark>."""
    cuts = [start]
    for a, b in marks:
        cuts += [min(max(a, start), end), min(max(b, start), end)]
    cuts.append(end)
    out = []
    for i in range(len(cuts) - 1):
        chunk = text[cuts[i]:cuts[i + 1]]
        inside = i % 2 == 1 and cuts[i] < cuts[i + 1]
        out.append(START + chunk + STOP if inside else chunk)
    return marked("".join(out))


def with_runs(text: str | None, runs: tuple[str, ...],
              highlighted: str | None = None) -> tuple[str, list[tuple[int, int]]]:
    """``text`` without the markers' characters, and the ranges to mark in it: those the
    database marked in ``highlighted`` (its highlight of the same text with CJK runs
    blanked, :func:`questionbank.db.cjk.blank_cjk`) and every occurrence of ``runs``."""
    text = (text or "").translate(_NO_MARKERS)
    ranges = unblank_ranges(text, _mark_ranges(highlighted)) if highlighted else []
    for run in runs:
        at = text.find(run)
        while at >= 0:
            ranges.append((at, at + len(run)))
            at = text.find(run, at + len(run))
    return text, ranges


def with_marks(text: str, ranges: list[tuple[int, int]], *, width: int | None = None) -> str:
    """``text`` with START/STOP around ``ranges`` (overlapping ones merged); with
    ``width``, only a window of that many characters around the first one."""
    merged: list[list[int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    start, end = 0, len(text)
    if width:
        start = max(0, (merged[0][0] if merged else 0) - width // 3)
        end = start + width
    out, pos = [], start
    for a, b in merged:
        a, b = max(a, start), min(b, end)
        if a >= b:
            continue
        out += [text[pos:a], START, text[a:b], STOP]
        pos = b
    out.append(text[pos:end])
    return "".join(out)
