"""Highlights for one page of results: one query asks the database to mark the words
(ts_headline, FTS5 highlight()/snippet()) in the text its index read, CJK runs blanked
(migration 0029); CJK runs are found in Python (exact substrings); the marks are put back
on the text as written and turned into safe HTML (``snippets``)."""

from __future__ import annotations

from django.contrib.postgres.search import SearchHeadline, SearchQuery
from django.db import connection
from django.db.models import Case, F, Func, TextField, Value, When
from django.utils.safestring import SafeString

from questionbank.browse.search.query import SearchRequest
from questionbank.browse.search.snippets import (
    FRAGMENT,
    SENTINELS,
    START,
    STOP,
    marked,
    snippet_html,
    substring_highlight,
    substring_marks,
    with_marks,
    with_runs,
)
from questionbank.db.cjk import CJK_CLASS, CJK_RUN
from questionbank.db.published import PROBLEM_TABLE
from questionbank.db.sqlite import FTS_TABLE, has_cjk_sql
from questionbank.models import Problem


def pg_query(req: SearchRequest):
    return SearchQuery(req.words, search_type="websearch", config="english")


def _pg_clean(name):
    # The markers must come only from ts_headline, never from stored text.
    return Func(F(name), Value(SENTINELS + FRAGMENT), Value(""), function="translate")


def _pg_headline(name: str, query, **options) -> SearchHeadline:
    """ts_headline of field ``name`` as the words' index read it, CJK runs blanked
    (``qb_blank_cjk``, migration 0029), so 'x' is marked in 'x轴'; :func:`with_runs`
    puts the marks back on the text as written."""
    blanked = Func(_pg_clean(name), function="qb_blank_cjk", output_field=TextField())
    return SearchHeadline(blanked, query, config="english", start_sel=START, stop_sel=STOP,
                          **options)


def highlights(req: SearchRequest, ids: list[int]) -> dict[int, tuple[SafeString, SafeString]]:
    """``{problem id: (title, snippet)}`` with matches in <mark>, for one page of results.

    One query whatever the number of ids. Snippets come from the Markdown source; their
    formulas are rendered as MathML (:func:`snippet_html`), the rest is escaped text.
    The databases mark the words in the text their index read, with CJK runs blanked
    (migration 0029); the marks are put back on the text as written. A statement with
    CJK text is highlighted whole and shown as a window around its first match (the
    database's snippets count words, and its runs hold none); others as the database's
    snippet.
    """
    if not req or req.mode == "empty" or not ids:
        return {}
    if req.mode == "substring":
        rows = Problem.objects.filter(pk__in=ids).values_list("pk", "title", "statement")
        return {pk: (substring_highlight(title, req.terms),
                     snippet_html(statement, substring_marks(statement, req.terms, width=220)))
                for pk, title, statement in rows}
    if req.cjk:
        return _cjk_highlights(req, ids)
    if connection.vendor == "postgresql":
        query = pg_query(req)
        rows = Problem.objects.filter(pk__in=ids).annotate(
            title_hl=_pg_headline("title", query, highlight_all=True),
            snippet_hl=Case(
                When(statement__regex=CJK_CLASS,
                     then=_pg_headline("statement", query, highlight_all=True)),
                default=_pg_headline("statement", query, max_words=35, min_words=15,
                                     max_fragments=2, fragment_delimiter=FRAGMENT)),
        ).values_list("pk", "title", "statement", "title_hl", "snippet_hl")
    else:
        snippet = f"snippet({FTS_TABLE}, 1, char(2), char(3), char(31), 30)"
        rows = _fts5_rows(req, ids, f"CASE WHEN {has_cjk_sql('p.statement')} "
                                    f"THEN {_FTS5_WHOLE} ELSE {snippet} END")
    out = {}
    for pk, title, statement, title_hl, snippet in rows:
        title, title_marks = with_runs(title, (), title_hl)
        if CJK_RUN.search(statement or ""):  # highlighted whole (above)
            statement, marks = with_runs(statement, (), snippet)
            snippet = with_marks(statement, marks, width=220)
        out[pk] = (marked(with_marks(title, title_marks)), snippet_html(statement, snippet))
    return out


def _cjk_highlights(req: SearchRequest, ids: list[int]) -> dict[int, tuple[SafeString, SafeString]]:
    """:func:`highlights` for a query with CJK runs: the words' matches marked by the
    database in the whole title and statement (ts_headline, FTS5 highlight()), the runs'
    (exact substrings) found in Python; the snippet is a window around the first match."""
    if not req.fts5:
        rows = [(pk, title, statement, None, None) for pk, title, statement in
                Problem.objects.filter(pk__in=ids).values_list("pk", "title", "statement")]
    elif connection.vendor == "postgresql":
        query = pg_query(req)
        rows = Problem.objects.filter(pk__in=ids).annotate(
            title_hl=_pg_headline("title", query, highlight_all=True),
            statement_hl=_pg_headline("statement", query, highlight_all=True),
        ).values_list("pk", "title", "statement", "title_hl", "statement_hl")
    else:
        rows = _fts5_rows(req, ids, _FTS5_WHOLE)
    out = {}
    for pk, title, statement, title_hl, statement_hl in rows:
        title, title_marks = with_runs(title, req.cjk, title_hl)
        statement, marks = with_runs(statement, req.cjk, statement_hl)
        out[pk] = (marked(with_marks(title, title_marks)),
                   snippet_html(statement, with_marks(statement, marks, width=220)))
    return out


# SQLite: the FTS5 table's (blanked) statement with every match marked.
_FTS5_WHOLE = f"highlight({FTS_TABLE}, 1, char(2), char(3))"


def _fts5_rows(req: SearchRequest, ids: list[int], statement_sql: str) -> list[tuple]:
    """SQLite: (id, title, statement, highlighted title, ``statement_sql``) of the problems
    ``ids`` that match ``req``'s words, the text as written from the problem's table."""
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, p.title, p.statement, highlight({FTS_TABLE}, 0, char(2), char(3)), "
            f"{statement_sql} FROM {FTS_TABLE} JOIN {PROBLEM_TABLE} p ON p.id = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH %s AND {FTS_TABLE}.rowid IN ({placeholders})",
            [req.fts5, *ids])
        return cursor.fetchall()
