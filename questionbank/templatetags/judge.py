"""The code judge's panels, included by the review and problem pages with one line each.

Inclusion tags that read through selectors, so the pages' views need not know about the
judge (they belong to other parts of the app and change for other reasons).
"""

from __future__ import annotations

from django import template

from questionbank import selectors
from questionbank.judge import VERDICT_LABELS, tests_from_json
from questionbank.models import JudgeRun, Problem
from questionbank.services.judge import judge_run_outdated

register = template.Library()

# Short marks for the samples-by-tests grid.
_MARKS = {"passed": "✓", "wrong_answer": "✗", "time_limit": "T", "memory_limit": "M",
          "runtime_error": "!", "output_limit": "O", "could_not_run": "–"}


def _rows(run: JudgeRun | None) -> list[dict]:
    if run is None or not run.is_finished:
        return []
    return [{**r, "label": VERDICT_LABELS.get(r.get("verdict"), r.get("verdict")),
             "mark": _MARKS.get(r.get("verdict"), "?")} for r in run.results]


@register.inclusion_tag("teacher/_judge_panel.html", takes_context=True)
def judge_panel(context, solution):
    """The review page's code check: the verdict per test and every sample's results."""
    problem = solution.problem
    if problem.kind != Problem.Kind.PROGRAMMING:
        return {"show": False}
    runs = selectors.judge_solution_runs(solution=solution)
    run = runs[0] if runs else None
    samples = [(s, _rows(r), r) for s, r in selectors.judge_problem_samples(problem=problem)]
    return {
        "show": True,
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
        "solution": solution,
        "problem": problem,
        "n_tests": len(tests_from_json(problem.test_cases)),
        "run": run,
        "rows": _rows(run),
        "stale": run is not None and judge_run_outdated(run=run, problem=problem),
        "samples": samples if len(samples) > 1 else [],
        "test_numbers": range(1, max((len(rows) for _, rows, _ in samples), default=0) + 1),
    }


@register.inclusion_tag("teacher/_judge_reference_panel.html", takes_context=True)
def judge_reference(context, problem):
    """The problem page's check of the tests against the teacher's reference solution."""
    if problem.kind != Problem.Kind.PROGRAMMING:
        return {"show": False}
    run = selectors.judge_reference_run(problem=problem)
    return {
        "show": True,
        "csrf_token": context.get("csrf_token"),
        "problem": problem,
        "n_tests": len(tests_from_json(problem.test_cases)),
        "run": run,
        "rows": _rows(run),
        "stale": run is not None and judge_run_outdated(run=run, problem=problem),
    }
