"""Solutions for review: the queue, one solution and its neighbours."""

from __future__ import annotations

import uuid

from django.db.models import (
    Case,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from questionbank.models import (
    CallLog,
    JudgeRun,
    Problem,
    Solution,
    SolutionRevision,
    SolutionTransition,
)

# A majority below this share of the samples marks an answer as doubtful in the queue.
LOW_MAJORITY_SHARE = 0.6


def review_queue(*, kind: str = "", tag: str = "", template: str = "", verdict: str = "",
                 status: str = "", q: str = "") -> QuerySet[Solution]:
    """Draft and in-review solutions, riskiest first.

    ``risk``: 0 the answer disagrees with the reference, 1 the samples' majority is thin,
    2 the answer could not be checked, 3 the rest. ``template`` is a template lineage, so
    every version of a template is one filter. The query count does not grow with rows.
    """
    qs = Solution.objects.awaiting_review()
    if status in (Solution.Status.DRAFT, Solution.Status.IN_REVIEW):
        qs = qs.filter(status=status)
    if kind in Problem.Kind.values:
        qs = qs.filter(problem__kind=kind)
    if tag:
        qs = qs.filter(problem__tags__slug=tag)
    if template:
        try:
            qs = qs.filter(template__lineage=uuid.UUID(template))
        except ValueError:
            qs = qs.none()
    if verdict in Solution.Verdict.values:
        qs = qs.filter(verdict=verdict)
    if q:
        qs = qs.filter(Q(problem__title__icontains=q) | Q(final_answer__icontains=q))
    programming = Q(problem__kind=Problem.Kind.PROGRAMMING)
    risk = Case(
        # Programming: the code judge decides (issue 18); failing or unrunnable code first.
        When(programming & Q(judge_outcome__in=[JudgeRun.Outcome.FAILED,
                                               JudgeRun.Outcome.ERROR]), then=Value(0)),
        When(programming & Q(judge_outcome=JudgeRun.Outcome.PASSED), then=Value(3)),
        When(programming, then=Value(2)),
        When(verdict=Solution.Verdict.DISAGREES, then=Value(0)),
        When(majority_share__lt=LOW_MAJORITY_SHARE, then=Value(1)),
        When(verdict__in=[Solution.Verdict.UNCHECKED, Solution.Verdict.NOT_CHECKED],
             then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return (
        qs.annotate(**_judge_annotations()).annotate(risk=risk)
        .select_related("problem", "template", "endpoint")
        .defer("reasoning", "problem__statement", "problem__statement_html",
               "problem__test_cases")
        .prefetch_related("problem__tags")
        .order_by("risk", F("majority_share").asc(nulls_last=True), "created_at", "id")
    )


def _judge_annotations() -> dict:
    """The latest judge run of each solution: status, outcome, failed, total, message."""
    latest = (JudgeRun.objects.filter(revision__solution_id=OuterRef("pk"))
              .order_by("-revision__number", "-id").annotate(failed=F("total") - F("passed")))
    return {f"judge_{name}": Subquery(latest.values(name)[:1])
            for name in ("status", "outcome", "failed", "total", "message")}


def review_queue_next(*, after: int) -> int | None:
    """The id of the riskiest solution in the queue other than ``after``, or None."""
    return review_queue().exclude(pk=after).values_list("pk", flat=True).first()


def solution_for_review(*, pk: int) -> Solution:
    """One solution with everything the review page shows next to it."""
    return (
        Solution.objects.select_related(
            "problem", "template", "endpoint", "current_revision__author", "job__batch",
            "status_changed_by", "call_log",
        )
        .prefetch_related("problem__tags")
        .get(pk=pk)
    )


def solution_candidates(*, solution: Solution) -> QuerySet[Solution]:
    """The other solutions to the same problem, to compare and pick from."""
    return (
        Solution.objects.filter(problem_id=solution.problem_id)
        .exclude(pk=solution.pk)
        .select_related("template", "endpoint", "current_revision")
        .defer("reasoning")
        .order_by("-is_best", "status", F("majority_share").desc(nulls_last=True), "-id")
    )


def solution_revisions(*, solution: Solution) -> QuerySet[SolutionRevision]:
    return solution.revisions.select_related("author").order_by("-number")


def solution_transitions(*, solution: Solution) -> QuerySet[SolutionTransition]:
    return solution.transitions.select_related("user").order_by("-created_at", "-id")


def solution_call_logs(*, solution: Solution) -> QuerySet[CallLog]:
    """The calls behind a solution: every attempt of its job (ids and outcomes only)."""
    if solution.job_id:
        qs = CallLog.objects.filter(job_id=solution.job_id)
    elif solution.call_log_id:
        qs = CallLog.objects.filter(pk=solution.call_log_id)
    else:
        return CallLog.objects.none()
    return qs.only("id", "created_at", "outcome", "error_class", "latency_ms").order_by("id")


def dashboard_review(*, limit: int = 6) -> list[Solution]:
    return list(review_queue()[:limit])


# --- Code judge (issue 18) ------------------------------------------------------------------


def judge_solution_runs(*, solution: Solution) -> list[JudgeRun]:
    """The solution's judge runs, newest code first (the first is the one that counts)."""
    return list(JudgeRun.objects.filter(revision__solution_id=solution.pk)
                .select_related("revision", "requested_by")
                .order_by("-revision__number", "-id")[:10])


def judge_problem_samples(*, problem: Problem) -> list[tuple[Solution, JudgeRun | None]]:
    """Every solution to the problem with its latest judge run: which sample passes which
    test, side by side. Two queries whatever the number of solutions."""
    solutions = list(problem.solutions.exclude(status=Solution.Status.REJECTED)
                     .only("pk", "status", "is_best", "created_at", "problem_id")
                     .order_by("pk"))
    latest: dict[int, JudgeRun] = {}
    for run in (JudgeRun.objects.filter(revision__solution__in=solutions)
                .select_related("revision")
                .order_by("revision__solution_id", "-revision__number", "-id")):
        latest.setdefault(run.revision.solution_id, run)
    return [(s, latest.get(s.pk)) for s in solutions]


def judge_reference_run(*, problem: Problem) -> JudgeRun | None:
    """The latest judging of the problem's reference solution."""
    return (JudgeRun.objects.filter(problem=problem, revision__isnull=True)
            .select_related("requested_by").order_by("-id").first())
