"""SQLite's triggers: the migrations' frozen SQL is what questionbank/db/sqlite.py makes
again, and the post_migrate hook puts back what a table rebuild dropped."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.db import connection

from questionbank.apps import QuestionbankConfig
from questionbank.browse.cache import current_generation
from questionbank.browse.search import match_ids, parse_query
from questionbank.db import sqlite
from tests.browse_helpers import published_problem

pytestmark = pytest.mark.django_db


def _migration(name_end: str):
    # By its name's end: the migration's number is set when branches are merged.
    folder = Path(importlib.import_module("questionbank.migrations").__file__).parent
    name = next(folder.glob(f"*_{name_end}.py")).stem
    return importlib.import_module(f"questionbank.migrations.{name}")


def test_frozen_sql_is_the_sql_made_again():
    tags = _migration("browse_plain_search_tags")
    generation = _migration("browse_page_cache")
    words = _migration("search_words_beside_cjk")
    assert tags.SQLITE_FTS_TABLE == sqlite.FTS_TABLE_SQL
    assert list(sqlite.FTS_TRIGGERS.values()) == words.SQLITE_FTS_TRIGGERS
    assert words.SQLITE_FTS_FILL == sqlite.FTS_FILL
    frozen = [sql.replace(" IF NOT EXISTS", "") for sql in generation.SQLITE
              if sql.startswith("CREATE TRIGGER")] + [tags.SQLITE_REVISION_BUMP]
    assert frozen == list(sqlite.GENERATION_TRIGGERS.values())
    cjk = _migration("search_cjk")
    assert cjk.SQLITE_CJK_TABLE == sqlite.CJK_TABLE_SQL
    assert list(sqlite.CJK_TRIGGERS.values()) == cjk.SQLITE_CJK_TRIGGERS
    assert cjk.SQLITE_CJK_FILL == sqlite.CJK_FILL


def test_hook_puts_back_dropped_triggers_and_catches_up():
    problem = published_problem(title="Plain", statement="Nothing.")
    if connection.vendor != "sqlite":
        # PostgreSQL keeps a table's triggers when Django alters it: the hook leaves it be.
        before = current_generation()
        sqlite.recreate_triggers(sender=QuestionbankConfig, using="default")
        assert current_generation() == before
        assert match_ids(parse_query("plain"), relevance=True).ids == (problem.pk,)
        return
    with connection.cursor() as cursor:
        for name in [*sqlite.FTS_TRIGGERS, *sqlite.CJK_TRIGGERS, *sqlite.GENERATION_TRIGGERS]:
            cursor.execute(f"DROP TRIGGER {name}")
        # Written while the triggers were gone (as during a table rebuild).
        cursor.execute("UPDATE questionbank_problem SET title = 'Hyperbola 双曲线' WHERE id = %s",
                       [problem.pk])
    before = current_generation()
    assert match_ids(parse_query("hyperbola"), relevance=True).ids == ()
    assert match_ids(parse_query("双曲"), relevance=True).ids == ()
    sqlite.recreate_triggers(sender=QuestionbankConfig, using="default")
    assert match_ids(parse_query("hyperbola"), relevance=True).ids == (problem.pk,)
    assert match_ids(parse_query("双曲"), relevance=True).ids == (problem.pk,)
    assert current_generation() != before
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
    assert {*sqlite.FTS_TRIGGERS, *sqlite.CJK_TRIGGERS, *sqlite.GENERATION_TRIGGERS} <= present
    problem.tags.create(name="Integrals 积分", slug="integrals")
    assert match_ids(parse_query("integral"), relevance=True).ids == (problem.pk,)
    assert match_ids(parse_query("积分"), relevance=True).ids == (problem.pk,)
