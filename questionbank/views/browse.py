"""Student pages: browse, search and read published problems and their explanations.

Public or login-only per QB_PUBLIC_BROWSING (permissions.browse_allowed). Everything a
student sees comes through selectors that start from ``Problem.objects.published()``,
so an unpublished problem is a 404 whatever URL is typed. Teachers get the same pages.

Lists are paged by offset without a COUNT: one row more than the page is read to know
whether a next page exists. Counting every published problem on each request would be
the slowest part of the page at 100,000 problems, and "page 3 of 2,500" helps nobody.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy

from questionbank import selectors
from questionbank.browse.cache import cached_content, cached_page
from questionbank.browse.search import (
    MAX_QUERY_CHARS,
    RANK_CANDIDATES,
    Matches,
    SearchRequest,
    highlights,
    parse_query,
)
from questionbank.formatting import url_prefix
from questionbank.models import Problem, Tag
from questionbank.permissions import browse_allowed
from questionbank.validation import parse_int

PER_PAGE_CHOICES = (10, 20, 50, 100)
DEFAULT_PER_PAGE = 20
# Deeper pages are refused before any query: OFFSET work grows with the page number.
MAX_PAGE = 2000
SORTS = (("relevance", gettext_lazy("Best match")), ("newest", gettext_lazy("Newest")))


@dataclass
class Filters:
    """The list's GET parameters, validated; ``query`` rebuilds a canonical, shareable URL."""

    q: str = ""
    search: SearchRequest = field(default_factory=SearchRequest)
    kind: str = ""
    difficulty: str = ""
    tag: str = ""
    sort: str = "newest"
    per_page: int = DEFAULT_PER_PAGE
    solutions: bool = False

    @classmethod
    def from_get(cls, get, *, tag: str = "") -> Filters:
        search = parse_query(get.get("q", ""))
        kind = get.get("kind", "")
        difficulty = get.get("difficulty", "")
        sort = get.get("sort", "")
        if sort not in dict(SORTS):
            sort = "relevance" if search else "newest"
        if not search:
            sort = "newest"
        try:
            per_page = int(get.get("per_page", DEFAULT_PER_PAGE))
        except (TypeError, ValueError):
            per_page = DEFAULT_PER_PAGE
        return cls(
            q=search.text,
            search=search,
            kind=kind if kind in Problem.Kind.values else "",
            difficulty=difficulty if difficulty in {str(v) for v in Problem.Difficulty.values}
            else "",
            tag=tag or get.get("tag", "")[:120],
            sort=sort,
            per_page=per_page if per_page in PER_PAGE_CHOICES else DEFAULT_PER_PAGE,
            solutions=get.get("solutions") == "1",
        )

    def params(self, *, include_tag: bool = True) -> dict:
        params = {"q": self.q, "kind": self.kind, "difficulty": self.difficulty,
                  "tag": self.tag if include_tag else ""}
        if self.search and self.sort != "relevance":
            params["sort"] = self.sort
        if self.per_page != DEFAULT_PER_PAGE:
            params["per_page"] = self.per_page
        return {k: v for k, v in params.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.q or self.kind or self.difficulty or self.tag)


@dataclass
class ResultPage:
    """One page of rows and whether there are more, in the shape includes expect."""

    number: int
    per_page: int
    object_list: list
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page


def page_number(raw: str | None) -> int:
    """The requested page: anything that is not a positive whole number means page 1."""
    try:
        number = int(raw or 1)
    except (TypeError, ValueError):
        return 1
    return max(number, 1)


def _read_page(qs, number: int, per_page: int, rows=None) -> ResultPage:
    """Page ``number`` of ``qs``, read with ``rows(qs, offset, limit)`` (default: the
    model instances)."""
    if number > MAX_PAGE:
        return ResultPage(number, per_page, [], False)
    offset = (number - 1) * per_page
    rows = (rows(qs, offset, per_page + 1) if rows is not None
            else list(qs[offset:offset + per_page + 1]))
    return ResultPage(number, per_page, rows[:per_page], len(rows) > per_page)


def _list_context(request, *, fixed_tag: Tag | None = None):
    filters = Filters.from_get(request.GET, tag=fixed_tag.slug if fixed_tag else "")
    tag = fixed_tag
    unknown_tag = False
    if tag is None and filters.tag:
        tag = Tag.objects.filter(slug=filters.tag).first()
        unknown_tag = tag is None
    matches = _search_matches(filters, tag, unknown_tag)
    if matches is not None and request.GET.get("print") != "1":
        # Search results are read from the ranked ids; ordering a queryset by up to
        # 1,000 of them costs more Python than the whole search (it stays unbuilt).
        return filters, tag, unknown_tag, None, matches
    qs = selectors.browse_problem_list(search=filters.search, kind=filters.kind,
                                       difficulty=filters.difficulty, tag=tag,
                                       sort=filters.sort, matches=matches)
    if unknown_tag:
        qs = qs.none()
    return filters, tag, unknown_tag, qs, matches


def _search_matches(filters: Filters, tag: Tag | None, unknown_tag: bool):
    """The full-text matches of the list's search (None when the list is not one)."""
    if filters.search.mode != "fts":
        return None
    if unknown_tag:
        return Matches()
    return selectors.browse_search_matches(search=filters.search, kind=filters.kind,
                                           difficulty=filters.difficulty, tag=tag,
                                           sort=filters.sort)


def _list_page(request, *, fixed_tag: Tag | None = None) -> tuple[str, dict, int]:
    """The list's template, context and status (a search, a tag page, a worksheet)."""
    filters, tag, unknown_tag, qs, matches = _list_context(request, fixed_tag=fixed_tag)
    printing = request.GET.get("print") == "1"
    number = page_number(request.GET.get("page"))
    if printing:
        qs = selectors.browse_worksheet(qs, solutions=filters.solutions)
    if matches is not None and not printing:
        # Full-text results: the ranked ids are known, so a page is a slice of them.
        offset = (number - 1) * filters.per_page
        ids = matches.ids[offset:offset + filters.per_page + 1] if number <= MAX_PAGE else ()
        rows = selectors.browse_rows(ids)
        page = ResultPage(number, filters.per_page, rows[:filters.per_page],
                          len(ids) > filters.per_page)
    elif printing:
        page = _read_page(qs, number, filters.per_page)
    else:
        page = _read_page(qs, number, filters.per_page, rows=selectors.browse_page_rows)
    status = 200
    if not page.object_list and page.number > 1:
        status = 404  # past the end: say so, and offer the first page

    params = filters.params(include_tag=fixed_tag is None)
    query = urlencode(params)
    marks = highlights(filters.search, [p.pk for p in page.object_list])
    detail_params = filters.params()
    for i, problem in enumerate(page.object_list):
        problem.title_html, problem.snippet_html = marks.get(problem.pk, (None, None))
        problem.browse_url = _detail_url(problem.pk, detail_params, page.offset + i)
        if printing and filters.solutions:
            problem.solution = (problem.published_solutions[0]
                                if problem.published_solutions else None)

    context = {
        "filters": filters,
        "matches": matches,
        "rank_candidates": RANK_CANDIDATES,
        "tag": tag,
        "fixed_tag": fixed_tag,
        "unknown_tag": unknown_tag,
        "page": page,
        "query": query,
        "kinds": Problem.Kind.choices,
        "difficulties": Problem.Difficulty.choices,
        "sorts": SORTS,
        "per_page_choices": PER_PAGE_CHOICES,
        "max_query_chars": MAX_QUERY_CHARS,
        "print_query": urlencode({**params, "print": 1, "page": page.number,
                                  **({"solutions": 1} if filters.solutions else {})}),
    }
    template = "browse/worksheet.html" if printing else "browse/_list_content.html"
    return template, context, status


def _render_list(request, *, tag_slug: str | None = None):
    """A list page (a tag's page when ``tag_slug``; 404 for an unknown tag): a worksheet
    is rendered whole; a list's content comes from the cache (cached_content, so a cached
    tag page does not look its tag up) and is framed for the visitor."""

    def page():
        fixed_tag = get_object_or_404(Tag, slug=tag_slug) if tag_slug is not None else None
        return fixed_tag, *_list_page(request, fixed_tag=fixed_tag)

    if request.GET.get("print") == "1":
        _, template, context, status = page()
        return render(request, template, context, status=status)

    def build():
        fixed_tag, template, context, status = page()
        filters = context["filters"]
        title = (fixed_tag.name if fixed_tag
                 else gettext("Search: %(q)s") % {"q": filters.q} if filters.q
                 else gettext("Problems"))
        return status, title, render_to_string(template, context)

    status, title, content = cached_content(request, build)
    # The content was rendered from templates (autoescaped), by this code, before caching.
    return render(request, "browse/problem_list.html",
                  {"title": title, "content_html": mark_safe(content)}, status=status)


def _detail_url(pk: int, params: dict, pos: int | None, step: str = "") -> str:
    """A problem page's URL (``step``: "previous/" or "next/" for its step links) carrying
    the list's filters and the position in it."""
    url = f"{url_prefix('browse:problem-detail')}{pk}/{step}"
    params = dict(params)
    if pos is not None:
        params["pos"] = pos
    return f"{url}?{urlencode(params)}" if params else url


def _neighbours_in(ids, pk: int, pos: int | None) -> tuple[dict | None, dict | None]:
    """Neighbours of ``pk`` in a search's ranked ids: found at ``pos`` (the position the
    list link carried) or, failing that, wherever it is now; one query for the titles."""
    if pos is None or pos >= len(ids) or ids[pos] != pk:
        if pk not in ids:
            return None, None
        pos = ids.index(pk)
    before = ids[pos - 1] if pos > 0 else None
    after = ids[pos + 1] if pos + 1 < len(ids) else None
    titles = selectors.browse_titles([before, after])
    return ({"pk": before, "title": titles[before], "pos": pos - 1} if before in titles else None,
            {"pk": after, "title": titles[after], "pos": pos + 1} if after in titles else None)


@browse_allowed
@cached_page
def home(request):
    """Search box, the newest published problems and the most used tags."""
    recent = list(selectors.browse_problem_list()[:8])
    for problem in recent:
        problem.browse_url = reverse("browse:problem-detail", args=[problem.pk])
    return render(request, "browse/home.html", {
        "recent": recent,
        "popular_tags": selectors.browse_tag_counts()[:24],
        "max_query_chars": MAX_QUERY_CHARS,
    })


@browse_allowed
@cached_page
def problem_list(request):
    """All published problems, or search results, filtered; ``?print=1`` is a worksheet."""
    return _render_list(request)


@browse_allowed
@cached_page
def tag_list(request):
    return render(request, "browse/tag_list.html", {"tags": selectors.browse_tag_counts()})


@browse_allowed
@cached_page
def tag_detail(request, slug: str):
    """The list, restricted to one tag (the tag's public page)."""
    return _render_list(request, tag_slug=slug)


def _detail_frame(request, pk: int) -> dict:
    """What frames a problem: the way back to the list and the steps through it (links
    that find the neighbour when followed, so the page does not depend on other problems).
    Built from the query string alone, without the database."""
    filters = Filters.from_get(request.GET) if request.GET else _NO_FILTERS
    pos = _position(request) if request.GET else None
    params = filters.params()
    back_params = dict(params)
    if pos is not None and pos >= filters.per_page:
        back_params["page"] = pos // filters.per_page + 1
    back_url = url_prefix("browse:problem-detail")  # /browse/problems/: the list
    if back_params:
        back_url += "?" + urlencode(back_params)
    return {
        "back_url": back_url,
        "back_label": gettext("← Back to results") if filters.active else gettext("← All problems"),
        # None when first in its list (position 0): the template keeps "next" on the right.
        "previous_url": _detail_url(pk, params, pos, "previous/") if pos != 0 else None,
        "next_url": _detail_url(pk, params, pos, "next/"),
        "steps_label": (gettext("Problems in these results") if filters.active
                        else gettext("More problems")),
    }


_NO_FILTERS = Filters()


def _position(request) -> int | None:
    return parse_int(request.GET.get("pos", ""), maximum=MAX_PAGE * max(PER_PAGE_CHOICES) - 1)


@browse_allowed
@cached_page
def problem_detail(request, pk: int):
    """A published problem, its explanation behind "show solution", and steps to its
    neighbours in the list the student came from (the filters travel in the query string)."""
    try:
        problem = selectors.browse_problem_page(pk=pk)
    except Problem.DoesNotExist:
        raise Http404(gettext("There is no published problem with this number.")) from None
    return render(request, "browse/problem_detail.html",
                  {"problem": problem, **_detail_frame(request, pk)})


@browse_allowed
def problem_step(request, pk: int, direction: str):
    """Follow "previous" / "next" from a problem page: find the neighbour in the list the
    student came from and go there, carrying the list's filters and position."""
    try:
        problem = selectors.browse_problem_page(pk=pk)
    except Problem.DoesNotExist:
        raise Http404(gettext("There is no published problem with this number.")) from None
    filters = Filters.from_get(request.GET)
    pos = _position(request)
    prev = nxt = None
    if not filters.active:
        # The common case (a shared link, the unfiltered list): one indexed query.
        prev, nxt = selectors.browse_newest_neighbours(problem=problem)
        for neighbour, step in ((prev, -1), (nxt, 1)):
            if neighbour:
                neighbour["pos"] = None if pos is None else pos + step
    else:
        tag = Tag.objects.filter(slug=filters.tag).first() if filters.tag else None
        unknown_tag = bool(filters.tag) and tag is None
        matches = _search_matches(filters, tag, unknown_tag)
        if matches is not None:
            prev, nxt = _neighbours_in(matches.ids, problem.pk, pos)
        elif not unknown_tag:
            qs = selectors.browse_problem_list(search=filters.search, kind=filters.kind,
                                               difficulty=filters.difficulty, tag=tag,
                                               sort=filters.sort)
            prev, nxt = selectors.browse_neighbours(problem=problem, qs=qs,
                                                    sort=filters.sort, pos=pos)
    neighbour = nxt if direction == "next" else prev
    params = filters.params()
    if neighbour is None:
        messages.info(request, {
            ("next", True): gettext("“%(title)s” is the last problem in these results."),
            ("next", False): gettext("“%(title)s” is the last problem in the list."),
            ("previous", True): gettext("“%(title)s” is the first problem in these results."),
            ("previous", False): gettext("“%(title)s” is the first problem in the list."),
        }[direction, filters.active] % {"title": problem.title})
        return redirect(_detail_url(problem.pk, params, pos))
    return redirect(_detail_url(neighbour["pk"], params, neighbour["pos"]))
