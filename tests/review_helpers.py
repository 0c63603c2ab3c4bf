"""Builders for the review tests: solutions as the pipeline would leave them."""

from __future__ import annotations

from questionbank.models import Solution
from questionbank.services.solutions import solution_create
from tests import factories


def make_solution(*, problem=None, body="The answer is $\\boxed{4}$.", template=None,
                  **fields) -> Solution:
    """A draft solution with its model-written first revision (author None)."""
    problem = problem or factories.make_problem()
    defaults = {
        "final_answer": "4",
        "verdict": Solution.Verdict.AGREES,
        "majority_share": 1.0,
        "problem_version": problem.version,
        "template": template,
    }
    defaults.update(fields)
    return solution_create(problem=problem, body=body, **defaults)


def make_job(*, problem=None, template=None, endpoint=None, user=None):
    """A generation job (queued) through the real batch service."""
    from questionbank.services.generation import batch_create

    batch = batch_create(
        problems=[problem or factories.make_problem()],
        template=template or factories.make_template(),
        endpoints=[endpoint or factories.make_endpoint()], samples=1, created_by=user,
    )
    return batch.jobs.get()
