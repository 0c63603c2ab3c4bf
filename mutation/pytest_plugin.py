"""pytest plugin loaded only by ``make mutate`` (``-p mutation.pytest_plugin``).

mutmut forks one child per mutant and runs pytest in it, two at a time. On SQLite the
children would share one test database file and lock or delete it under each other, so each
child works on its own copy of the database the first (stats) run migrated and kept with
``--reuse-db``: a file copy takes milliseconds where migrating takes seconds. Hooks, not a
fixture override: pytest-django's own ``django_db_modify_db_settings`` would win.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

_COPY_KEY = "_mutation_template"


def _is_mutant_child() -> bool:
    return "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", "")


def _database() -> dict | None:
    from django.conf import settings  # Django is configured by pytest-django by now

    database = settings.DATABASES["default"]
    return database if database["ENGINE"].endswith("sqlite3") else None


def pytest_sessionstart(session) -> None:
    database = _database()
    if not _is_mutant_child() or database is None:
        return
    template = Path(database["TEST"]["NAME"])
    copy = template.with_name(f"{template.name}.{os.getpid()}")
    if template.exists():
        shutil.copyfile(template, copy)
    database["TEST"]["NAME"] = str(copy)
    database[_COPY_KEY] = str(template)


def pytest_sessionfinish(session, exitstatus) -> None:
    database = _database()
    if database is None or _COPY_KEY not in database:
        return
    copy = Path(database["TEST"]["NAME"])
    database["TEST"]["NAME"] = database.pop(_COPY_KEY)
    for path in copy.parent.glob(copy.name + "*"):
        path.unlink(missing_ok=True)
