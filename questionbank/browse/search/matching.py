"""Which problems a full-text search finds, in what order: one query on either database
(PostgreSQL's side tables, SQLite's FTS5 tables), ranked, and capped."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, IntegerField, Q, Value, When

from questionbank.browse.search.query import (
    SearchRequest,
    cjk_fts5,
    cjk_tsquery,
    cjk_tsquery_any,
    fts5_excluded,
)
from questionbank.db.published import PROBLEM_TABLE, problem_visible
from questionbank.db.sqlite import CJK_TABLE, FTS_TABLE

# The PostgreSQL side table the ranked search reads (migrations 0011, 0019): problem id,
# created_at, ``visible`` (the rule of questionbank.db.published, kept by triggers; only a
# pre-filter: the rows shown are re-read through it) and the tsvector with tag names
# (made with CJK runs blanked: migration 0029).
SIDE_TABLE = "questionbank_problem_search"
# Its companion for Chinese, Japanese and Korean (migrations 0027, 0028): one row per
# problem with CJK text, its tsvector of character pairs stored in the row with the
# vector's length (``cjk_length``, for ranking), the problem's English-words ``vector``
# (so a query with both reads one table), ``visible`` and created_at.
CJK_SEARCH_TABLE = "questionbank_problem_search_cjk"

# Ranking is capped: the newest RANK_CANDIDATES matches (an index-ordered read, or the
# GIN index and a top-N sort for rare words; the planner picks) are ranked, best first.
# Ranking every match of a common word would read tens of thousands of vectors per
# request. Pages say "best of the newest 1,000 matches" when the cap was reached.
RANK_CANDIDATES = 1000


@dataclass(frozen=True)
class Matches:
    """The ids a full-text search found, in display order, at most RANK_CANDIDATES;
    ``capped`` when more problems matched than were ranked."""

    ids: tuple[int, ...] = ()
    capped: bool = False

    @property
    def total(self) -> int:
        return len(self.ids)


def match_ids(req: SearchRequest, *, relevance: bool, kind: str = "",
              difficulty: int | None = None, tag_id: int | None = None,
              limit: int | None = None) -> Matches:
    """One query: the newest ``limit`` visible problems matching ``req`` (mode "fts")
    within the filters, ordered best first when ``relevance`` (ties: newest first),
    else newest first. PostgreSQL ranks with ts_rank (title and tag names A, statement
    B, normalised by log length) in the side tables; SQLite with FTS5 bm25 (title and tag
    names 10x)."""
    if not req or req.mode != "fts":
        return Matches()
    limit = limit or RANK_CANDIDATES
    # The problem's id is s.problem_id in PostgreSQL's side table, p.id in SQLite's join.
    pid = "s.problem_id" if connection.vendor == "postgresql" else "p.id"
    where, params = [], []
    if kind:
        where.append("p.kind = %s")
        params.append(kind)
    if difficulty:
        where.append("p.difficulty = %s")
        params.append(difficulty)
    if tag_id:
        where.append("EXISTS (SELECT 1 FROM questionbank_problem_tags t "
                     f"WHERE t.problem_id = {pid} AND t.tag_id = %s)")
        params.append(tag_id)
    if req.cjk_not and connection.vendor != "postgresql":
        # Excluded CJK runs: PostgreSQL's tsquery says "not" itself (cjk_tsquery); an
        # FTS5 expression cannot be "not" alone (when there is nothing else to find).
        where.append(f"p.id NOT IN (SELECT rowid FROM {CJK_TABLE} WHERE {CJK_TABLE} MATCH %s)")
        params.append(cjk_fts5(req.cjk_not, join="OR"))
    if req.cjk and not req.fts5 and connection.vendor != "postgresql":
        # Excluded words beside CJK runs ("轴 -x"): the same, for the words' table.
        excluded = fts5_excluded(req.words)
        if excluded:
            where.append(f"p.id NOT IN (SELECT rowid FROM {FTS_TABLE} "
                         f"WHERE {FTS_TABLE} MATCH %s)")
            params.append(excluded)
    if connection.vendor == "postgresql":
        sql, params = _pg_match_sql(req, relevance=relevance, where=where, params=params,
                                    join_problem=bool(kind or difficulty), limit=limit)
    else:
        # bm25 (title and tags 10x) is lower-is-better: negated so both engines sort the
        # score descending.
        table, expr = (FTS_TABLE, req.fts5) if req.fts5 else (CJK_TABLE, cjk_fts5(req.cjk))
        score = f"-bm25({table}, 10.0, 1.0, 10.0)" if relevance else "0"
        head, source = "", f"{table} JOIN {PROBLEM_TABLE} p ON p.id = {table}.rowid"
        match, match_params = f"{table} MATCH %s AND ", [expr]
        if req.fts5 and req.cjk:
            # Words and CJK runs: each table's matches are read once, then joined (a join
            # of the two tables runs the second MATCH again for every row of the first).
            head = "WITH " + ", ".join(
                f"{alias} AS MATERIALIZED (SELECT rowid AS id, -bm25({table}, 10.0, 1.0, 10.0) "
                f"AS score FROM {table} WHERE {table} MATCH %s)"
                for alias, table in (("w", FTS_TABLE), ("c", CJK_TABLE))) + " "
            score = "w.score + c.score" if relevance else "0"
            source = f"w JOIN c ON c.id = w.id JOIN {PROBLEM_TABLE} p ON p.id = w.id"
            match, match_params = "", [req.fts5, cjk_fts5(req.cjk)]
        filters = "".join(" AND " + w for w in where)
        sql = (f"{head}SELECT p.id, {score} FROM {source} WHERE {match}"
               f"{problem_visible('p')} {filters} "
               "ORDER BY p.created_at DESC, p.id DESC LIMIT %s")
        params = [*match_params, *params, limit + 1]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    capped = len(rows) > limit
    rows = rows[:limit]
    if relevance:
        rows.sort(key=lambda row: -row[1])  # stable: equal scores stay newest first
    return Matches(ids=tuple(row[0] for row in rows), capped=capped)


def _pg_match_sql(req: SearchRequest, *, relevance: bool, where: list[str], params: list,
                  join_problem: bool, limit: int) -> tuple[str, list]:
    """PostgreSQL's query for :func:`match_ids`: rows of the side table (English words
    only), or of the CJK table (any CJK run: problems with CJK text only, which holds
    their words too, migration 0028), as ``s``; ``where`` and ``params`` are the filters
    (on the problem as ``p`` when ``join_problem``)."""
    words = "websearch_to_tsquery('english'::regconfig, %s)"
    conditions: list[tuple[str, list]] = []  # (SQL, params), ANDed
    scores: list[tuple[str, list]] = []  # added up
    source = f"{SIDE_TABLE} s"
    if req.cjk:
        source, query = f"{CJK_SEARCH_TABLE} s", cjk_tsquery(req)
        conditions.append(("s.cjk @@ %s::tsquery", [query]))
        # ts_rank(cjk, query, 1), from the vector's stored length (migration 0028).
        scores.append(("qb_rank(s.cjk, %s::tsquery, s.cjk_length)", [query]))
    if req.fts5:
        if req.cjk:
            # Words that are all stop words ("the") make an empty query, which would
            # match nothing: then only the CJK runs count. The database folds the test
            # to a constant, so the plan is the one without it.
            conditions.append((f"(numnode({words}) = 0 OR s.vector @@ {words})", [req.words] * 2))
        else:
            conditions.append((f"s.vector @@ {words}", [req.words]))
        scores.append((f"ts_rank(s.vector, {words}, 1)", [req.words]))
    elif req.cjk and fts5_excluded(req.words):
        # Words that are all exclusions ("轴 -x"): websearch_to_tsquery makes "not x".
        conditions.append((f"(numnode({words}) = 0 OR s.vector @@ {words})", [req.words] * 2))
    if req.cjk_not and not req.cjk:
        # Only excluded runs beside the words: a problem without CJK text has no row in
        # the CJK table, and is not excluded.
        conditions.append((f"NOT EXISTS (SELECT 1 FROM {CJK_SEARCH_TABLE} c WHERE "
                           "c.problem_id = s.problem_id AND c.cjk @@ %s::tsquery)",
                           [cjk_tsquery_any(req.cjk_not)]))
    if join_problem:
        source += f" JOIN {PROBLEM_TABLE} p ON p.id = s.problem_id"
    if not relevance:
        scores = [("0", [])]
    sql = (f"SELECT s.problem_id, {' + '.join(sql for sql, _ in scores)} FROM {source} "
           f"WHERE s.visible{''.join(' AND ' + c for c, _ in conditions)}"
           f"{''.join(' AND ' + w for w in where)} "
           "ORDER BY s.created_at DESC, s.problem_id DESC LIMIT %s")
    return sql, [*(x for _, ps in scores for x in ps), *(x for _, ps in conditions for x in ps),
                 *params, limit + 1]


def in_order(qs, ids):
    """``qs`` restricted to ``ids`` and ordered as they are."""
    if not ids:
        return qs.none()
    return qs.filter(pk__in=ids).order_by(Case(
        *[When(pk=pk, then=Value(i)) for i, pk in enumerate(ids)],
        output_field=IntegerField()))


def filter_and_rank(qs, req: SearchRequest, *, relevance: bool, kind: str = "",
                    difficulty: int | None = None, tag_id: int | None = None):
    """``qs`` (Problems) narrowed to the search's matches; ordered best first when
    ``relevance``, otherwise newest first. Full-text searches keep only the newest
    RANK_CANDIDATES matches (``match_ids``); pass the filters already applied to ``qs``
    so the cap counts only matches inside them. Works on PostgreSQL and SQLite."""
    if not req:
        return qs
    if req.mode == "empty":
        return qs.none()
    if req.mode == "substring":
        for term in req.terms:
            qs = qs.filter(Q(title__icontains=term) | Q(statement__icontains=term))
        if relevance:
            qs = qs.annotate(
                rank=Case(When(title__icontains=req.terms[0], then=Value(0)), default=Value(1),
                          output_field=IntegerField())
            ).order_by("rank", "-created_at", "-id")
        return qs
    matches = match_ids(req, relevance=relevance, kind=kind, difficulty=difficulty,
                        tag_id=tag_id)
    return in_order(qs, matches.ids)
