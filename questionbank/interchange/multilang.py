"""Moodle's multi-language text: keep one language instead of mixing them.

Two notations exist in Moodle banks:

- the core "Multi-language content" filter: ``<span lang="en" class="multilang">…</span>``
  spans side by side, one per language;
- the "Multi-Language Content (v2)" plugin: ``{mlang en}…{mlang}`` blocks, with
  ``{mlang other}`` as the fallback for any language not listed.

Each *group* (blocks side by side, separated only by white space) is reduced to the
block in the chosen language; when a group has no block in that language, its
``other`` block or else its first block is kept, so text is never lost because one
field was not translated. Outside groups the text is untouched.
"""

from __future__ import annotations

import html
import re

_SPAN_OPEN = re.compile(r"<span\b[^<>]*>", re.IGNORECASE)
_SPAN_ANY = re.compile(r"<span\b[^<>]*>|</span\s*>", re.IGNORECASE)
_LANG_ATTR = re.compile(r"""\blang\s*=\s*["']?([A-Za-z][A-Za-z0-9_-]*)""", re.IGNORECASE)
_CLASS_MULTILANG = re.compile(r"""\bclass\s*=\s*["'][^"']*\bmultilang\b""", re.IGNORECASE)
_MLANG_TOKEN = re.compile(r"\{mlang(?:\s+([A-Za-z][A-Za-z0-9_,\s-]*))?\}", re.IGNORECASE)


def _mlang_blocks(text: str) -> list[tuple[int, int, list[str], str]]:
    """(start, end, language codes, inner text) of each ``{mlang xx}…{mlang}`` block: an
    opener ends at the next ``{mlang}``. One pass (no regex rescanning for unclosed ones)."""
    blocks, opener = [], None
    for token in _MLANG_TOKEN.finditer(text):
        if token[1] is not None:
            opener = token  # a second opener before a closer: the later one counts
        elif opener is not None:
            codes = [normalise(c) for c in opener[1].split(",") if c.strip()]
            blocks.append((opener.start(), token.end(), codes, text[opener.end():token.start()]))
            opener = None
    return blocks


def normalise(code: str) -> str:
    """``en-GB`` / ``en_gb`` -> ``en``: Moodle language packs and our site use both."""
    return re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]


def languages(text: str) -> list[str]:
    """Languages that multi-language blocks in ``text`` are written in, in order of first
    appearance. ``text`` may be a whole file: escaped markup (``&lt;span ...``, GIFT's
    ``\\{mlang en\\}``) counts."""
    found: list[str] = []
    plain = html.unescape(text) if "&lt;" in text or "&quot;" in text else text
    # GIFT escapes braces: Moodle writes {mlang en} there as \{mlang en\}.
    plain = plain.replace("\\{", "{").replace("\\}", "}")
    for match in _SPAN_OPEN.finditer(plain):
        tag = match.group(0)
        lang = _LANG_ATTR.search(tag)
        if lang and _CLASS_MULTILANG.search(tag):
            found.append(normalise(lang[1]))
    for _, _, codes, _ in _mlang_blocks(plain):
        found += [code for code in codes if code != "other"]
    return list(dict.fromkeys(code for code in found if code))


def choose(found: list[str], *, requested: str | None, site: str) -> str | None:
    """The language to keep: the one asked for, else the site's, else the file's first."""
    if not found:
        return None
    for wanted in (requested, site):
        if wanted and normalise(wanted) in found:
            return normalise(wanted)
    return found[0]


def keep(text: str, language: str | None) -> str:
    """``text`` with every multi-language group reduced to ``language`` (see module doc)."""
    if not text or language is None:
        return text
    if "multilang" in text.lower():
        text = _keep_spans(text, language)
    if "{mlang" in text.lower():
        text = _keep_mlang(text, language)
    return text


def _multilang_spans(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, language, inner text) of each top-level multilang span."""
    spans, pos = [], 0
    while True:
        match = _SPAN_OPEN.search(text, pos)
        if match is None:
            return spans
        tag = match.group(0)
        lang = _LANG_ATTR.search(tag)
        if not (lang and _CLASS_MULTILANG.search(tag)):
            pos = match.end()
            continue
        depth, scan, end = 1, match.end(), None
        for inner in _SPAN_ANY.finditer(text, match.end()):
            depth += -1 if inner.group(0).startswith("</") else 1
            if depth == 0:
                end, scan = inner.end(), inner.start()
                break
        if end is None:  # never closed: leave the rest of the text alone
            return spans
        spans.append((match.start(), end, normalise(lang[1]), text[match.end():scan]))
        pos = end


def _reduce(text: str, blocks: list[tuple[int, int, str, str]], language: str) -> str:
    """Replace each group of adjacent blocks by the one block kept."""
    out, pos, i = [], 0, 0
    while i < len(blocks):
        group = [blocks[i]]
        while i + 1 < len(blocks) and not text[group[-1][1]:blocks[i + 1][0]].strip():
            i += 1
            group.append(blocks[i])
        i += 1
        chosen = next((b for b in group if b[2] == language), None) \
            or next((b for b in group if b[2] == "other"), None) or group[0]
        out.append(text[pos:group[0][0]])
        out.append(chosen[3])
        pos = group[-1][1]
    out.append(text[pos:])
    return "".join(out)


def _keep_spans(text: str, language: str) -> str:
    return _reduce(text, _multilang_spans(text), language)


def _keep_mlang(text: str, language: str) -> str:
    blocks = [(start, end, language if language in codes else codes[0], inner)
              for start, end, codes, inner in _mlang_blocks(text) if codes]
    return _reduce(text, blocks, language)
