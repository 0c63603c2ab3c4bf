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
"""

from __future__ import annotations

import hashlib
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse

TABLE = "questionbank_browse_generation"
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


def current_generation() -> int | None:
    """The browse generation now visible to this connection; None if the table is missing."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT n FROM {TABLE} WHERE id = 1")
            row = cursor.fetchone()
    except Exception:  # not migrated yet: serve uncached rather than fail
        return None
    return row[0] if row else None


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
        path = hashlib.blake2b(request.get_full_path().encode(), digest_size=16).hexdigest()
        key = f"browse:page:{connection.settings_dict['NAME']}:{generation}:{path}"
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
