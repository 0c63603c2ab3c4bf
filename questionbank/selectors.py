"""Reads for one screen each; they own select_related / prefetch_related."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from questionbank.models import GenerationBatch, GenerationJob, Problem, Solution, Tag


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
    if difficulty.isdigit():
        qs = qs.filter(difficulty=int(difficulty))
    if tag:
        qs = qs.filter(tags__slug=tag)
    return qs.annotate(
        n_solutions=Count("solutions", distinct=True),
        n_published=Count("solutions", filter=Q(solutions__status=Solution.Status.PUBLISHED),
                          distinct=True),
    ).prefetch_related("tags")


def teacher_problem_detail(*, pk: int) -> Problem:
    return Problem.objects.select_related("created_by").prefetch_related("tags").get(pk=pk)


def problem_solutions(*, problem: Problem) -> QuerySet[Solution]:
    return problem.solutions.select_related("template", "current_revision", "endpoint").order_by(
        "-is_best", "-created_at"
    )


def problem_jobs(*, problem: Problem, limit: int = 20) -> QuerySet[GenerationJob]:
    return problem.jobs.select_related("template", "endpoint", "batch").order_by("-id")[:limit]


def all_tags() -> QuerySet[Tag]:
    return Tag.objects.order_by("name")


def dashboard_counts() -> dict:
    """Headline numbers for the teacher dashboard."""
    by_status = dict(
        Solution.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    jobs = dict(
        GenerationJob.objects.filter(
            status__in=[GenerationJob.Status.QUEUED, GenerationJob.Status.RUNNING,
                        GenerationJob.Status.FAILED]
        ).values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return {
        "problems": Problem.objects.count(),
        "ready": Problem.objects.filter(status=Problem.Status.READY).count(),
        "awaiting_review": by_status.get("draft", 0) + by_status.get("in_review", 0),
        "published": by_status.get("published", 0),
        "jobs_queued": jobs.get("queued", 0),
        "jobs_running": jobs.get("running", 0),
        "jobs_failed": jobs.get("failed", 0),
    }


def recent_batches(*, limit: int = 5) -> QuerySet[GenerationBatch]:
    return GenerationBatch.objects.select_related("template", "created_by").annotate(
        n_jobs=Count("jobs"),
        n_done=Count("jobs", filter=Q(jobs__status=GenerationJob.Status.SUCCEEDED)),
        n_failed=Count("jobs", filter=Q(jobs__status=GenerationJob.Status.FAILED)),
    )[:limit]
