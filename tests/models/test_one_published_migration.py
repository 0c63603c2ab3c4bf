"""Migration 0013's data step: where a problem had several published solutions, the one
students saw stays published and the others go back to draft with the reason recorded."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from questionbank.models import Solution, SolutionTransition
from tests import factories
from tests.review_helpers import make_solution

pytestmark = pytest.mark.django_db

step = importlib.import_module("questionbank.migrations.0013_revision_answer_checks")


def test_several_published_solutions_become_one(teacher):
    problem = factories.make_problem()
    older, best, newest = (make_solution(problem=problem) for _ in range(3))
    alone = make_solution()
    now = timezone.now()
    # The state before the constraint existed (the test's transaction restores it).
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX one_published_solution_per_problem")
    for solution, at, is_best in ((older, now - timedelta(days=2), False),
                                  (best, now - timedelta(days=1), True),
                                  (newest, now, False), (alone, now, False)):
        Solution.objects.filter(pk=solution.pk).update(status="published", published_at=at,
                                                       is_best=is_best)

    step.one_published_per_problem(apps, None)

    assert set(Solution.objects.published().values_list("pk", flat=True)) == {best.pk, alone.pk}
    for moved in (older, newest):
        transition = SolutionTransition.objects.get(solution=moved)
        assert (transition.source, transition.target) == ("published", "draft")
        assert f"students were shown solution {best.pk}" in transition.reason
    assert not SolutionTransition.objects.filter(solution__in=[best, alone]).exists()


def test_current_revisions_take_the_solutions_check():
    solution = make_solution(final_answer="4", verdict="agrees", majority_share=0.5)
    solution.current_revision.__class__.objects.filter(pk=solution.current_revision_id).update(
        final_answer="", verdict="not_checked", agreement=None, checked_at=None)
    step.backfill_revision_checks(apps, None)
    revision = solution.revisions.get()
    assert (revision.final_answer, revision.verdict, revision.agreement) == ("4", "agrees", 0.5)
    assert revision.checked_at is not None
    assert revision.reference_answer == solution.problem.reference_answer
