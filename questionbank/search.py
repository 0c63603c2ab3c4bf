"""Full-text search over problems: the database objects, query parsing and safe highlights.

One search box, two engines:

- PostgreSQL: ``questionbank_problem.search_vector``, a stored generated tsvector
  (title weight A, statement weight B, config 'english') with a GIN index. The user's
  words go through ``websearch_to_tsquery``, which accepts any input without a syntax
  error ("phrases", -exclusions, ``or``); ranking is ``ts_rank``; snippets ``ts_headline``.
- SQLite: an FTS5 external-content table kept in step by triggers, with the ``porter``
  stemmer (migration 0015), so both engines find "integrals" for "integral" and
  "hexagon" for "Hexagons"; ranking is ``bm25`` with the title weighted 10x; snippets
  ``highlight()``/``snippet()``. User input is never
  passed to FTS5 as syntax: it is cut into words and every word or phrase is quoted.

Scripts written without spaces (Chinese, Japanese, Korean, Thai) are not split into
words by either tokenizer (a whole run of characters becomes one token), so a query
containing such characters is answered by a substring match (``icontains``) on the
title and statement instead, title matches first. This is a sequential scan on
PostgreSQL, acceptable for the rare CJK query; Cyrillic, Greek and other space-separated
scripts use the full-text index like English (English stemming rules only: other
languages' words are matched as written).

Highlights are built by asking the database to wrap matches in two control characters
(never in HTML), then escaping every piece of text in Python and turning the markers
into ``<mark>``: stored text is never trusted as HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from questionbank.rendering import render_math

# Longer queries are cut (and the page says so): ranking 40 words helps nobody, and it
# bounds the work a single request can ask of the database.
MAX_QUERY_CHARS = 200
MAX_TERMS = 16

START, STOP = "\x02", "\x03"
SENTINELS = START + STOP
# Separates the fragments of a database snippet (never shown: snippet_html joins them).
FRAGMENT = "\x1f"

FTS_TABLE = "questionbank_problem_fts"
PROBLEM_TABLE = "questionbank_problem"

# Han, kana, Hangul, Thai/Lao/Khmer/Myanmar: written without spaces between words.
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f]"
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_WORD = re.compile(r"[^\W_]+")
_CHUNK = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')


@dataclass(frozen=True)
class SearchRequest:
    """What the user typed, cleaned, and how it will be answered.

    ``mode`` is "" (no search), "fts" (full-text index), "substring" (unspaced scripts)
    or "empty" (nothing searchable typed: only punctuation). ``note`` is a sentence to
    show beside the results when the input had to be changed.
    """

    text: str = ""
    mode: str = ""
    terms: tuple[str, ...] = ()
    fts5: str = ""
    note: str = ""
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
    fts5 = fts5_expression(text)
    if not fts5:
        return SearchRequest(
            text=text, mode="empty",
            note=note or "Type a word or a number to search for; punctuation alone finds nothing.",
        )
    terms = tuple(_WORD.findall(text.lower()))[:MAX_TERMS]
    return SearchRequest(text=text, mode="fts", terms=terms, fts5=fts5, note=note)


def fts5_expression(text: str) -> str:
    """An FTS5 MATCH expression for ``text`` with web-search meaning and no FTS5 syntax.

    Words are ANDed, ``"quoted words"`` (or words joined by punctuation, like ``x^2``) are
    phrases, a leading ``-`` excludes, a bare ``or`` between two parts means either.
    Every phrase is double-quoted and made of word characters only, so nothing the user
    types can be read as an operator, a column filter or a prefix query.
    """
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
    groups = [g for g in groups if g]
    if not groups:
        return ""
    expr = " OR ".join("(" + " AND ".join(g) + ")" for g in groups)
    if negatives:
        expr = f"({expr}) NOT ({' OR '.join(negatives)})"
    return expr


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


# --- Database objects -----------------------------------------------------------------

_PG_CREATE = [
    f"""ALTER TABLE {PROBLEM_TABLE} ADD COLUMN IF NOT EXISTS search_vector tsvector
        GENERATED ALWAYS AS (
            setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||
            setweight(to_tsvector('english'::regconfig, coalesce(statement, '')), 'B')
        ) STORED""",
    f"CREATE INDEX IF NOT EXISTS problem_search_gin ON {PROBLEM_TABLE} USING gin (search_vector)",
]
_PG_DROP = [
    "DROP INDEX IF EXISTS problem_search_gin",
    f"ALTER TABLE {PROBLEM_TABLE} DROP COLUMN IF EXISTS search_vector",
]

_SQLITE_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    f"title, statement, content='{PROBLEM_TABLE}', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')"
)
_SQLITE_TRIGGERS = {
    "qb_problem_fts_ai": f"""CREATE TRIGGER IF NOT EXISTS qb_problem_fts_ai
        AFTER INSERT ON {PROBLEM_TABLE} BEGIN
          INSERT INTO {FTS_TABLE}(rowid, title, statement)
          VALUES (new.id, new.title, new.statement);
        END""",
    "qb_problem_fts_ad": f"""CREATE TRIGGER IF NOT EXISTS qb_problem_fts_ad
        AFTER DELETE ON {PROBLEM_TABLE} BEGIN
          INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, statement)
          VALUES ('delete', old.id, old.title, old.statement);
        END""",
    "qb_problem_fts_au": f"""CREATE TRIGGER IF NOT EXISTS qb_problem_fts_au
        AFTER UPDATE OF title, statement ON {PROBLEM_TABLE} BEGIN
          INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, statement)
          VALUES ('delete', old.id, old.title, old.statement);
          INSERT INTO {FTS_TABLE}(rowid, title, statement)
          VALUES (new.id, new.title, new.statement);
        END""",
}


# The ranked search reads a narrow side table, not the wide problem row: choosing the
# newest RANK_CANDIDATES matches and ranking them touches only (id, created_at, visible,
# vector), with partial indexes over the problems students may see. Triggers keep it in
# step on every write path (services, admin, bulk updates, COPY); ``visible`` mirrors
# ``Problem.objects.published()`` and is only a pre-filter: the rows shown are always
# re-read through published(). No foreign key, so Django's TRUNCATE-based test flush works.
SIDE_TABLE = "questionbank_problem_search"
_PG_SIDE_CREATE = [
    f"""CREATE TABLE IF NOT EXISTS {SIDE_TABLE} (
        problem_id bigint PRIMARY KEY, created_at timestamptz NOT NULL,
        visible boolean NOT NULL DEFAULT false, vector tsvector NOT NULL)""",
    f"CREATE INDEX IF NOT EXISTS problem_search_match ON {SIDE_TABLE} USING gin (vector) "
    "WHERE visible",
    f"CREATE INDEX IF NOT EXISTS problem_search_newest ON {SIDE_TABLE} "
    "(created_at DESC, problem_id DESC) WHERE visible",
    f"""CREATE OR REPLACE FUNCTION qb_problem_visible(pid bigint) RETURNS boolean
        LANGUAGE sql STABLE AS $$
        SELECT EXISTS (SELECT 1 FROM {PROBLEM_TABLE} p WHERE p.id = pid
            AND p.status <> 'archived' AND EXISTS (SELECT 1 FROM questionbank_solution s
            WHERE s.problem_id = pid AND s.status = 'published')) $$""",
    f"""CREATE OR REPLACE FUNCTION qb_problem_search_sync() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM {SIDE_TABLE} WHERE problem_id = OLD.id; RETURN NULL;
        END IF;
        INSERT INTO {SIDE_TABLE} (problem_id, created_at, visible, vector)
        VALUES (NEW.id, NEW.created_at, qb_problem_visible(NEW.id), NEW.search_vector)
        ON CONFLICT (problem_id) DO UPDATE SET created_at = EXCLUDED.created_at,
            visible = EXCLUDED.visible, vector = EXCLUDED.vector;
        RETURN NULL; END $$""",
    f"""CREATE OR REPLACE FUNCTION qb_problem_search_visible() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            UPDATE {SIDE_TABLE} SET visible = false WHERE visible; RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE {SIDE_TABLE} SET visible = qb_problem_visible(OLD.problem_id)
            WHERE problem_id = OLD.problem_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            UPDATE {SIDE_TABLE} SET visible = qb_problem_visible(NEW.problem_id)
            WHERE problem_id = NEW.problem_id;
        END IF;
        RETURN NULL; END $$""",
    f"""CREATE OR REPLACE FUNCTION qb_problem_search_truncate() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN TRUNCATE {SIDE_TABLE}; RETURN NULL; END $$""",
    f"DROP TRIGGER IF EXISTS qb_problem_search_sync ON {PROBLEM_TABLE}",
    f"""CREATE TRIGGER qb_problem_search_sync AFTER INSERT OR DELETE
        OR UPDATE OF title, statement, status, created_at ON {PROBLEM_TABLE}
        FOR EACH ROW EXECUTE FUNCTION qb_problem_search_sync()""",
    f"DROP TRIGGER IF EXISTS qb_problem_search_truncate ON {PROBLEM_TABLE}",
    f"""CREATE TRIGGER qb_problem_search_truncate AFTER TRUNCATE ON {PROBLEM_TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION qb_problem_search_truncate()""",
    *[f"DROP TRIGGER IF EXISTS qb_problem_search_{op} ON questionbank_solution"
      for op in ("i", "u", "d", "t")],
    """CREATE TRIGGER qb_problem_search_i AFTER INSERT ON questionbank_solution FOR EACH ROW
        WHEN (NEW.status = 'published') EXECUTE FUNCTION qb_problem_search_visible()""",
    """CREATE TRIGGER qb_problem_search_u AFTER UPDATE OF status, problem_id
        ON questionbank_solution FOR EACH ROW
        WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.problem_id <> NEW.problem_id)
        EXECUTE FUNCTION qb_problem_search_visible()""",
    """CREATE TRIGGER qb_problem_search_d AFTER DELETE ON questionbank_solution FOR EACH ROW
        WHEN (OLD.status = 'published') EXECUTE FUNCTION qb_problem_search_visible()""",
    """CREATE TRIGGER qb_problem_search_t AFTER TRUNCATE ON questionbank_solution
        FOR EACH STATEMENT EXECUTE FUNCTION qb_problem_search_visible()""",
    f"""INSERT INTO {SIDE_TABLE} (problem_id, created_at, visible, vector)
        SELECT p.id, p.created_at, qb_problem_visible(p.id), p.search_vector
        FROM {PROBLEM_TABLE} p ON CONFLICT (problem_id) DO NOTHING""",
    f"ANALYZE {SIDE_TABLE}",
]
_PG_SIDE_DROP = [
    f"DROP TRIGGER IF EXISTS qb_problem_search_sync ON {PROBLEM_TABLE}",
    f"DROP TRIGGER IF EXISTS qb_problem_search_truncate ON {PROBLEM_TABLE}",
    *[f"DROP TRIGGER IF EXISTS qb_problem_search_{op} ON questionbank_solution"
      for op in ("i", "u", "d", "t")],
    "DROP FUNCTION IF EXISTS qb_problem_search_sync()",
    "DROP FUNCTION IF EXISTS qb_problem_search_visible()",
    "DROP FUNCTION IF EXISTS qb_problem_search_truncate()",
    "DROP FUNCTION IF EXISTS qb_problem_visible(bigint)",
    f"DROP TABLE IF EXISTS {SIDE_TABLE}",
]


def ensure_search_side_table(connection) -> bool:
    """PostgreSQL: create the ranked-search side table, its indexes and triggers, and fill
    it (migration 0011_browse_search_candidates; idempotent). Other vendors: nothing."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s), (SELECT count(*) FROM pg_trigger "
                       "WHERE tgname LIKE 'qb_problem_search_%%')", [SIDE_TABLE])
        table, triggers = cursor.fetchone()
        if table is not None and triggers >= 6:
            return False
        for sql in _PG_SIDE_CREATE:
            cursor.execute(sql)
    return True


def drop_search_side_table(connection) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for sql in _PG_SIDE_DROP:
                cursor.execute(sql)


def create_search_schema(connection) -> None:
    """Create the vendor's search objects (migration 0004_browse_search)."""
    ensure_search_schema(connection)


def ensure_search_schema(connection) -> bool:
    """Create whatever search object is missing; returns True when something was made.

    Safe to call repeatedly. On SQLite, Django rebuilds a table to alter it (copy, drop,
    rename), which silently drops its triggers: after any ``migrate`` this puts them back
    and rebuilds the index so no problem is missed.
    """
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_name = %s "
                "AND column_name = 'search_vector' AND table_schema = current_schema()",
                [PROBLEM_TABLE],
            )
            has_column = cursor.fetchone() is not None
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'problem_search_gin'")
            if has_column and cursor.fetchone() is not None:
                return False
            for sql in _PG_CREATE:
                cursor.execute(sql)
            return True
        if vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') "
                "AND (name = %s OR name LIKE 'qb_problem_fts_%%')",
                [FTS_TABLE],
            )
            present = {row[0] for row in cursor.fetchall()}
            if FTS_TABLE in present and set(_SQLITE_TRIGGERS) <= present:
                return False
            cursor.execute(_SQLITE_TABLE)
            for sql in _SQLITE_TRIGGERS.values():
                cursor.execute(sql)
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
            return True
    return False


def drop_search_schema(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for sql in _PG_DROP:
                cursor.execute(sql)
        elif connection.vendor == "sqlite":
            for name in _SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def ensure_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate receiver (QuestionbankConfig.ready): keep the search objects in place."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    connection = connections[using]
    applied = MigrationRecorder(connection).applied_migrations()
    if ("questionbank", "0004_browse_search") in applied:
        ensure_search_schema(connection)
    if ("questionbank", "0011_browse_search_candidates") in applied:
        ensure_search_side_table(connection)
    if ("questionbank", "0009_browse_page_cache") in applied:
        from questionbank.browse_cache import ensure_generation_schema

        ensure_generation_schema(connection)


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
    else newest first. PostgreSQL ranks with ts_rank (title A, statement B, normalised
    by log length) in the side table; SQLite with FTS5 bm25 (title 10x)."""
    from django.db import connection

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
    filters = "".join(" AND " + w for w in where)
    if connection.vendor == "postgresql":
        join = f"JOIN {PROBLEM_TABLE} p ON p.id = s.problem_id" if kind or difficulty else ""
        score = ("ts_rank(s.vector, websearch_to_tsquery('english'::regconfig, %s), 1)"
                 if relevance else "0")
        sql = (f"SELECT s.problem_id, {score} FROM {SIDE_TABLE} s {join} "
               "WHERE s.visible AND s.vector @@ websearch_to_tsquery('english'::regconfig, %s) "
               f"{filters} ORDER BY s.created_at DESC, s.problem_id DESC LIMIT %s")
        params = ([req.text] if relevance else []) + [req.text, *params, limit + 1]
    else:
        # bm25 is lower-is-better: negated so both engines sort the score descending.
        score = f"-bm25({FTS_TABLE}, 10.0, 1.0)" if relevance else "0"
        sql = (f"SELECT p.id, {score} FROM {FTS_TABLE} JOIN {PROBLEM_TABLE} p "
               f"ON p.id = {FTS_TABLE}.rowid WHERE {FTS_TABLE} MATCH %s "
               f"AND {sql_published()} {filters} "
               "ORDER BY p.created_at DESC, p.id DESC LIMIT %s")
        params = [req.fts5, *params, limit + 1]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    capped = len(rows) > limit
    rows = rows[:limit]
    if relevance:
        rows.sort(key=lambda row: -row[1])  # stable: equal scores stay newest first
    return Matches(ids=tuple(row[0] for row in rows), capped=capped)


def sql_published(alias: str = "p") -> str:
    """SQL for "``alias`` is a problem students may see" in raw queries: the same rule as
    ``ProblemQuerySet.published()`` (tests compare the two for every state)."""
    return (f"{alias}.status <> 'archived' AND EXISTS (SELECT 1 FROM questionbank_solution ps "
            f"WHERE ps.problem_id = {alias}.id AND ps.status = 'published')")


def in_order(qs, ids):
    """``qs`` restricted to ``ids`` and ordered as they are."""
    from django.db.models import Case, IntegerField, Value, When

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
    from django.db.models import Case, IntegerField, Q, Value, When

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
    from django.contrib.postgres.search import SearchQuery

    return SearchQuery(req.text, search_type="websearch", config="english")


def highlights(req: SearchRequest, ids: list[int]) -> dict[int, tuple[SafeString, SafeString]]:
    """``{problem id: (title, snippet)}`` with matches in <mark>, for one page of results.

    One query whatever the number of ids. Snippets come from the Markdown source; their
    formulas are rendered as MathML (:func:`snippet_html`), the rest is escaped text.
    """
    from django.db import connection
    from django.db.models import F, Func, Value

    from questionbank.models import Problem

    if not req or req.mode == "empty" or not ids:
        return {}
    if req.mode == "substring":
        rows = Problem.objects.filter(pk__in=ids).values_list("pk", "title", "statement")
        return {pk: (substring_highlight(title, req.terms),
                     snippet_html(statement, _substring_marks(statement, req.terms, width=220)))
                for pk, title, statement in rows}
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchHeadline

        query = pg_query(req)

        def clean(name):
            # The markers must come only from ts_headline, never from stored text.
            return Func(F(name), Value(SENTINELS + FRAGMENT), Value(""), function="translate")

        rows = Problem.objects.filter(pk__in=ids).annotate(
            title_hl=SearchHeadline(clean("title"), query, config="english", start_sel=START,
                                    stop_sel=STOP, highlight_all=True),
            snippet_hl=SearchHeadline(clean("statement"), query, config="english",
                                      start_sel=START, stop_sel=STOP, max_words=35,
                                      min_words=15, max_fragments=2,
                                      fragment_delimiter=FRAGMENT),
        ).values_list("pk", "title_hl", "snippet_hl", "statement")
        return {pk: (marked(t), snippet_html(statement, s)) for pk, t, s, statement in rows}
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rowid, highlight({FTS_TABLE}, 0, char(2), char(3)), "
            f"snippet({FTS_TABLE}, 1, char(2), char(3), char(31), 30), statement "
            f"FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s AND rowid IN ({placeholders})",
            [req.fts5, *ids],
        )
        return {pk: (marked(t), snippet_html(statement, s))
                for pk, t, s, statement in cursor.fetchall()}
