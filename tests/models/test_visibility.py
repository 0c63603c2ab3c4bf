"""What students may see, decided in one place: ``published()``, for every combination of a
problem's status and its solutions' statuses."""

from __future__ import annotations

import itertools

import pytest

from questionbank.models import Problem, Solution
from questionbank.services.solutions import solution_create
from tests.factories import make_problem

PROBLEM_STATUSES = list(Problem.Status)
SOLUTION_STATUSES = list(Solution.Status)


def _problem(status, solution_statuses):
    problem = make_problem(status=status)
    for solution_status in solution_statuses:
        solution_create(problem=problem, body="x", status=solution_status)
    return problem


@pytest.mark.parametrize("problem_status", PROBLEM_STATUSES)
@pytest.mark.parametrize("solution_status", SOLUTION_STATUSES)
def test_one_solution(db, problem_status, solution_status):
    problem = _problem(problem_status, [solution_status])
    visible = (solution_status == Solution.Status.PUBLISHED
               and problem_status != Problem.Status.ARCHIVED)
    assert list(Problem.objects.published()) == ([problem] if visible else [])
    assert list(Solution.objects.published().values_list("status", flat=True)) == (
        [Solution.Status.PUBLISHED] if solution_status == Solution.Status.PUBLISHED else [])


@pytest.mark.parametrize("problem_status", PROBLEM_STATUSES)
def test_no_solution_is_never_visible(db, problem_status):
    _problem(problem_status, [])
    assert not Problem.objects.published().exists()


@pytest.mark.parametrize("pair", list(itertools.combinations(SOLUTION_STATUSES, 2)))
def test_two_solutions_visible_when_either_is_published(db, pair):
    problem = _problem(Problem.Status.READY, pair)
    visible = Solution.Status.PUBLISHED in pair
    assert list(Problem.objects.published()) == ([problem] if visible else [])


def test_a_problem_with_candidates_is_listed_once(db):
    # One published solution per problem is a database constraint (issue 12); the others
    # are candidates in every other state.
    problem = _problem(Problem.Status.READY, [Solution.Status.PUBLISHED, Solution.Status.DRAFT,
                                              Solution.Status.IN_REVIEW])
    other = _problem(Problem.Status.DRAFT, [Solution.Status.PUBLISHED, Solution.Status.DRAFT])
    _problem(Problem.Status.READY, [Solution.Status.IN_REVIEW])
    assert sorted(p.pk for p in Problem.objects.published()) == sorted([problem.pk, other.pk])
    assert Solution.objects.published().count() == 2
    assert set(Solution.objects.published().values_list("problem", flat=True)) == {
        problem.pk, other.pk}


def test_published_composes_with_other_filters(db):
    kept = _problem(Problem.Status.READY, [Solution.Status.PUBLISHED])
    _problem(Problem.Status.DRAFT, [Solution.Status.PUBLISHED])
    assert list(Problem.objects.ready().published()) == [kept]
    assert list(Problem.objects.filter(pk=kept.pk).published()) == [kept]
