"""The PostgreSQL backend's health check skips connections used a moment ago.

Runs against the machine's PostgreSQL whatever database the suite itself uses."""

from __future__ import annotations

import psycopg
import pytest
from django.db import OperationalError, connections
from django.db.utils import ConnectionHandler

from questionbank.config import database_from_url
from questionbank.pgbackend import base

URL = "postgres://postgres@127.0.0.1:5432/postgres"
ALIAS = "pgbackend_test"


@pytest.fixture
def conn(django_db_blocker):
    settings = database_from_url(URL, use_pool=False)
    assert settings["ENGINE"] == "questionbank.pgbackend"
    assert settings["CONN_HEALTH_CHECKS"] is True
    # Registered with Django's connections (contrib.postgres looks connections up by alias).
    configured = ConnectionHandler({"default": settings, ALIAS: settings}).settings
    connections.settings[ALIAS] = configured[ALIAS]
    connection = connections[ALIAS]
    pings = []
    real = connection.is_usable
    connection.is_usable = lambda: pings.append(1) or real()
    connection.pings = pings
    with django_db_blocker.unblock():  # a connection of its own, outside the test database
        try:
            yield connection
        finally:
            connection.close()
            del connections[ALIAS]
            del connections.settings[ALIAS]


def _request(connection) -> int:
    """One request's database use, between Django's request_started/finished checks;
    returns the backend's process id."""
    connection.close_if_unusable_or_obsolete()  # request_started
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]
    finally:
        connection.close_if_unusable_or_obsolete()  # request_finished


def _kill(pid: int) -> None:
    with psycopg.connect(URL, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_connection_used_a_moment_ago_is_not_pinged(conn):
    pid = _request(conn)
    assert _request(conn) == pid and _request(conn) == pid
    assert conn.pings == []


def test_an_idle_connection_is_pinged_and_replaced_when_dead(conn):
    pid = _request(conn)
    _kill(pid)
    conn._used_at -= base.ALIVE_WINDOW + 1  # idle for longer than the window
    new_pid = _request(conn)  # no error: the ping found it dead and Django reconnected
    assert conn.pings == [1] and new_pid != pid


def test_a_connection_dead_within_the_window_fails_one_request_then_recovers(conn):
    pid = _request(conn)
    _kill(pid)
    with pytest.raises(OperationalError):
        _request(conn)  # the trade-off: no ping, so this request sees the error
    assert _request(conn) != pid  # Django tested the failed connection and replaced it
