"""Helpers for the students' browse and search tests (issue 6)."""

from __future__ import annotations

from questionbank.models import Solution
from questionbank.services.solutions import Concern, solution_create, solution_transition
from tests.factories import make_problem

STATES = ("draft", "in_review", "published", "rejected", "unpublished")


def with_solution(problem, state: str = "published", *, body: str = "Because **2 + 2 = 4**.",
                  final_answer: str = "4", user=None, **fields) -> Solution:
    """Give ``problem`` a solution that went through the review flow to ``state``
    ("unpublished" = published, then sent back to draft). Publishing confirms every
    publish guard: these tests are about what students see, not about the guards."""
    solution = solution_create(problem=problem, body=body, final_answer=final_answer, **fields)
    S = Solution.Status
    steps = {
        "draft": [],
        "in_review": [S.IN_REVIEW],
        "published": [S.PUBLISHED],
        "rejected": [S.REJECTED],
        "unpublished": [S.PUBLISHED, S.DRAFT],
    }[state]
    for target in steps:
        solution_transition(solution=solution, target=target, user=user,
                            reason="Wrong answer." if target == S.REJECTED else "",
                            confirm=Concern.LABELS)
    return solution


def published_problem(**fields):
    """A problem students can see: it has one published solution."""
    problem = make_problem(**fields)
    with_solution(problem, "published")
    return problem
