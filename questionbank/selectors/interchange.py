"""Problems to export."""

from __future__ import annotations

from django.db.models import Prefetch, Q

from questionbank.models import Problem, Solution


def problems_for_export(*, ids=None, tag: str = "", kind: str = "", status: str = "",
                        q: str = "", with_solutions: bool = False):
    """Problems to export, oldest first, with tags and (when asked) their published
    solutions prefetched as ``export_solutions`` (best first, then newest)."""
    qs = Problem.objects.all()
    if ids:
        qs = qs.filter(pk__in=list(ids))
    if tag:
        qs = qs.filter(Q(tags__slug=tag) | Q(tags__name__iexact=tag)).distinct()
    if kind in Problem.Kind.values:
        qs = qs.filter(kind=kind)
    if status in Problem.Status.values:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(statement__icontains=q))
    prefetches = ["tags"]
    if with_solutions:
        prefetches.append(Prefetch(
            "solutions",
            queryset=Solution.objects.published().select_related("current_revision")
            .order_by("-is_best", "-published_at", "-pk"),
            to_attr="export_solutions",
        ))
    return qs.prefetch_related(*prefetches).order_by("pk")
