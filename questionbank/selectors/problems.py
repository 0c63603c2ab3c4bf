"""Problems on the teacher's pages."""

from __future__ import annotations

from django.db.models import (
    Case,
    Count,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)

from questionbank.models import (
    GenerationJob,
    Problem,
    Solution,
    Tag,
)
from questionbank.validation import parse_int


def teacher_problem_list(*, q: str = "", kind: str = "", status: str = "", tag: str = "",
                         difficulty: str = "") -> QuerySet[Problem]:
    """Problems for the teacher's list, filtered; tags prefetched, solutions counted."""
    qs = Problem.objects.all()
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(statement__icontains=q) | Q(source__icontains=q))
    if kind in Problem.Kind.values:
        qs = qs.filter(kind=kind)
    if status in Problem.Status.values:
        qs = qs.filter(status=status)
    if parse_int(difficulty) is not None:
        qs = qs.filter(difficulty=parse_int(difficulty))
    if tag:
        qs = qs.filter(tags__slug=tag)
    return qs.annotate(
        n_solutions=Count("solutions", distinct=True),
        n_published=Count("solutions", filter=Q(solutions__status=Solution.Status.PUBLISHED),
                          distinct=True),
    ).prefetch_related("tags").order_by("-created_at", "-id")


def teacher_problem_detail(*, pk: int) -> Problem:
    return Problem.objects.select_related("created_by").prefetch_related("tags").get(pk=pk)


def problem_solutions(*, problem: Problem) -> QuerySet[Solution]:
    """A problem's solutions: the one students see first, then the best candidate, newest."""
    shown_first = Case(When(status=Solution.Status.PUBLISHED, then=Value(0)), default=Value(1),
                       output_field=IntegerField())
    return problem.solutions.select_related(
        "template", "current_revision", "endpoint", "status_changed_by").order_by(
        shown_first, "-is_best", "-created_at"
    )


def problem_jobs(*, problem: Problem, limit: int = 20) -> QuerySet[GenerationJob]:
    return problem.jobs.select_related("template", "endpoint", "batch").order_by("-id")[:limit]


def all_tags() -> QuerySet[Tag]:
    return Tag.objects.order_by("name")


def teacher_problem_ids(**filters) -> list[int]:
    """Every problem the teacher's list shows with these filters, on all its pages (for
    "select all N matching"), in the list's order."""
    return list(teacher_problem_list(**filters).values_list("pk", flat=True))
