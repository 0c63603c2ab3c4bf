"""The search box's input: cleaned, cut into CJK runs and words, and turned into each
index's query language (PostgreSQL tsquery text, SQLite FTS5 expressions) without ever
passing the user's text through as syntax. No database access here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from questionbank.db.cjk import CJK_RUN

# Longer queries are cut (and the page says so): ranking 40 words helps nobody, and it
# bounds the work a single request can ask of the database.
MAX_QUERY_CHARS = 200
MAX_TERMS = 16

# Thai/Lao/Myanmar/Khmer: written without spaces between words, and not indexed (CJK is:
# questionbank.db.cjk).
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_WORD = re.compile(r"[^\W_]+")
_CHUNK = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')


@dataclass(frozen=True)
class SearchRequest:
    """What the user typed, cleaned, and how it will be answered.

    ``mode`` is "" (no search), "fts" (full-text indexes), "substring" (Thai and other
    unindexed unspaced scripts) or "empty" (nothing searchable typed: only punctuation).
    ``note`` is a sentence to show beside the results when the input had to be changed.

    In mode "fts", ``words`` is the text with its CJK runs taken out (what PostgreSQL's
    websearch_to_tsquery reads; the whole text when it has none), ``fts5`` the same as
    an FTS5 expression ("" when there are no words), ``cjk`` the CJK runs a problem
    must contain and ``cjk_not`` those it must not.
    """

    text: str = ""
    mode: str = ""
    terms: tuple[str, ...] = ()
    fts5: str = ""
    note: str = ""
    words: str = ""
    cjk: tuple[str, ...] = ()
    cjk_not: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False)

    def __bool__(self) -> bool:
        return bool(self.mode)


def parse_query(raw: str | None) -> SearchRequest:
    """Clean the user's query and decide how to run it. Never raises."""
    text = _CONTROL.sub(" ", raw or "")
    text = " ".join(text.split())
    if not text:
        return SearchRequest()
    note = ""
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS].rstrip()
        note = f"Your search was long, so only its first {MAX_QUERY_CHARS} characters were used."
    if _UNSPACED.search(text):
        terms = tuple(t for t in (w.strip('"') for w in text.split()) if t)[:MAX_TERMS]
        return SearchRequest(text=text, mode="substring", terms=terms, note=note)
    cjk, cjk_not, words = _cjk_runs(text)
    fts5 = fts5_expression(words)
    if not fts5 and not cjk:
        return SearchRequest(
            text=text, mode="empty",
            note=note or "Type a word or a number to search for; punctuation alone finds nothing.",
        )
    terms = tuple(_WORD.findall(words.lower()))[:MAX_TERMS]
    return SearchRequest(text=text, mode="fts", terms=terms, fts5=fts5, note=note, words=words,
                         cjk=cjk, cjk_not=cjk_not)


def _cjk_runs(text: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """The CJK runs of ``text`` to find and to exclude (a run in a chunk that starts with
    "-"), each once, at most MAX_TERMS in all; and ``text`` with every run replaced by a
    space (unchanged when it has none)."""
    wanted: dict[str, None] = {}
    unwanted: dict[str, None] = {}
    for match in _CHUNK.finditer(text):
        neg_q, phrase, neg_w, chunk = match.groups()
        for run in CJK_RUN.findall(phrase if phrase is not None else chunk):
            if len(wanted) + len(unwanted) < MAX_TERMS:
                (unwanted if neg_q or neg_w else wanted)[run] = None
    if not wanted and not unwanted:
        return (), (), text
    return tuple(wanted), tuple(unwanted), CJK_RUN.sub(" ", text)


def cjk_tsquery(req: SearchRequest) -> str:
    """PostgreSQL: a tsquery (text) for ``req``'s CJK runs against ``qb_cjk_vector``:
    one character is a prefix, a pair a lexeme, a longer run the phrase of its pairs.
    The runs hold CJK characters only, so no quoting is needed beyond the quotes."""
    return " & ".join([*(_cjk_phrase(run) for run in req.cjk),
                       *(f"!{_cjk_phrase(run)}" for run in req.cjk_not)])


def cjk_tsquery_any(runs: tuple[str, ...]) -> str:
    """PostgreSQL: a tsquery (text) matching a text that holds any of ``runs``."""
    return " | ".join(_cjk_phrase(run) for run in runs)


def _cjk_phrase(run: str) -> str:
    """One run as a tsquery: a character (the prefix of its pairs, or itself at the end of
    a run: migration 0028), a pair, or the phrase of its pairs."""
    if len(run) == 1:
        return f"'{run}':*"
    if len(run) == 2:
        return f"'{run}'"
    return "(" + " <-> ".join(f"'{run[i:i + 2]}'" for i in range(len(run) - 1)) + ")"


def cjk_fts5(runs: tuple[str, ...], *, join: str = "AND") -> str:
    """SQLite: an FTS5 expression for CJK ``runs`` (all of them, or any with ``join``
    "OR") against the token text of ``questionbank.db.cjk.cjk_tokens`` ("三 三角 角 角形
    形"): one character or pair is a token, a longer run the phrase of its pairs with the
    characters between them."""

    def one(run: str) -> str:
        if len(run) <= 2:
            return f'"{run}"'
        tokens = [run[:2]]
        for i in range(1, len(run) - 1):
            tokens += [run[i], run[i:i + 2]]
        return '"' + " ".join(tokens) + '"'

    return f" {join} ".join(one(run) for run in runs)


def fts5_expression(text: str) -> str:
    """An FTS5 MATCH expression for ``text`` with web-search meaning and no FTS5 syntax.

    Words are ANDed, ``"quoted words"`` (or words joined by punctuation, like ``x^2``) are
    phrases, a leading ``-`` excludes, a bare ``or`` between two parts means either.
    Every phrase is double-quoted and made of word characters only, so nothing the user
    types can be read as an operator, a column filter or a prefix query. Exclusions
    alone make "" (FTS5 has no "not" alone): see :func:`fts5_excluded`.
    """
    groups, negatives = _fts5_parts(text)
    if not groups:
        return ""
    expr = " OR ".join("(" + " AND ".join(g) + ")" for g in groups)
    if negatives:
        expr = f"({expr}) NOT ({' OR '.join(negatives)})"
    return expr


def fts5_excluded(text: str) -> str:
    """An FTS5 expression matching what ``text``'s exclusions (-word, -"a phrase") leave
    out ("" if none), for a query whose words are only exclusions beside CJK runs."""
    return " OR ".join(_fts5_parts(text)[1])


def _fts5_parts(text: str) -> tuple[list[list[str]], list[str]]:
    """``text``'s quoted phrases: groups of phrases to AND (the groups ORed), and the
    phrases to exclude."""
    groups: list[list[str]] = [[]]
    negatives: list[str] = []
    count = 0
    for match in _CHUNK.finditer(text):
        neg_q, phrase, neg_w, chunk = match.groups()
        body = phrase if phrase is not None else chunk
        words = _WORD.findall(body)
        if not words:
            continue
        if phrase is None and len(words) == 1 and words[0].lower() == "or" and not neg_w:
            if groups[-1]:
                groups.append([])
            continue
        count += 1
        if count > MAX_TERMS:
            break
        quoted = '"' + " ".join(words) + '"'
        if neg_q or neg_w:
            negatives.append(quoted)
        else:
            groups[-1].append(quoted)
    return [g for g in groups if g], negatives
