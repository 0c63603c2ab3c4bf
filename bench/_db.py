"""Shared by the benchmarks: each uses a PostgreSQL database of its own on 127.0.0.1."""

from __future__ import annotations

from urllib.parse import urlsplit


def ensure_database(url: str) -> bool:
    """Create the database ``url`` names unless it exists; True when it was created."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
        return True
