"""Whole-page cache for the students' pages, invalidated by the database itself.

Why: a list page is ~20 rows of Django template; rendering it costs many times a bare
view, while the pages change only when teachers publish or edit. Anonymous visitors
(the bulk of the traffic when browsing is public) get the stored page.

Correctness: every cache key contains a *browse generation*, a counter in the one-row
table ``questionbank_browse_generation`` that database triggers bump inside the writing
transaction whenever a problem, tag or problem-tag link changes, or a solution that is
or was published changes. Triggers see every write path (services, ``.update()``,
bulk operations, the admin, raw SQL), so no code has to remember to invalidate. The
counter is transactional: a reader sees the new generation exactly when it can see the
new rows, so an unpublished solution is never served from the cache after the commit.
Each request reads the counter (one primary-key query); stale generations simply
expire (BROWSE_PAGE_SECONDS). The counter starts at a random value so a recreated
database never meets pages cached for an earlier one.

Only anonymous GETs are cached (logged-in pages carry the user's name and a CSRF
token). ``QB_BROWSE_PAGE_CACHE`` (default: on unless QB_DEBUG) turns it off.

Problem pages use a finer store that survives other problems' changes: each problem's
*article* (title, badges, tags, statement, answer, explanation) is rendered once, when
its solution is published, and kept in ``questionbank_browse_page`` with the problem's
*stamp*, a per-problem counter in ``questionbank_browse_stamp`` that triggers bump
whenever that problem, its tag links, one of its tags, a published (or formerly
published) solution of it, or such a solution's revision changes. A stored article is
served only while its stamp equals the problem's current stamp, so one primary-key
query answers "still visible, still the same?" for every user, and a stale or missing
article is rendered again on the next request. Reading the stamp before the data it
describes makes the race safe: an article rendered from data older than a concurrent
change carries the older stamp and is never served.
"""

from __future__ import annotations

import contextlib
import hashlib
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse

TABLE = "questionbank_browse_generation"
STAMPS = "questionbank_browse_stamp"
PAGES = "questionbank_browse_page"
BROWSE_PAGE_SECONDS = 600

_BUMP = f"UPDATE {TABLE} SET n = n + 1 WHERE id = 1"
_WATCHED = ("questionbank_problem", "questionbank_tag", "questionbank_problem_tags")
_PUBLISHED = "'published'"


def _pg_sql() -> list[str]:
    sql = [
        f"CREATE TABLE IF NOT EXISTS {TABLE} (id integer PRIMARY KEY, n bigint NOT NULL)",
        f"INSERT INTO {TABLE} (id, n) VALUES (1, floor(random() * 1e12)::bigint) "
        "ON CONFLICT (id) DO NOTHING",
        f"""CREATE OR REPLACE FUNCTION qb_browse_bump() RETURNS trigger AS $$
            BEGIN {_BUMP}; RETURN NULL; END $$ LANGUAGE plpgsql""",
    ]
    for table in _WATCHED:
        sql += [
            f"DROP TRIGGER IF EXISTS qb_browse_bump ON {table}",
            f"CREATE TRIGGER qb_browse_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION qb_browse_bump()",
        ]
    s = "questionbank_solution"
    sql += [f"DROP TRIGGER IF EXISTS qb_browse_bump_{op} ON {s}" for op in ("i", "u", "d", "t")]
    sql += [
        f"CREATE TRIGGER qb_browse_bump_i AFTER INSERT ON {s} FOR EACH ROW "
        f"WHEN (NEW.status = {_PUBLISHED}) EXECUTE FUNCTION qb_browse_bump()",
        f"CREATE TRIGGER qb_browse_bump_u AFTER UPDATE ON {s} FOR EACH ROW "
        f"WHEN (OLD.status = {_PUBLISHED} OR NEW.status = {_PUBLISHED}) "
        "EXECUTE FUNCTION qb_browse_bump()",
        f"CREATE TRIGGER qb_browse_bump_d AFTER DELETE ON {s} FOR EACH ROW "
        f"WHEN (OLD.status = {_PUBLISHED}) EXECUTE FUNCTION qb_browse_bump()",
        f"CREATE TRIGGER qb_browse_bump_t AFTER TRUNCATE ON {s} FOR EACH STATEMENT "
        "EXECUTE FUNCTION qb_browse_bump()",
    ]
    return sql + _pg_stamp_sql()


_TOUCH = (f"INSERT INTO {STAMPS} (problem_id, n) VALUES ({{pid}}, 1) "
          f"ON CONFLICT (problem_id) DO UPDATE SET n = {STAMPS}.n + 1")
_TOUCH_TAGGED = (f"INSERT INTO {STAMPS} (problem_id, n) SELECT problem_id, 1 "
                 "FROM questionbank_problem_tags WHERE tag_id = {tag} AND true "
                 f"ON CONFLICT (problem_id) DO UPDATE SET n = {STAMPS}.n + 1")
# (table, trigger function, events, body): what bumps a problem's stamp, row by row.
_PG_STAMPED = (
    ("questionbank_problem", "qb_stamp_problem", "UPDATE OR DELETE",
     _TOUCH.format(pid="OLD.id")),
    ("questionbank_problem_tags", "qb_stamp_problem_tags", "INSERT OR UPDATE OR DELETE",
     "IF TG_OP <> 'INSERT' THEN " + _TOUCH.format(pid="OLD.problem_id") + "; END IF; "
     "IF TG_OP <> 'DELETE' THEN " + _TOUCH.format(pid="NEW.problem_id") + "; END IF"),
    ("questionbank_tag", "qb_stamp_tag", "UPDATE OR DELETE",
     _TOUCH_TAGGED.format(tag="OLD.id")),
    ("questionbank_solution", "qb_stamp_solution", "INSERT OR UPDATE OR DELETE",
     f"IF TG_OP <> 'INSERT' AND OLD.status = {_PUBLISHED} THEN "
     + _TOUCH.format(pid="OLD.problem_id") + "; END IF; "
     f"IF TG_OP <> 'DELETE' AND NEW.status = {_PUBLISHED} THEN "
     + _TOUCH.format(pid="NEW.problem_id") + "; END IF"),
    ("questionbank_solutionrevision", "qb_stamp_revision", "UPDATE",
     _TOUCH.format(pid="(SELECT problem_id FROM questionbank_solution "
                       "WHERE id = NEW.solution_id)")),
)


def _pg_stamp_sql() -> list[str]:
    sql = [
        f"CREATE TABLE IF NOT EXISTS {STAMPS} (problem_id integer PRIMARY KEY, "
        "n bigint NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {PAGES} (problem_id integer PRIMARY KEY, "
        "stamp bigint NOT NULL, title text NOT NULL, html text NOT NULL)",
        f"""CREATE OR REPLACE FUNCTION qb_pages_clear() RETURNS trigger AS $$
            BEGIN DELETE FROM {PAGES}; RETURN NULL; END $$ LANGUAGE plpgsql""",
    ]
    for table, function, events, body in _PG_STAMPED:
        sql += [
            f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
                BEGIN {body}; RETURN NULL; END $$ LANGUAGE plpgsql""",
            f"DROP TRIGGER IF EXISTS {function} ON {table}",
            f"CREATE TRIGGER {function} AFTER {events} ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION {function}()",
            f"DROP TRIGGER IF EXISTS qb_pages_clear ON {table}",
            f"CREATE TRIGGER qb_pages_clear AFTER TRUNCATE ON {table} FOR EACH STATEMENT "
            "EXECUTE FUNCTION qb_pages_clear()",
        ]
    return sql


def _sqlite_sql() -> list[str]:
    sql = [
        f"CREATE TABLE IF NOT EXISTS {TABLE} (id integer PRIMARY KEY, n integer NOT NULL)",
        f"INSERT OR IGNORE INTO {TABLE} (id, n) VALUES (1, abs(random() % 1000000000000))",
    ]
    for table in _WATCHED:
        for op in ("INSERT", "UPDATE", "DELETE"):
            sql.append(f"CREATE TRIGGER IF NOT EXISTS qb_browse_{table}_{op[0].lower()} "
                       f"AFTER {op} ON {table} BEGIN {_BUMP}; END")
    s = "questionbank_solution"
    sql += [
        f"CREATE TRIGGER IF NOT EXISTS qb_browse_{s}_i AFTER INSERT ON {s} "
        f"WHEN NEW.status = {_PUBLISHED} BEGIN {_BUMP}; END",
        f"CREATE TRIGGER IF NOT EXISTS qb_browse_{s}_u AFTER UPDATE ON {s} "
        f"WHEN OLD.status = {_PUBLISHED} OR NEW.status = {_PUBLISHED} BEGIN {_BUMP}; END",
        f"CREATE TRIGGER IF NOT EXISTS qb_browse_{s}_d AFTER DELETE ON {s} "
        f"WHEN OLD.status = {_PUBLISHED} BEGIN {_BUMP}; END",
    ]
    return sql + _sqlite_stamp_sql()


def _sqlite_stamp_sql() -> list[str]:
    t = _TOUCH.replace(f"{STAMPS}.n", "n")  # SQLite's upsert names the row unqualified
    tagged = _TOUCH_TAGGED.replace(f"{STAMPS}.n", "n")
    s, pt = "questionbank_solution", "questionbank_problem_tags"
    triggers = [
        ("questionbank_problem", "u", "UPDATE", "", t.format(pid="OLD.id")),
        ("questionbank_problem", "d", "DELETE", "", t.format(pid="OLD.id")),
        (pt, "i", "INSERT", "", t.format(pid="NEW.problem_id")),
        (pt, "u", "UPDATE", "", f"{t.format(pid='OLD.problem_id')}; "
                                f"{t.format(pid='NEW.problem_id')}"),
        (pt, "d", "DELETE", "", t.format(pid="OLD.problem_id")),
        ("questionbank_tag", "u", "UPDATE", "", tagged.format(tag="OLD.id")),
        ("questionbank_tag", "d", "DELETE", "", tagged.format(tag="OLD.id")),
        (s, "i", "INSERT", f"WHEN NEW.status = {_PUBLISHED}", t.format(pid="NEW.problem_id")),
        (s, "u", "UPDATE", f"WHEN OLD.status = {_PUBLISHED} OR NEW.status = {_PUBLISHED}",
         f"{t.format(pid='OLD.problem_id')}; {t.format(pid='NEW.problem_id')}"),
        (s, "d", "DELETE", f"WHEN OLD.status = {_PUBLISHED}", t.format(pid="OLD.problem_id")),
        ("questionbank_solutionrevision", "u", "UPDATE", "",
         t.format(pid="(SELECT problem_id FROM questionbank_solution "
                      "WHERE id = NEW.solution_id)")),
    ]
    sql = [
        f"CREATE TABLE IF NOT EXISTS {STAMPS} (problem_id integer PRIMARY KEY, "
        "n integer NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {PAGES} (problem_id integer PRIMARY KEY, "
        "stamp integer NOT NULL, title text NOT NULL, html text NOT NULL)",
    ]
    for table, op, event, when, body in triggers:
        sql.append(f"CREATE TRIGGER IF NOT EXISTS qb_stamp_{table}_{op} AFTER {event} ON "
                   f"{table} {when} BEGIN {body}; END")
    return sql


def ensure_generation_schema(conn) -> None:
    """Create the counter and its triggers (idempotent; also run after every migrate,
    because SQLite drops a table's triggers when Django rebuilds the table)."""
    statements = {"postgresql": _pg_sql, "sqlite": _sqlite_sql}.get(conn.vendor)
    if statements is None:
        return
    with conn.cursor() as cursor:
        for sql in statements():
            cursor.execute(sql)


def drop_generation_schema(conn) -> None:
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            for table in (*_WATCHED, "questionbank_solution"):
                for name in ("qb_browse_bump", "qb_browse_bump_i", "qb_browse_bump_u",
                             "qb_browse_bump_d", "qb_browse_bump_t"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS qb_browse_bump()")
        elif conn.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                           "AND name LIKE 'qb_browse_%'")
            for (name,) in cursor.fetchall():
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
    drop_stamp_schema(conn)


def drop_stamp_schema(conn) -> None:
    """Remove the per-problem stamps, stored articles and their triggers."""
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            for table, function, *_ in _PG_STAMPED:
                cursor.execute(f"DROP TRIGGER IF EXISTS {function} ON {table}")
                cursor.execute(f"DROP TRIGGER IF EXISTS qb_pages_clear ON {table}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {function}()")
            cursor.execute("DROP FUNCTION IF EXISTS qb_pages_clear()")
        elif conn.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                           "AND name LIKE 'qb_stamp_%'")
            for (name,) in cursor.fetchall():
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DROP TABLE IF EXISTS {PAGES}")
        cursor.execute(f"DROP TABLE IF EXISTS {STAMPS}")


def current_generation() -> int | None:
    """The browse generation now visible to this connection; None if the table is missing."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT n FROM {TABLE} WHERE id = 1")
            row = cursor.fetchone()
    except Exception:  # not migrated yet: serve uncached rather than fail
        return None
    return row[0] if row else None


def _key(kind: str, generation: int, request) -> str:
    path = hashlib.blake2b(request.get_full_path().encode(), digest_size=16).hexdigest()
    return f"browse:{kind}:{connection.settings_dict['NAME']}:{generation}:{path}"


def cached_content(request, build):
    """``build()``'s result (a picklable value: a list page's status, title and content)
    for this URL, from the cache while the browse generation is unchanged. The content
    is the same for every visitor (their name and CSRF token are in the page around it),
    so logged-in students share it too."""
    if not getattr(settings, "QB_BROWSE_PAGE_CACHE", False) or request.method != "GET":
        return build()
    generation = current_generation()
    if generation is None:
        return build()
    key = _key("content", generation, request)
    hit = cache.get(key)
    if hit is None:
        hit = build()
        cache.set(key, hit, BROWSE_PAGE_SECONDS)
    return hit


def cached_page(view):
    """Serve an anonymous GET from the cache while the browse generation is unchanged."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if (not getattr(settings, "QB_BROWSE_PAGE_CACHE", False) or request.method != "GET"
                or "messages" in request.COOKIES or request.user.is_authenticated):
            return view(request, *args, **kwargs)
        generation = current_generation()
        if generation is None:
            return view(request, *args, **kwargs)
        key = _key("page", generation, request)
        hit = cache.get(key)
        if hit is not None:
            status, content_type, body = hit
            return HttpResponse(body, status=status, content_type=content_type)
        response = view(request, *args, **kwargs)
        # Never store a page that set a cookie or used a CSRF token: it is someone's.
        if (response.status_code in (200, 404) and not response.cookies
                and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")):
            cache.set(key, (response.status_code, response["Content-Type"], response.content),
                      BROWSE_PAGE_SECONDS)
        return response

    return wrapped


# --- Problem articles, stored per problem and checked against its stamp ----------------

_STORED_SQL = (f"SELECT pg.title, pg.html FROM {PAGES} pg LEFT JOIN {STAMPS} st "
               "ON st.problem_id = pg.problem_id "
               "WHERE pg.problem_id = %s AND pg.stamp = COALESCE(st.n, 0)")


def stored_article(pk: int) -> tuple[str, str] | None:
    """``(title, article HTML)`` of a visible problem whose stored article is current;
    None when there is none (never rendered, or anything about the problem changed)."""
    with connection.cursor() as cursor:
        cursor.execute(_STORED_SQL, [pk])
        return cursor.fetchone()


def problem_stamp(pk: int) -> int:
    """The problem's stamp now; read it *before* the data an article is rendered from."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n FROM {STAMPS} WHERE problem_id = %s", [pk])
        row = cursor.fetchone()
    return row[0] if row else 0


def store_article(pk: int, stamp: int, title: str, html: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PAGES} (problem_id, stamp, title, html) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (problem_id) DO UPDATE SET stamp = excluded.stamp, "
            "title = excluded.title, html = excluded.html", [pk, stamp, title, html])


def article(pk: int) -> tuple[str, str]:
    """``(title, article HTML)`` of a visible problem: stored, or rendered and stored now.
    ``Problem.DoesNotExist`` for anything a student may not see."""
    stored = stored_article(pk)
    if stored is not None:
        return stored
    return render_and_store(pk)


def render_and_store(pk: int) -> tuple[str, str]:
    from django.template.loader import render_to_string

    from questionbank import selectors
    from questionbank.formatting import url_prefix

    stamp = problem_stamp(pk)  # before the data it describes (see the module's notes)
    problem = selectors.browse_problem_page(pk=pk)
    solution = problem.solution
    html = render_to_string("browse/_article.html", {
        "problem": problem,
        "solution": solution,
        "revision": solution.current_revision if solution else None,
        "tags": problem.tag_list,
        "tag_prefix": url_prefix("browse:tag"),
    })
    store_article(pk, stamp, problem.title, html)
    return problem.title, html


def warm_article(pk: int) -> None:
    """Render a problem's article now (after a publish commits), so that no student waits
    for it; a problem that is not visible (unpublished again since) is left alone."""
    from questionbank.models import Problem

    with contextlib.suppress(Problem.DoesNotExist):
        render_and_store(pk)


def articles_out_of_date(ids=None) -> list[int]:
    """Visible problems (of ``ids``, or all) whose article is missing or out of date."""
    from questionbank.search import sql_published

    where = ""
    params: list = []
    if ids is not None:
        ids = list(ids)
        if not ids:
            return []
        where = f" AND p.id IN ({', '.join(['%s'] * len(ids))})"
        params = ids
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id FROM questionbank_problem p LEFT JOIN {STAMPS} st "
            f"ON st.problem_id = p.id LEFT JOIN {PAGES} pg ON pg.problem_id = p.id "
            f"WHERE {sql_published()}{where} "
            "AND (pg.problem_id IS NULL OR pg.stamp <> COALESCE(st.n, 0)) ORDER BY p.id",
            params)
        return [row[0] for row in cursor.fetchall()]

