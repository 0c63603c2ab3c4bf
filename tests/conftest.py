"""Shared fixtures. Servers the tests talk to live in tests/servers/."""

from __future__ import annotations

import pytest

from tests import factories

# The loopback model servers (Gradio stand-ins, OpenAI test server, fault server).
pytest_plugins = ["tests.servers.fixtures"]


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgresql`` exercise PostgreSQL itself (its backends terminated, say):
    on SQLite there is nothing for them to run against, so they are deselected (and the
    PostgreSQL run of ``make test`` runs them), not skipped."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    kept = [item for item in items if item.get_closest_marker("postgresql") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Tests make users by the thousand and log them in: PBKDF2's deliberate slowness (about
    half a second a hash here) is not what they test, so they hash with MD5 (Django's own
    advice for test settings). PBKDF2 stays listed, so a user a wider-scoped fixture made
    before this one ran still logs in. Production keeps PBKDF2 alone."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 "django.contrib.auth.hashers.PBKDF2PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A request in Chinese leaves Chinese active in this thread (LocaleMiddleware sets the
    language per request and does not unset it); the next test starts in the default."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture
def teacher(db):
    return factories.make_teacher("teacher")


@pytest.fixture
def student(db):
    return factories.make_student("student")


@pytest.fixture
def admin_user(db):
    return factories.make_admin("admin")


@pytest.fixture
def teacher_client(client, teacher):
    client.force_login(teacher)
    return client


@pytest.fixture
def student_client(client, student):
    client.force_login(student)
    return client


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


# --- Real Gradio stand-ins for the generation pipeline (one subprocess, started lazily) ---

PIPELINE_STANDIN_AUTH = ("teacher", "pipeline-S3cret-pw")
PIPELINE_STANDINS = {
    # Gradio's default: one call at a time.
    "plain": {},
    # Four at a time, so a limit below that is ours, not the server's.
    "wide": {"concurrency": 4},
    # Streams its answer in chunks over the delay.
    "stream": {"stream": True, "delay": 3.0, "chunks": 12, "concurrency": 4},
    "auth": {"auth": f"{PIPELINE_STANDIN_AUTH[0]}:{PIPELINE_STANDIN_AUTH[1]}"},
}


@pytest.fixture(scope="session")
def pipeline_standins(tmp_path_factory):
    """name -> base URL of a real Gradio stand-in WEBUI (see PIPELINE_STANDINS)."""
    from tests.servers.fixtures import run_standins

    yield from run_standins(PIPELINE_STANDINS, tmp_path_factory.mktemp("pipeline-standins"))
