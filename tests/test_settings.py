"""Start-up configuration: bad values stop the app with one sentence, not a traceback."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("QB_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "QB_SECRET_KEY is not set"),
        ({"QB_DEBUG": "maybe"}, "QB_DEBUG must be 1 or 0"),
        ({"QB_DEBUG": "1", "DATABASE_URL": "mysql://root@localhost/qb"},
         "scheme 'mysql', which is not supported"),
        ({"QB_DEBUG": "1", "DATABASE_URL": "not a url"}, "is not a URL"),
        ({"QB_DEBUG": "1", "DATABASE_URL": "postgres://u:hunter2@host:notaport/qb"},
         "port that is not a number"),
        ({"QB_DEBUG": "1", "DATABASE_URL": "postgres://postgres@127.0.0.1:5432"},
         "names no database"),
        ({"QB_DEBUG": "1", "QB_TIME_ZONE": "Mars/Olympus"}, "not a known time zone"),
        ({"QB_DEBUG": "1", "QB_CALL_LOG_RETENTION_DAYS": "ninety"}, "must be a whole number"),
        ({"QB_DEBUG": "1", "QB_SECRETS_KEY": "not-a-key"},
         "QB_SECRETS_KEY: key 1 is not a Fernet key"),
    ],
)
def test_bad_configuration_is_one_clear_sentence(env, expected):
    result = run_manage("check", **env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Configuration error: ")
    assert expected in lines[0]


def test_password_in_database_url_is_not_echoed():
    result = run_manage("check", QB_DEBUG="1",
                        DATABASE_URL="postgres://u:hunter2@host:notaport/qb")
    assert "hunter2" not in result.stderr


def test_check_deploy_is_clean_with_production_values():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        QB_SECRET_KEY=secrets.token_urlsafe(50), QB_ALLOWED_HOSTS="qb.example.org",
        QB_DEBUG="0",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_sqlite_default_uses_wal_and_immediate_transactions():
    from questionbank.config import database_from_url

    config = database_from_url("sqlite:////tmp/x.sqlite3", use_pool=False)
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_postgres_pool_only_when_asked():
    from questionbank.config import database_from_url

    pooled = database_from_url("postgres://postgres@127.0.0.1:5432/qb", use_pool=True)
    plain = database_from_url("postgres://postgres@127.0.0.1:5432/qb", use_pool=False)
    assert pooled["OPTIONS"]["pool"]["max_size"] >= 2
    assert pooled["CONN_MAX_AGE"] == 0
    assert "pool" not in plain.get("OPTIONS", {})
    assert plain["CONN_MAX_AGE"] == 60 and plain["CONN_HEALTH_CHECKS"] is True
    # Django's own backend: no subclass overriding its internals.
    assert pooled["ENGINE"] == plain["ENGINE"] == "django.db.backends.postgresql"


def test_stored_secrets_without_their_key_stop_start_up(tmp_path):
    """Encrypted endpoint secrets and no QB_SECRETS_KEY: `check` (run by runserver, qcluster
    and migrate) fails with questionbank.E020, and gunicorn's wsgi module refuses to load,
    each with the sentence; with the key both are clean."""
    key = Fernet.generate_key().decode()
    db = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    prod = {**db, "QB_SECRET_KEY": secrets.token_urlsafe(50)}
    assert run_manage("migrate", "-v0", QB_DEBUG="1", QB_SECRETS_KEY=key, **db).returncode == 0
    made = run_manage("shell", "-c", "from tests.factories import make_endpoint; "
                      "make_endpoint(api_key='sk-x')", QB_DEBUG="1", QB_SECRETS_KEY=key, **db)
    assert made.returncode == 0, made.stderr
    assert run_manage("check", QB_SECRETS_KEY=key, **prod).returncode == 0

    result = run_manage("check", **prod)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "questionbank.E020" in result.stderr and "QB_SECRETS_KEY is not set" in result.stderr

    base = {k: v for k, v in os.environ.items() if not k.startswith(("QB_", "DATABASE_URL"))}
    wsgi = subprocess.run([sys.executable, "-c", "import questionbank.wsgi"], cwd=ROOT,
                          env={**base, **prod}, capture_output=True, text=True, timeout=120)
    assert wsgi.returncode == 2 and "Traceback" not in wsgi.stderr
    assert "Configuration error: Endpoint passwords and API keys" in wsgi.stderr
