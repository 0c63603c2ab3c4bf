"""What students read: published problems, their pages, lists and tags."""

from __future__ import annotations

from datetime import UTC

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from questionbank.browse.cache import BROWSE_PAGE_SECONDS, current_generation
from questionbank.browse.search import (
    Matches,
    SearchRequest,
    filter_and_rank,
    in_order,
    match_ids,
)
from questionbank.db.published import problem_visible, solution_published
from questionbank.models import Problem, Solution, SolutionRevision, Tag
from questionbank.validation import parse_int

# Columns a list row shows: never the statement, its HTML or the test cases.
BROWSE_ROW_FIELDS = ("id", "title", "kind", "difficulty", "created_at")


def browse_tag_counts_key(generation: int) -> str:
    """Per database (test runs and dev servers sharing the file cache never mix) and per
    browse generation (any publish, edit or tag change makes a new key at once)."""
    return f"browse:tag-counts:v2:{connection.settings_dict['NAME']}:{generation}"


def _browse_tags_prefetch() -> Prefetch:
    return Prefetch("tags", queryset=Tag.objects.only("id", "name", "slug"))


def browse_problem_list(*, search: SearchRequest | None = None, kind: str = "",
                        difficulty: str = "", tag: Tag | None = None,
                        sort: str = "newest", matches: Matches | None = None
                        ) -> QuerySet[Problem]:
    """Published problems for the students' list, tag pages and search results.

    ``matches`` (from browse_search_matches with the same arguments) saves running a
    full-text search twice.

    Only what a row shows is loaded, tags are prefetched (one query for a whole page).
    ``sort`` is "newest" or "relevance" (relevance needs a search). Unknown filter
    values are ignored, so any URL a student edits still gives a page.
    """
    qs = Problem.objects.published()
    if kind in Problem.Kind.values:
        qs = qs.filter(kind=kind)
    if parse_int(difficulty) in Problem.Difficulty.values:
        qs = qs.filter(difficulty=parse_int(difficulty))
    if tag is not None:
        qs = qs.filter(tags=tag)
    qs = qs.order_by("-created_at", "-id")
    if matches is not None:
        qs = in_order(qs, matches.ids)
    elif search:
        qs = filter_and_rank(
            qs, search, relevance=sort == "relevance", kind=kind if kind in Problem.Kind.values
            else "", difficulty=parse_int(difficulty),
            tag_id=tag.pk if tag is not None else None)
    return qs.only(*BROWSE_ROW_FIELDS).prefetch_related(_browse_tags_prefetch())


def browse_search_matches(*, search: SearchRequest, kind: str = "", difficulty: str = "",
                          tag: Tag | None = None, sort: str = "relevance") -> Matches:
    """The ids of a full-text search's results in display order (one query; at most
    search.RANK_CANDIDATES, the newest matches, ranked when ``sort`` is relevance)."""
    return match_ids(search, relevance=sort == "relevance",
                     kind=kind if kind in Problem.Kind.values else "",
                     difficulty=parse_int(difficulty),
                     tag_id=tag.pk if tag is not None else None)


class BrowseRow:
    """One row of the students' list: what it shows and nothing more (no model instance:
    building 20 of them through the ORM cost more than the rest of the page)."""

    __slots__ = ("pk", "title", "kind", "difficulty", "tag_list", "title_html",
                 "snippet_html", "browse_url")
    _KINDS = dict(Problem.Kind.choices)
    _DIFFICULTIES = dict(Problem.Difficulty.choices)

    def __init__(self, pk: int, title: str, kind: str, difficulty: int):
        self.pk, self.title, self.kind, self.difficulty = pk, title, kind, difficulty
        self.tag_list: list[Tag] = []
        self.title_html = self.snippet_html = self.browse_url = None

    def get_kind_display(self) -> str:
        return self._KINDS.get(self.kind, self.kind)

    def get_difficulty_display(self) -> str:
        return self._DIFFICULTIES.get(self.difficulty, str(self.difficulty))


# List rows and their tags are read with SQL (here and in _attach_tags): measured
# in-process at 100,000 problems on PostgreSQL, 20 rows with their tags took 30.9 ms median
# through the ORM and 10.7 ms this way, about a fifth to a third of a list or search page.
def browse_rows(ids) -> list[BrowseRow]:
    """List rows for ``ids`` (published only), in that order, with their tags: two
    queries whatever the number of ids."""
    ids = list(ids)
    if not ids:
        return []
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT p.id, p.title, p.kind, p.difficulty FROM questionbank_problem p "
                       f"WHERE p.id IN ({marks}) AND {problem_visible('p')}", ids)
        rows = {r[0]: BrowseRow(*r) for r in cursor.fetchall()}
    _attach_tags(rows)
    return [rows[pk] for pk in ids if pk in rows]


def browse_page_rows(qs: QuerySet[Problem], offset: int, limit: int) -> list[BrowseRow]:
    """Rows ``offset`` to ``offset + limit`` of a browse_problem_list queryset: two
    queries (the rows, their tags)."""
    rows = {r[0]: BrowseRow(*r) for r in
            qs.values_list("pk", "title", "kind", "difficulty")[offset:offset + limit]}
    _attach_tags(rows)
    return list(rows.values())


def _attach_tags(rows: dict[int, BrowseRow]) -> None:
    """Each row's tags, by name (one query)."""
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pt.problem_id, t.id, t.name, t.slug FROM questionbank_problem_tags pt "
            "JOIN questionbank_tag t ON t.id = pt.tag_id "
            f"WHERE pt.problem_id IN ({', '.join(['%s'] * len(rows))}) ORDER BY t.name",
            list(rows))
        for pid, tid, name, slug in cursor.fetchall():
            rows[pid].tag_list.append(Tag(id=tid, name=name, slug=slug))


def browse_worksheet(qs: QuerySet[Problem], *, solutions: bool) -> QuerySet[Problem]:
    """A list queryset widened for printing: statements, and the published solution
    (a list of at most one, in ``published_solutions``) when asked. Two or three queries
    in all."""
    qs = qs.only(*BROWSE_ROW_FIELDS, "statement_html")
    if solutions:
        qs = qs.prefetch_related(Prefetch(
            "solutions", to_attr="published_solutions",
            queryset=_browse_solutions(),
        ))
    return qs


def _browse_solutions() -> QuerySet[Solution]:
    """The published solution (one per problem: a database constraint)."""
    return (Solution.objects.published().select_related("current_revision")
            .only("id", "problem_id", "final_answer", "from_standin", "current_revision__id",
                  "current_revision__body_html"))


# Newest-order neighbours of one problem among all visible problems, both in one query:
# ranges on created_at (answered by the problem_newest index), ties removed on the wrong
# side. Raw SQL because the ORM cannot put two ordered, limited selects in one UNION on
# SQLite; the step links are followed one at a time, so one query instead of two.
_BROWSE_NEIGHBOURS_SQL = (
    "SELECT * FROM (SELECT 0, p.id, p.title FROM questionbank_problem p "
    " WHERE p.created_at >= %s AND NOT (p.created_at = %s AND p.id <= %s)"
    f" AND {problem_visible('p')} ORDER BY p.created_at, p.id LIMIT 1) a "
    "UNION ALL "
    "SELECT * FROM (SELECT 1, p.id, p.title FROM questionbank_problem p "
    " WHERE p.created_at <= %s AND NOT (p.created_at = %s AND p.id >= %s)"
    f" AND {problem_visible('p')} ORDER BY p.created_at DESC, p.id DESC LIMIT 1) b"
)


# The problem page's reads as SQL (one function, one figure): measured in-process at
# 100,000 problems on PostgreSQL, the whole page (cache off) took 22.5 ms median through
# the ORM (the same two queries) and 12.4 ms with these, 45 % less: the ORM's query
# building was most of the page. The rule comes from questionbank.db.published; at most
# one published solution per problem is a database constraint, so the join finds one row.
_BROWSE_PAGE_SQL = (
    "SELECT p.id, p.title, p.kind, p.difficulty, p.statement_html, p.created_at, "
    "s.id, s.final_answer, s.from_standin, r.id, r.body_html "
    f"FROM questionbank_problem p JOIN questionbank_solution s "
    f"ON s.problem_id = p.id AND {solution_published('s')} "
    "LEFT JOIN questionbank_solutionrevision r ON r.id = s.current_revision_id "
    f"WHERE p.id = %s AND {problem_visible('p')}"
)
_BROWSE_PAGE_TAGS_SQL = (
    "SELECT t.id, t.name, t.slug FROM questionbank_tag t JOIN questionbank_problem_tags pt "
    "ON pt.tag_id = t.id WHERE pt.problem_id = %s ORDER BY t.name"
)


def browse_problem_page(*, pk: int) -> Problem:
    """A published problem for its page, with ``problem.solution`` (its published
    Solution, with ``current_revision.body_html``) and ``problem.tag_list`` (Tags, by
    name). ``Problem.DoesNotExist`` for anything a student may not see. Two queries."""
    with connection.cursor() as cursor:
        cursor.execute(_BROWSE_PAGE_SQL, [pk])
        row = cursor.fetchone()
        if row is None:
            raise Problem.DoesNotExist
        cursor.execute(_BROWSE_PAGE_TAGS_SQL, [pk])
        tags = [Tag(id=i, name=n, slug=s) for i, n, s in cursor.fetchall()]
    pid, title, kind, difficulty, html, created, sid, answer, standin, rid, body_html = row
    problem = Problem(id=pid, title=title, kind=kind, difficulty=difficulty,
                      statement_html=html, created_at=_as_datetime(created))
    problem.tag_list = tags
    problem.solution = Solution(id=sid, problem_id=pid, final_answer=answer,
                                from_standin=standin, status=Solution.Status.PUBLISHED)
    problem.solution.current_revision = (
        SolutionRevision(id=rid, solution_id=sid, body_html=body_html)
        if rid is not None else None)
    return problem


def _as_datetime(value):
    """SQLite's cursor returns timestamps as text; PostgreSQL's as aware datetimes."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def browse_newest_neighbours(*, problem: Problem) -> tuple[dict | None, dict | None]:
    """The visible problems just newer and just older than ``problem``, as
    ``{"pk", "title"}``: one query."""
    c = connection.ops.adapt_datetimefield_value(problem.created_at)
    with connection.cursor() as cursor:
        cursor.execute(_BROWSE_NEIGHBOURS_SQL, [c, c, problem.pk, c, c, problem.pk])
        found = {side: {"pk": pk, "title": title} for side, pk, title in cursor.fetchall()}
    return found.get(0), found.get(1)


def browse_titles(ids) -> dict[int, str]:
    """``{id: title}`` of visible problems among ``ids`` (one query)."""
    ids = [pk for pk in ids if pk is not None]
    if not ids:
        return {}
    return dict(Problem.objects.published().filter(pk__in=ids).values_list("pk", "title"))


def browse_neighbours(*, problem: Problem, qs: QuerySet[Problem], sort: str,
                      pos: int | None) -> tuple[dict | None, dict | None]:
    """The problems before and after ``problem`` in the list ``qs`` came from.

    Newest order uses the (created_at, id) keyset (two indexed queries, right even if
    the list changed). Relevance order has no stable key, so it reads the three rows
    around ``pos`` (the position the list link carried), one query; if the problem
    is no longer there, there are no neighbours rather than wrong ones.
    """
    rows = qs.order_by().values_list("pk", "title")
    if sort == "relevance":
        if pos is None:
            return None, None
        start = max(pos - 1, 0)
        window = list(qs.values_list("pk", "title")[start:pos + 2])
        ids = [pk for pk, _ in window]
        if problem.pk not in ids:
            return None, None
        i = ids.index(problem.pk)
        prev = window[i - 1] if i > 0 else None
        nxt = window[i + 1] if i + 1 < len(window) else None
        at = start + i
        return ({"pk": prev[0], "title": prev[1], "pos": at - 1} if prev else None,
                {"pk": nxt[0], "title": nxt[1], "pos": at + 1} if nxt else None)
    created = problem.created_at
    # A range on created_at (not an OR of two conditions) so the problem_newest index
    # answers it; the exclude() removes the ties on the wrong side of this problem.
    prev = (rows.filter(created_at__gte=created).exclude(created_at=created, pk__lte=problem.pk)
            .order_by("created_at", "id").first())
    nxt = (rows.filter(created_at__lte=created).exclude(created_at=created, pk__gte=problem.pk)
           .order_by("-created_at", "-id").first())
    before = None if pos is None else pos - 1
    after = None if pos is None else pos + 1
    return ({"pk": prev[0], "title": prev[1], "pos": before} if prev else None,
            {"pk": nxt[0], "title": nxt[1], "pos": after} if nxt else None)


def browse_tag_counts() -> list[dict]:
    """Tags with at least one published problem, most used first: ``name``, ``slug``,
    ``n``. A count over every published problem, so it is cached, keyed by the browse
    generation (questionbank.browse.cache): current after every publish, counted once
    per change."""
    generation = current_generation()
    key = browse_tag_counts_key(generation) if generation is not None else None
    data = cache.get(key) if key else None
    if data is None:
        published = Problem.objects.published().values("pk")
        data = list(
            Tag.objects.annotate(n=Count("problems", filter=Q(problems__in=published)))
            .filter(n__gt=0).order_by("-n", "name").values("name", "slug", "n")
        )
        if key:
            cache.set(key, data, BROWSE_PAGE_SECONDS)
    return data
