"""The one SQL form of "students may see this problem" (questionbank/db/published.py)
agrees with the ORM's ``Problem.objects.published()``, and the migrations' frozen copies
agree with it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.db import connection

from questionbank.db.published import problem_visible
from questionbank.models import Problem
from questionbank.services.problems import problems_set_status
from tests.browse_helpers import STATES, published_problem, with_solution
from tests.factories import make_problem

pytestmark = pytest.mark.django_db


def _migration(name_end: str):
    # By its name's end: the migration's number is set when branches are merged.
    folder = Path(importlib.import_module("questionbank.migrations").__file__).parent
    name = next(folder.glob(f"*_{name_end}.py")).stem
    return importlib.import_module(f"questionbank.migrations.{name}")


def test_raw_rule_and_orm_agree_for_every_state():
    for state in STATES:
        with_solution(make_problem(title=f"State {state}"), state)
    archived = published_problem(title="Archived")
    problems_set_status(problems=[archived], status=Problem.Status.ARCHIVED)
    make_problem(title="No solution")
    with_solution(published_problem(title="Published and a draft"), "draft")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT p.id FROM questionbank_problem p WHERE {problem_visible('p')}")
        raw = {row[0] for row in cursor.fetchall()}
    assert raw == set(Problem.objects.published().values_list("pk", flat=True))
    assert len(raw) == 2


def test_postgresql_visibility_function_is_the_same_rule():
    migration = _migration("browse_plain_search_tags")
    assert problem_visible("p") in migration.PG_VISIBLE
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT p.id, qb_problem_visible(p.id) FROM questionbank_problem p")
        assert cursor.fetchall() == []
    for state in STATES:
        with_solution(make_problem(title=f"State {state}"), state)
    with connection.cursor() as cursor:
        cursor.execute("SELECT p.id FROM questionbank_problem p WHERE qb_problem_visible(p.id)")
        assert {r[0] for r in cursor.fetchall()} == set(
            Problem.objects.published().values_list("pk", flat=True))
