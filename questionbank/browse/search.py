"""Full-text search over problems: the database objects, query parsing and safe highlights.

One search box, two engines:

- PostgreSQL: a tsvector of the title (weight A), statement (B) and tag names (A), config
  'english', in the narrow side table ``questionbank_problem_search`` that the search
  reads (migrations 0011, 0019), kept by triggers. It is made from the text with its CJK
  runs blanked (``qb_problem_words``, 0029: the parser makes a "word" of letters of any
  script, so '求x轴' was one word and 'x' none; the CJK index below finds the runs).
  The user's words go through ``websearch_to_tsquery``, which accepts any input without
  a syntax error ("phrases", -exclusions, ``or``); ranking is ``ts_rank``; snippets
  ``ts_headline``.
- SQLite: an FTS5 table (title, statement, tag names) kept in step by triggers, with the
  ``porter`` stemmer (migrations 0015, 0019), so both engines find "integrals" for
  "integral", "hexagon" for "Hexagons", and a problem tagged "Integrals" for "integral";
  ranking is ``bm25`` with the title and tags weighted 10x; snippets
  ``highlight()``/``snippet()``. Its copy of the text has CJK runs blanked too (0029).
  User input is never passed to FTS5 as syntax: it is cut into words and every word or
  phrase is quoted.

The database objects are made by the migrations (frozen SQL); ``questionbank.db`` holds
the visibility rule the raw queries use and SQLite's trigger re-creation.

Chinese, Japanese and Korean are written without spaces, so neither tokenizer splits
them into words; both databases index their characters and character pairs apart
(``questionbank.db.cjk``: on PostgreSQL a tsvector in a narrow table of its own, one row
per problem with CJK text, migrations 0024, 0027 and 0028; on SQLite the FTS5 table
``questionbank_problem_cjk``). Each run of CJK characters in a query must
appear as written (one character, a pair, or a phrase of pairs: an exact substring);
the rest of the query (English words, numbers, TeX) goes to the full-text index as
above, and a problem must match both. ``or`` and quotes work between spaced words only;
``-`` before a CJK run excludes it. Ranking adds the two scores; the CJK matches are
highlighted in Python (they are exact substrings), the words by the database.

Thai, Lao, Myanmar and Khmer (unspaced, with combining marks the tokenizers split) are
answered by a substring match (``icontains``) on the title and statement, title matches
first: a sequential scan, for the rare such query. Cyrillic, Greek and other
space-separated scripts use the full-text index like English (English stemming rules
only: other languages' words are matched as written).

Highlights are built by asking the database to wrap matches in two control characters
(never in HTML), then escaping every piece of text in Python and turning the markers
into ``<mark>``: stored text is never trusted as HTML. The database marks the text its
words' index read (CJK runs blanked), and the marks are put back on the text as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchHeadline, SearchQuery
from django.db import connection
from django.db.models import Case, F, Func, IntegerField, Q, TextField, Value, When
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from questionbank.db.cjk import CJK_CLASS, CJK_RUN, unblank_ranges
from questionbank.db.published import PROBLEM_TABLE, problem_visible
from questionbank.db.sqlite import CJK_TABLE, FTS_TABLE, has_cjk_sql
from questionbank.models import Problem
from questionbank.rendering import render_math

# Longer queries are cut (and the page says so): ranking 40 words helps nobody, and it
# bounds the work a single request can ask of the database.
MAX_QUERY_CHARS = 200
MAX_TERMS = 16

START, STOP = "\x02", "\x03"
SENTINELS = START + STOP
# Separates the fragments of a database snippet (never shown: snippet_html joins them).
FRAGMENT = "\x1f"
# str.translate's table that removes them all (as _pg_clean does in the database).
_NO_MARKERS = dict.fromkeys(map(ord, SENTINELS + FRAGMENT))

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
    return marked(_substring_marks(text, terms))


def _substring_marks(text: str, terms: tuple[str, ...], *, width: int | None = None) -> str:
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


# --- Snippets with maths ---------------------------------------------------------------

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


# --- Queries --------------------------------------------------------------------------


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


def pg_query(req: SearchRequest):
    return SearchQuery(req.words, search_type="websearch", config="english")


def _pg_clean(name):
    # The markers must come only from ts_headline, never from stored text.
    return Func(F(name), Value(SENTINELS + FRAGMENT), Value(""), function="translate")


def _pg_headline(name: str, query, **options) -> SearchHeadline:
    """ts_headline of field ``name`` as the words' index read it, CJK runs blanked
    (``qb_blank_cjk``, migration 0029), so 'x' is marked in 'x轴'; :func:`_with_runs`
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
                     snippet_html(statement, _substring_marks(statement, req.terms, width=220)))
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
        title, title_marks = _with_runs(title, (), title_hl)
        if CJK_RUN.search(statement or ""):  # highlighted whole (above)
            statement, marks = _with_runs(statement, (), snippet)
            snippet = _mark(statement, marks, width=220)
        out[pk] = (marked(_mark(title, title_marks)), snippet_html(statement, snippet))
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
        title, title_marks = _with_runs(title, req.cjk, title_hl)
        statement, marks = _with_runs(statement, req.cjk, statement_hl)
        out[pk] = (marked(_mark(title, title_marks)),
                   snippet_html(statement, _mark(statement, marks, width=220)))
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


def _with_runs(text: str | None, runs: tuple[str, ...],
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


def _mark(text: str, ranges: list[tuple[int, int]], *, width: int | None = None) -> str:
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
