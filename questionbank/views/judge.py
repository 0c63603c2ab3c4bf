"""Teacher actions of the code judge: run a solution's code, or the problem's reference
solution, against the problem's tests again."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from questionbank.models import Problem, Solution
from questionbank.permissions import teacher_required
from questionbank.services.judge import judge_reference_queue, judge_revision_queue


@teacher_required
@require_POST
def solution_judge(request, pk: int):
    solution = get_object_or_404(Solution.objects.select_related("problem", "current_revision"),
                                 pk=pk)
    if solution.current_revision is None or solution.problem.kind != Problem.Kind.PROGRAMMING:
        messages.error(request, _("Only the code of a programming solution can be run."))
        return redirect(solution)
    judge_revision_queue(revision=solution.current_revision, problem=solution.problem,
                         requested_by=request.user, force=True)
    messages.success(request, _("The code is being run against the tests; reload the page in a "
                              "few seconds to see the results."))
    return redirect(f"{solution.get_absolute_url()}#judge")


@teacher_required
@require_POST
def problem_judge_reference(request, pk: int):
    problem = get_object_or_404(Problem, pk=pk)
    try:
        judge_reference_queue(problem=problem, requested_by=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your reference solution is being run against the tests; "
                                  "reload the page in a few seconds to see the results."))
    return redirect(f"{problem.get_absolute_url()}#judge-reference")
