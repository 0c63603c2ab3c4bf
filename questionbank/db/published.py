"""Whether students may see a problem, as SQL: the one form raw queries and triggers use.

The same rule as ``ProblemQuerySet.published()`` (the ORM's form; a test compares the
two for every solution state): the problem is not archived and has a published
solution (at most one: a partial unique constraint, migration 0014).
"""

from __future__ import annotations

from questionbank.models import Problem, Solution

PROBLEM_TABLE = Problem._meta.db_table
SOLUTION_TABLE = Solution._meta.db_table
PUBLISHED = Solution.Status.PUBLISHED.value
ARCHIVED = Problem.Status.ARCHIVED.value


def solution_published(alias: str) -> str:
    """SQL: the solution row ``alias`` (a table alias, or NEW/OLD in a trigger) is
    published, so students may read it."""
    return f"{alias}.status = '{PUBLISHED}'"


def problem_visible(alias: str = "p") -> str:
    """SQL: the problem row ``alias`` is one students may see."""
    return (f"{alias}.status <> '{ARCHIVED}' AND EXISTS (SELECT 1 FROM {SOLUTION_TABLE} ps "
            f"WHERE ps.problem_id = {alias}.id AND {solution_published('ps')})")
