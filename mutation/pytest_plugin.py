"""pytest plugin loaded only by ``make mutate`` (``-p mutation.pytest_plugin``).

mutmut forks one child per mutant and runs pytest in it, two at a time. On SQLite the
children would share one test database file and delete it under each other, so each child
works on its own copy of the database the first (stats) run created with ``--reuse-db``:
a file copy takes milliseconds where migrating a fresh database takes seconds.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def _is_mutant_child() -> bool:
    return "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", "")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    from django.conf import settings  # after pytest-django has configured Django

    database = settings.DATABASES["default"]
    if not _is_mutant_child() or not database["ENGINE"].endswith("sqlite3"):
        yield
        return
    template = Path(database["TEST"]["NAME"])
    copy = template.with_name(f"{template.name}.{os.getpid()}")
    if template.exists():
        shutil.copyfile(template, copy)
    database["TEST"]["NAME"] = str(copy)
    try:
        yield
    finally:
        database["TEST"]["NAME"] = str(template)
        for path in copy.parent.glob(copy.name + "*"):
            path.unlink(missing_ok=True)
