"""Whole-page cache for the students' pages, invalidated by the database itself.

Why: a list page is ~20 rows of Django template; rendering it costs many times a bare
view, while the pages change only when teachers publish or edit. Anonymous visitors
(the bulk of the traffic when browsing is public) get the stored page; logged-in
visitors get the stored list content inside their own page (their name, a CSRF token).

Correctness: every cache key contains a *browse generation*, a counter in the one-row
table ``questionbank_browse_generation`` that database triggers bump inside the writing
transaction whenever a problem, tag or problem-tag link changes, a solution that is or
was published changes, or a published solution's revision is rewritten (migrations 0009
and 0020; SQLite's are made again after a migrate by ``questionbank.db.sqlite``).
Triggers see every write path (services, ``.update()``, bulk operations, the admin, raw
SQL), so no code has to remember to invalidate. The counter is transactional: a reader
sees the new generation exactly when it can see the new rows, so an unpublished
solution is never served from the cache after the commit, and a page rendered from data
older than a concurrent change is stored under the older generation, which no later
reader asks for. Each request reads the counter (one primary-key query); stale
generations simply expire (BROWSE_PAGE_SECONDS). The counter starts at a random value so
a recreated database never meets pages cached for an earlier one.

``QB_BROWSE_PAGE_CACHE`` (default: on unless QB_DEBUG) turns it off.
"""

from __future__ import annotations

import hashlib
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.utils.translation import get_language

GENERATION_TABLE = "questionbank_browse_generation"
BROWSE_PAGE_SECONDS = 600


def current_generation() -> int | None:
    """The browse generation now visible to this connection; None if the table is missing."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT n FROM {GENERATION_TABLE} WHERE id = 1")
            row = cursor.fetchone()
    except DatabaseError:  # not migrated yet: serve uncached rather than fail
        return None
    return row[0] if row else None


def cache_key(kind: str, generation: int, request) -> str:
    """Per database (test runs and dev servers sharing a cache never mix), generation,
    page language and full URL."""
    path = hashlib.blake2b(request.get_full_path().encode(), digest_size=16).hexdigest()
    return (f"browse:{kind}:{connection.settings_dict['NAME']}:{generation}:"
            f"{get_language()}:{path}")


def _enabled(request) -> bool:
    return bool(getattr(settings, "QB_BROWSE_PAGE_CACHE", False)) and request.method == "GET"


def cached_content(request, build):
    """``build()``'s result (a picklable value: a list page's status, title and content)
    for this URL, from the cache while the browse generation is unchanged. The content
    is the same for every visitor, so logged-in students share it too."""
    generation = current_generation() if _enabled(request) else None
    if generation is None:
        return build()
    key = cache_key("content", generation, request)
    hit = cache.get(key)
    if hit is None:
        hit = build()
        cache.set(key, hit, BROWSE_PAGE_SECONDS)
    return hit


def cached_page(view):
    """Serve an anonymous GET from the cache while the browse generation is unchanged."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if (not _enabled(request) or "messages" in request.COOKIES
                or request.user.is_authenticated):
            return view(request, *args, **kwargs)
        generation = current_generation()
        if generation is None:
            return view(request, *args, **kwargs)
        key = cache_key("page", generation, request)
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
