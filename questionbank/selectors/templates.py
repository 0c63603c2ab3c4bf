"""Prompt templates: lists, versions and their quality figures."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import (
    Avg,
    Case,
    Count,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from questionbank.models import (
    PromptTemplate,
    Solution,
)


@dataclass(frozen=True)
class TemplateQuality:
    """How a template's outputs fared in review."""

    total: int = 0
    published: int = 0
    rejected: int = 0
    mean_edit_distance: float | None = None

    @property
    def reviewed(self) -> int:
        return self.published + self.rejected

    @property
    def rejection_share(self) -> float | None:
        return self.rejected / self.reviewed if self.reviewed else None


def template_quality(*, lineages=None, template_ids=None) -> dict:
    """Review outcomes per template lineage (or per version when ``template_ids`` is given).

    ``mean_edit_distance`` is the mean, over published solutions, of the normalized edit
    distance between the model's first revision and the published text (0 untouched,
    1 rewritten); ``rejection_share`` is rejected / (published + rejected). One query.
    """
    if template_ids is not None:
        key = "template_id"
        qs = Solution.objects.filter(template_id__in=list(template_ids))
    else:
        key = "template__lineage"
        qs = Solution.objects.filter(template__lineage__in=list(lineages or []))
    published = Q(status=Solution.Status.PUBLISHED)
    rows = qs.values(key).annotate(
        total=Count("id"),
        published=Count("id", filter=published),
        rejected=Count("id", filter=Q(status=Solution.Status.REJECTED)),
        mean_edit_distance=Avg("edit_distance", filter=published),
    )
    return {
        row[key]: TemplateQuality(
            total=row["total"], published=row["published"], rejected=row["rejected"],
            mean_edit_distance=row["mean_edit_distance"],
        )
        for row in rows
    }


def teacher_template_list(*, q: str = "", kind: str = "") -> QuerySet[PromptTemplate]:
    """Current template versions, with how many versions each has."""
    qs = PromptTemplate.objects.current().select_related("created_by")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(description__icontains=q))
    if kind in PromptTemplate.Kind.values:
        qs = qs.filter(kind=kind)
    versions = (
        PromptTemplate.objects.filter(lineage=OuterRef("lineage"))
        .values("lineage").annotate(n=Count("id")).values("n")
    )
    return qs.annotate(n_versions=Subquery(versions)).order_by("name", "id")


def template_versions(*, template: PromptTemplate) -> QuerySet[PromptTemplate]:
    return (
        PromptTemplate.objects.filter(lineage=template.lineage)
        .select_related("created_by")
        .annotate(n_jobs=Count("jobs"))
        .order_by("-version")
    )


def templates_for_generation(*, kind: str | None = None) -> QuerySet[PromptTemplate]:
    qs = PromptTemplate.objects.current()
    if kind:
        qs = qs.filter(kind__in=[PromptTemplate.Kind.ANY, kind])
    return qs.order_by("name")


def default_template_for_generation(*, kind: str) -> PromptTemplate | None:
    """The template a mixed selection's ``kind`` problems start with: the first (by name)
    made for that kind, else the first for any problem."""
    return (templates_for_generation(kind=kind)
            .order_by(Case(When(kind=kind, then=Value(0)), default=Value(1)), "name", "pk")
            .first())
