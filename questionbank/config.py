"""Reading the environment: small typed helpers that fail with one clear sentence.

Only ``questionbank.settings`` calls these. A wrong value raises ``SettingsError``;
``manage.py``, ``wsgi.py`` and ``asgi.py`` turn it into a single line on stderr instead
of a traceback, because the person reading it is configuring a server, not debugging.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


class SettingsError(ImproperlyConfigured):
    """A configuration value is missing or malformed; the message says which and how to fix it."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} must be 1 or 0 (or true/false), not {raw!r}.")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {value}.")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{name} must be at most {maximum}, not {value}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_SCHEMES = {
    "sqlite": "django.db.backends.sqlite3",
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
}


def database_from_url(url: str, *, use_pool: bool) -> dict:
    """Turn ``DATABASE_URL`` into a Django DATABASES entry with this project's options.

    SQLite gets WAL, IMMEDIATE transactions and a busy timeout: without them django-q2
    loses results under concurrency (shared/docs/django-q2-notes.md). PostgreSQL gets
    persistent, health-checked connections, or psycopg's pool when ``use_pool`` (web
    processes only: pools do not survive the fork that qcluster does).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme or "://" not in url:
        raise SettingsError(
            f"DATABASE_URL {redact_url(url)!r} is not a URL; use e.g. "
            "postgres://user@host:5432/dbname or sqlite:////absolute/path.sqlite3."
        )
    if scheme not in _SCHEMES:
        raise SettingsError(
            f"DATABASE_URL uses the scheme {scheme!r}, which is not supported; "
            "use postgres:// (PostgreSQL) or sqlite:// (SQLite)."
        )
    try:
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        raise SettingsError(
            f"DATABASE_URL {redact_url(url)!r} has a port that is not a number."
        ) from None
    try:
        config = dj_database_url.parse(url, engine=_SCHEMES[scheme])
    except Exception as exc:  # dj-database-url raises several types; all mean "malformed"
        raise SettingsError(f"DATABASE_URL {redact_url(url)!r} is malformed: {exc}.") from None
    if scheme == "sqlite":
        if not config.get("NAME") or config["NAME"] == ":memory:":
            raise SettingsError(
                "DATABASE_URL for SQLite must name a file, e.g. sqlite:////srv/qb/db.sqlite3."
            )
        config.update(sqlite_options())
    else:
        if not config.get("NAME"):
            raise SettingsError(
                f"DATABASE_URL {redact_url(url)!r} names no database; add it after the host, "
                "e.g. postgres://postgres@127.0.0.1:5432/questionbank."
            )
        options = config.setdefault("OPTIONS", {})
        if use_pool:
            options["pool"] = {"min_size": 2, "max_size": 10, "timeout": 10}
            config["CONN_MAX_AGE"] = 0
        else:
            config["CONN_MAX_AGE"] = 60
        config["CONN_HEALTH_CHECKS"] = True
    return config


def sqlite_options() -> dict:
    return {
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable>"
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
