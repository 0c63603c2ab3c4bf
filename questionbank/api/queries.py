"""Reads the API needs that no page has yet (the rest come from questionbank.selectors).
Kept here, beside their one caller, so that selectors.py stays with its owners; they
follow its rules (select_related here, published-only from the models' one filter)."""

from __future__ import annotations

from django.db.models import F, Prefetch, QuerySet

from questionbank.models import (
    ApiToken,
    GenerationBatch,
    Solution,
    SolutionRevision,
    SolutionTransition,
)


def api_solution_list(*, problem: int | None = None, status: str = "") -> QuerySet[Solution]:
    """Solutions for teachers, newest first, filtered by problem and state."""
    qs = Solution.objects.select_related("endpoint", "current_revision").defer("reasoning")
    if problem is not None:
        qs = qs.filter(problem_id=problem)
    if status in Solution.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def api_solution_detail(*, pk: int) -> Solution:
    """One solution with its revisions (newest first) and state changes."""
    return (
        Solution.objects.select_related("problem", "endpoint", "current_revision")
        .prefetch_related(
            Prefetch("revisions", to_attr="revision_list",
                     queryset=SolutionRevision.objects.select_related("author")
                     .order_by("-number")),
            Prefetch("transitions", to_attr="transition_list",
                     queryset=SolutionTransition.objects.select_related("user")
                     .order_by("-created_at", "-id")),
        )
        .get(pk=pk)
    )


def api_batch(*, pk: int) -> GenerationBatch:
    return (GenerationBatch.objects.select_related("template", "created_by")
            .prefetch_related("endpoints").get(pk=pk))


def api_tokens_of(*, user) -> QuerySet[ApiToken]:
    """A user's tokens for their account page: active first, newest first."""
    return ApiToken.objects.filter(user=user).order_by(
        F("revoked_at").asc(nulls_first=True), "-created_at", "-id")
