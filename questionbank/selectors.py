"""Reads for one screen each; they own select_related / prefetch_related."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from questionbank.models import (
    CallLog,
    GenerationBatch,
    GenerationJob,
    ModelEndpoint,
    Problem,
    PromptTemplate,
    Solution,
    SolutionRevision,
    SolutionTransition,
    Tag,
)
from questionbank.search import (
    Matches,
    SearchRequest,
    filter_and_rank,
    in_order,
    match_ids,
)
from questionbank.search import sql_published as search_sql_published
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


# --- Review, templates, batches (teacher pages) -------------------------------------------

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
    risk = Case(
        When(verdict=Solution.Verdict.DISAGREES, then=Value(0)),
        When(majority_share__lt=LOW_MAJORITY_SHARE, then=Value(1)),
        When(verdict__in=[Solution.Verdict.UNCHECKED, Solution.Verdict.NOT_CHECKED],
             then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return (
        qs.annotate(risk=risk)
        .select_related("problem", "template", "endpoint")
        .defer("reasoning", "problem__statement", "problem__statement_html",
               "problem__test_cases")
        .prefetch_related("problem__tags")
        .order_by("risk", F("majority_share").asc(nulls_last=True), "created_at", "id")
    )


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


def endpoints_for_generation() -> QuerySet[ModelEndpoint]:
    """Enabled endpoints (paused ones included: their jobs wait for the pause to end)."""
    return ModelEndpoint.objects.enabled().order_by("name")


def dashboard_review(*, limit: int = 6) -> list[Solution]:
    return list(review_queue()[:limit])


def dashboard_jobs(*, status: str, limit: int = 8) -> list[GenerationJob]:
    qs = GenerationJob.objects.filter(status=status).select_related(
        "problem", "endpoint", "batch"
    ).defer("problem__statement", "problem__statement_html", "partial_text")
    if status == GenerationJob.Status.FAILED:
        qs = qs.order_by(F("finished_at").desc(nulls_last=True), "-id")
    else:
        qs = qs.order_by(F("started_at").asc(nulls_last=True), "id")
    return list(qs[:limit])


def paused_endpoints() -> list[ModelEndpoint]:
    return list(ModelEndpoint.objects.filter(paused_until__gt=timezone.now()).order_by("name"))


def teacher_batch_list() -> QuerySet[GenerationBatch]:
    """Batches newest first, with job counts per state (one query per page)."""
    s = GenerationJob.Status
    return GenerationBatch.objects.select_related("template", "created_by").annotate(
        n_jobs=Count("jobs"),
        n_done=Count("jobs", filter=Q(jobs__status=s.SUCCEEDED)),
        n_failed=Count("jobs", filter=Q(jobs__status=s.FAILED)),
        n_running=Count("jobs", filter=Q(jobs__status=s.RUNNING)),
        n_queued=Count("jobs", filter=Q(jobs__status=s.QUEUED)),
        n_cancelled=Count("jobs", filter=Q(jobs__status=s.CANCELLED)),
    ).order_by("-created_at", "-id")


def batch_jobs(*, batch: GenerationBatch) -> QuerySet[GenerationJob]:
    return (
        batch.jobs.select_related("problem", "endpoint", "solution")
        .defer("problem__statement", "problem__statement_html", "problem__test_cases",
               "solution__reasoning")
        .order_by("id")
    )


def batch_failed_jobs(*, batch: GenerationBatch) -> QuerySet[GenerationJob]:
    return batch_jobs(batch=batch).filter(status=GenerationJob.Status.FAILED)


# --- Call logs (audit; issue 7) -----------------------------------------------------------
# The list must stay fast at millions of rows: it reads only these columns (the request and
# response bodies, headers and reports are deferred) and never counts the whole table.
CALLLOG_LIST_FIELDS = (
    "id", "created_at", "endpoint_id", "endpoint_name", "outcome", "error_class",
    "response_status", "latency_ms", "prompt_tokens", "completion_tokens", "attempt",
    "job_id", "batch_id", "problem_id", "template_id", "user_id",
    "problem__id", "problem__title", "template__id", "template__name", "template__version",
    "user__id", "user__username",
)
# Counting past this many matching rows is replaced by an estimate (see calllog_count).
CALLLOG_COUNT_CAP = 10_000
# When more problems than this match a search, match them with a subquery instead of a list.
# (Past that many, matches are common: walking the newest rows finds a page quickly, while
# fetching every matching row to sort them would not.)
_SEARCH_ID_LIST_MAX = 100


def calllog_list(queryset=None) -> QuerySet:
    """Call-log rows for a list: only the listed columns, problem/template/user joined."""
    from questionbank.models import CallLog

    qs = CallLog.objects.all() if queryset is None else queryset
    return qs.select_related("problem", "template", "user").only(*CALLLOG_LIST_FIELDS)


def calllog_search(queryset, term: str) -> QuerySet:
    """Rows whose problem title or error text contains ``term`` (case-insensitive).

    Matching problems are looked up first so that PostgreSQL can OR two index scans (the
    problem foreign key and the trigram index on the error text) instead of joining every row.
    """
    term = term.strip()
    if not term:
        return queryset
    problem_ids = list(
        Problem.objects.filter(title__icontains=term)
        .values_list("id", flat=True)[: _SEARCH_ID_LIST_MAX + 1]
    )
    if len(problem_ids) > _SEARCH_ID_LIST_MAX:
        by_problem = Q(problem__in=Problem.objects.filter(title__icontains=term).values("id"))
    else:
        by_problem = Q(problem_id__in=problem_ids)
    return queryset.filter(by_problem | Q(error_message__icontains=term))


def calllog_filter(queryset=None, *, since=None, until=None, endpoint: str = "",
                   outcome: str = "", error_class: str = "", template: str = "",
                   batch: str = "", user: str = "", problem: str = "", job: str = "",
                   search: str = "") -> QuerySet:
    """Filter call-log rows the way the admin list and ``export_call_logs`` do.

    ``since``/``until`` are datetimes (``until`` exclusive). ``endpoint`` is an endpoint id or
    name; ``template`` an id or part of a name; ``user`` an id or a username; ``batch``,
    ``problem`` and ``job`` are ids. Empty values do not filter.
    """
    from questionbank.models import CallLog

    qs = CallLog.objects.all() if queryset is None else queryset
    if since is not None or until is not None:
        qs = _calllog_time_range(qs, since, until)
    if endpoint:
        qs = qs.filter(endpoint_id=parse_int(endpoint)) if parse_int(endpoint) is not None \
            else qs.filter(
            endpoint_name=endpoint)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if error_class:
        qs = qs.filter(error_class=error_class)
    if template:
        qs = qs.filter(template_id__in=calllog_template_ids(template))
    if user:
        qs = qs.filter(user_id__in=calllog_user_ids(user))
    for name, value in (("batch_id", batch), ("problem_id", problem), ("job_id", job)):
        if value:
            qs = qs.filter(**{name: _as_id(value)})
    if search:
        qs = calllog_search(qs, search)
    return qs


def _calllog_time_range(qs, since, until):
    """Rows with ``since <= created_at < until``, also bounded by id.

    ``calllog_record`` takes ``created_at`` while holding the chain lock, so ids and times
    rise together. Bounding the id as well lets PostgreSQL walk the primary key from the
    right place instead of scanning every newer row (1.4 s -> a few ms at a million rows).
    """
    from questionbank.models import CallLog

    if since is not None:
        qs = qs.filter(created_at__gte=since)
        first = (CallLog.objects.filter(created_at__gte=since).order_by("created_at", "id")
                 .values_list("id", flat=True).first())
        qs = qs.none() if first is None else qs.filter(id__gte=first)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
        last = (CallLog.objects.filter(created_at__lt=until).order_by("-created_at", "-id")
                .values_list("id", flat=True).first())
        qs = qs.none() if last is None else qs.filter(id__lte=last)
    return qs


def _as_id(value) -> int:
    number = parse_int(value)
    return -1 if number is None else number  # -1 matches nothing


def calllog_template_ids(value: str) -> list[int]:
    """Template versions named by an id or by part of a name (every version of it)."""
    from questionbank.models import PromptTemplate

    value = str(value).strip()
    if parse_int(value) is not None:
        return [_as_id(value)]
    return list(PromptTemplate.objects.filter(name__icontains=value).values_list("id", flat=True))


def calllog_user_ids(value: str) -> list[int]:
    """Users named by an id or by an exact username (case-insensitive)."""
    from django.contrib.auth import get_user_model

    value = str(value).strip()
    if parse_int(value) is not None:
        return [_as_id(value)]
    users = get_user_model().objects.filter(username__iexact=value)
    return list(users.values_list("id", flat=True))


def calllog_error_classes() -> list[str]:
    """The distinct error classes in the log, sorted.

    On PostgreSQL a recursive query hops through the error-class index (a "loose index
    scan"), which reads one index entry per class instead of every row.
    """
    from django.db import connection

    from questionbank.models import CallLog

    if connection.vendor != "postgresql":
        return list(CallLog.objects.exclude(error_class="").order_by("error_class")
                    .values_list("error_class", flat=True).distinct())
    table = CallLog._meta.db_table
    sql = f"""
        WITH RECURSIVE classes(name) AS (
            (SELECT error_class FROM {table} WHERE error_class > '' ORDER BY error_class LIMIT 1)
            UNION ALL
            SELECT (SELECT error_class FROM {table} WHERE error_class > classes.name
                    ORDER BY error_class LIMIT 1)
            FROM classes WHERE classes.name IS NOT NULL
        )
        SELECT name FROM classes WHERE name IS NOT NULL"""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def calllog_count(queryset) -> tuple[int, bool]:
    """How many rows ``queryset`` has, as ``(count, is_estimate)``, without a full count.

    Up to CALLLOG_COUNT_CAP rows are counted exactly. Past that PostgreSQL's planner
    estimate is used (``pg_class.reltuples`` for the whole table, the plan's row estimate
    for a filtered list); other databases count.
    """
    from django.db import connection

    capped = queryset.order_by()[: CALLLOG_COUNT_CAP + 1].count()
    if capped <= CALLLOG_COUNT_CAP:
        return capped, False
    if connection.vendor != "postgresql":
        return queryset.count(), False
    query = queryset.order_by().query
    if not query.where:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                           [queryset.model._meta.db_table])
            row = cursor.fetchone()
        estimate = int(row[0]) if row and row[0] and row[0] > 0 else 0
    else:
        sql, params = queryset.order_by().values("id").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            import json

            plan = json.loads(plan)
        estimate = int(plan[0]["Plan"]["Plan Rows"])
    return max(estimate, capped), True


def calllog_detail(*, pk: int):
    """One call-log row with everything its detail page links to."""
    from questionbank.models import CallLog

    return CallLog.objects.select_related(
        "endpoint", "job", "batch", "problem", "template", "user"
    ).get(pk=pk)


def calllog_solutions(*, row) -> list[Solution]:
    """Solutions produced by this call (or by its job)."""
    q = Q(call_log_id=row.pk)
    if row.job_id:
        q |= Q(job_id=row.job_id)
    return list(Solution.objects.filter(q).only("id", "status", "problem_id").order_by("id"))


def calllog_chain_position(*, row) -> dict:
    """Where ``row`` sits in the hash chain and whether it links up on both sides.

    Checks the row's own hash, that ``prev_hash`` is the previous kept row's hash (or the
    newest purge checkpoint's, or the genesis hash), and that the next row points back at it.
    A whole-chain check is ``services.calllogs.calllog_verify``.
    """
    from questionbank.models import CallLog, CallLogCheckpoint
    from questionbank.services.calllogs import GENESIS_HASH, row_hash

    previous = (CallLog.objects.filter(pk__lt=row.pk).order_by("-pk")
                .only("id", "row_hash").first())
    following = (CallLog.objects.filter(pk__gt=row.pk).order_by("pk")
                 .only("id", "prev_hash").first())
    checkpoint = (CallLogCheckpoint.objects.filter(purged_through_id__lt=row.pk)
                  .order_by("-purged_through_id").first())
    if previous is not None and (checkpoint is None or previous.pk > checkpoint.purged_through_id):
        expected_prev, prev_source = previous.row_hash, f"row {previous.pk}"
    elif checkpoint is not None:
        expected_prev, prev_source = checkpoint.last_hash, (
            f"the purge checkpoint (rows up to {checkpoint.purged_through_id} removed)")
    else:
        expected_prev, prev_source = GENESIS_HASH, "the start of the chain"
    computed = row_hash(row)
    floor = checkpoint.purged_through_id if checkpoint else 0
    return {
        # An index-only count of the kept rows up to this one (tens of ms at a million).
        "position": CallLog.objects.filter(pk__gt=floor, pk__lte=row.pk).count(),
        "previous": previous,
        "next": following,
        "checkpoint": checkpoint,
        "computed_hash": computed,
        "hash_ok": computed == row.row_hash,
        "prev_ok": row.prev_hash == expected_prev,
        "prev_source": prev_source,
        "next_ok": following is None or following.prev_hash == row.row_hash,
        "ok": computed == row.row_hash and row.prev_hash == expected_prev
        and (following is None or following.prev_hash == row.row_hash),
    }


def job_calls_for(*, user, pk: int):
    """``(job, calls)`` for a job the user may audit: their own job, or any job for an auditor.

    Raises ``GenerationJob.DoesNotExist`` for a job that is not there or not theirs, so the
    view answers 404 either way and does not reveal other teachers' jobs.
    """
    from questionbank.models import CallLog
    from questionbank.permissions import can_audit_calls

    job = GenerationJob.objects.select_related("batch", "problem", "template", "endpoint").get(
        pk=pk)
    owners = {job.created_by_id, job.batch.created_by_id} - {None}
    if not (can_audit_calls(user) or user.pk in owners):
        raise GenerationJob.DoesNotExist
    calls = CallLog.objects.filter(job=job).select_related("endpoint", "template").order_by("id")
    return job, calls


# --- Students browse published problems (issue 6) --------------------------------------

# Columns a list row shows: never the statement, its HTML or the test cases.
BROWSE_ROW_FIELDS = ("id", "title", "kind", "difficulty", "created_at")
# The tag counts are an aggregate over every published problem: cached, not per request.
BROWSE_TAG_COUNTS_SECONDS = 300


def browse_tag_counts_key() -> str:
    """Per database, so test runs and dev servers sharing the file cache never mix."""
    from django.db import connection

    return f"browse:tag-counts:v1:{connection.settings_dict['NAME']}"


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


def browse_rows(ids) -> list[BrowseRow]:
    """List rows for ``ids`` (published only), in that order, with their tags: two
    queries whatever the number of ids."""
    from django.db import connection

    ids = list(ids)
    if not ids:
        return []
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT p.id, p.title, p.kind, p.difficulty FROM questionbank_problem p "
                       f"WHERE p.id IN ({marks}) AND {search_sql_published()}", ids)
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
    from django.db import connection

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
    """A list queryset widened for printing: statements, and the published solutions
    (best first, in ``published_solutions``) when asked. Two or three queries in all."""
    qs = qs.only(*BROWSE_ROW_FIELDS, "statement_html")
    if solutions:
        qs = qs.prefetch_related(Prefetch(
            "solutions", to_attr="published_solutions",
            queryset=_browse_solutions(),
        ))
    return qs


def _browse_solutions() -> QuerySet[Solution]:
    return (Solution.objects.published().select_related("current_revision")
            .only("id", "problem_id", "final_answer", "is_best", "published_at",
                  "from_standin", "current_revision__id", "current_revision__body_html")
            .order_by("-is_best", "-published_at", "-id"))


def browse_problem_detail(*, pk: int) -> Problem:
    """A published problem with its tags; ``Problem.DoesNotExist`` for anything a student
    may not see (no published solution, archived, or no such problem)."""
    return (Problem.objects.published().defer("test_cases", "statement", "reference_answer")
            .prefetch_related(_browse_tags_prefetch()).get(pk=pk))


def browse_published_solution(*, problem: Problem) -> Solution | None:
    """The explanation students read: the best published solution, else the newest."""
    return _browse_solutions().filter(problem=problem).first()


# The detail page in two indexed queries (problem + its best published solution and
# revision HTML; its tags) written as SQL: through the ORM the same reads took five
# queries and ~10 ms of query building per request, twenty times the database's time.
_BROWSE_PAGE_SQL = (
    "SELECT p.id, p.title, p.kind, p.difficulty, p.statement_html, p.created_at, "
    "s.id, s.final_answer, s.from_standin, r.id, r.body_html "
    "FROM questionbank_problem p JOIN questionbank_solution s ON s.id = ("
    " SELECT s2.id FROM questionbank_solution s2 WHERE s2.problem_id = p.id"
    " AND s2.status = 'published' ORDER BY s2.is_best DESC, s2.published_at DESC, s2.id DESC"
    " LIMIT 1) "
    "LEFT JOIN questionbank_solutionrevision r ON r.id = s.current_revision_id "
    "WHERE p.id = %s AND p.status <> 'archived'"
)
_BROWSE_PAGE_TAGS_SQL = (
    "SELECT t.id, t.name, t.slug FROM questionbank_tag t JOIN questionbank_problem_tags pt "
    "ON pt.tag_id = t.id WHERE pt.problem_id = %s ORDER BY t.name"
)
# Newest-order neighbours of one problem among all visible problems: ranges on
# created_at (answered by the problem_newest index), ties removed on the wrong side.
_BROWSE_NEIGHBOURS_SQL = (
    "SELECT * FROM (SELECT 0, p.id, p.title FROM questionbank_problem p "
    " WHERE p.created_at >= %s AND NOT (p.created_at = %s AND p.id <= %s)"
    f" AND {search_sql_published()} ORDER BY p.created_at, p.id LIMIT 1) a "
    "UNION ALL "
    "SELECT * FROM (SELECT 1, p.id, p.title FROM questionbank_problem p "
    " WHERE p.created_at <= %s AND NOT (p.created_at = %s AND p.id >= %s)"
    f" AND {search_sql_published()} ORDER BY p.created_at DESC, p.id DESC LIMIT 1) b"
)


def browse_problem_page(*, pk: int) -> Problem:
    """A published problem for its page: ``problem.tag_list`` (Tags),
    ``problem.solution`` (the best published Solution, else the newest, with
    ``current_revision.body_html``) and ``problem.created_raw`` (for neighbours).
    ``Problem.DoesNotExist`` for anything a student may not see. Two queries."""
    from django.db import connection

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
    problem.created_raw = created
    problem.tag_list = tags
    solution = Solution(id=sid, problem_id=pid, final_answer=answer, from_standin=standin,
                        status=Solution.Status.PUBLISHED)
    solution.current_revision = (SolutionRevision(id=rid, solution_id=sid, body_html=body_html)
                                 if rid is not None else None)
    problem.solution = solution
    return problem


def _as_datetime(value):
    """SQLite's cursor returns timestamps as text; PostgreSQL's as aware datetimes."""
    from datetime import UTC

    if isinstance(value, str):
        from django.utils.dateparse import parse_datetime

        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def browse_newest_neighbours(*, problem: Problem) -> tuple[dict | None, dict | None]:
    """The visible problems just newer and just older than ``problem`` (from
    browse_problem_page), as ``{"pk", "title"}``: one query."""
    from django.db import connection

    c = problem.created_raw
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
    ``n``. Cached for BROWSE_TAG_COUNTS_SECONDS (a count over every published problem)."""
    from django.core.cache import cache

    key = browse_tag_counts_key()
    data = cache.get(key)
    if data is None:
        published = Problem.objects.published().values("pk")
        data = list(
            Tag.objects.annotate(n=Count("problems", filter=Q(problems__in=published)))
            .filter(n__gt=0).order_by("-n", "name").values("name", "slug", "n")
        )
        cache.set(key, data, BROWSE_TAG_COUNTS_SECONDS)
    return data



def batch_progress(batch) -> dict:
    """Where a generation batch stands, for the batch page and the admin.

    Returns ``counts`` (jobs per status), ``total``, ``done`` (finished in any way),
    ``remaining``, ``finished`` (bool), ``eta_seconds`` (``None`` until a call has
    finished or when nothing remains: remaining jobs x the mean observed call duration /
    the calls the batch's endpoints run at once), ``running`` (one dict per running job:
    ``id``, ``problem_id``, ``problem_title``, ``sample_index``, ``endpoint``,
    ``attempts``, ``elapsed_seconds``, ``partial_text``) and ``paused`` (pause messages
    of the batch's endpoints, e.g. "paused: 3 failures, retrying at 14:05").
    """
    from django.db.models import Avg, Count, DurationField, ExpressionWrapper
    from django.db.models import F as _F
    from django.utils import timezone

    from questionbank.models import GenerationJob as Job

    statuses = Job.Status
    counts = {s.value: 0 for s in statuses}
    for status, n in (Job.objects.filter(batch=batch).values_list("status")
                      .annotate(n=Count("id")).values_list("status", "n")):
        counts[status] = n
    total = sum(counts.values())
    remaining = counts[statuses.QUEUED] + counts[statuses.RUNNING]
    now = timezone.now()
    running = [
        {
            "id": job.pk,
            "problem_id": job.problem_id,
            "problem_title": job.problem.title,
            "sample_index": job.sample_index,
            "endpoint": job.endpoint.name if job.endpoint else "",
            "attempts": job.attempts,
            "elapsed_seconds": (now - job.started_at).total_seconds() if job.started_at else 0.0,
            "partial_text": job.partial_text,
        }
        for job in Job.objects.filter(batch=batch, status=statuses.RUNNING)
        .select_related("problem", "endpoint").order_by("started_at", "id")
    ]
    endpoints = list(batch.endpoints.all())
    eta = None
    if remaining:
        mean = (
            Job.objects.filter(batch=batch, status=statuses.SUCCEEDED, started_at__isnull=False,
                               finished_at__isnull=False)
            .aggregate(d=Avg(ExpressionWrapper(_F("finished_at") - _F("started_at"),
                                               output_field=DurationField())))["d"]
        )
        if mean is not None:
            parallel = max(1, min(remaining, sum(e.max_concurrency for e in endpoints
                                                 if e.enabled) or 1))
            eta = remaining * mean.total_seconds() / parallel
            if running:  # the running ones are partly done already
                eta = max(0.0, eta - sum(r["elapsed_seconds"] for r in running) / parallel)
    return {
        "counts": counts,
        "total": total,
        "done": total - remaining,
        "remaining": remaining,
        "finished": remaining == 0,
        "eta_seconds": eta,
        "running": running,
        "paused": [f"{e.name}: {e.pause_message()}" for e in endpoints if e.is_paused],
    }


# Statistics periods: how far back, the bucket the chart is drawn in, and its width.
CALLLOG_STATS_PERIODS = {
    "day": ("Last 24 hours", 1, "hour", 1),
    "week": ("Last 7 days", 7, "hour", 1),
    "month": ("Last 30 days", 30, "day", 1),
}


@dataclass
class CallStats:
    """Figures for one group of calls (an endpoint, a template version, or all calls)."""

    key: object = None
    label: str = ""
    calls: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    completion_tokens: int = 0
    generation_ms: int = 0
    by_class: list = None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None

    @property
    def error_percent(self) -> str:
        rate = self.error_rate
        if rate is None:
            return "—"
        return "<0.1%" if 0 < rate < 0.001 else f"{rate * 100:.1f}%"

    @property
    def tokens_per_second(self) -> float | None:
        if not self.generation_ms:
            return None
        return self.completion_tokens / (self.generation_ms / 1000)


def _percentile(sorted_values: list, fraction: float) -> float | None:
    """Linear interpolation, as PostgreSQL's percentile_cont."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _stats_aggregates(postgres: bool) -> dict:
    from django.db.models import Aggregate, Field, Sum

    from questionbank.models import CallLog

    class Percentiles(Aggregate):
        # Both percentiles from one sort: percentile_cont(ARRAY[0.5, 0.95]).
        function = "percentile_cont"
        template = "%(function)s(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY %(expressions)s)"
        output_field = Field()  # psycopg hands back a Python list: no conversion

    timed = Q(outcome=CallLog.Outcome.SUCCESS, completion_tokens__isnull=False,
              latency_ms__gt=0)
    # COUNT(*), not COUNT(id): every column read here is in the covering index of
    # migration 0009 (PostgreSQL), so the statistics never touch the table itself.
    aggregates = {
        "calls": Count("*"),
        "errors": Count("outcome", filter=Q(outcome=CallLog.Outcome.ERROR)),
        "n_tokens": Sum("completion_tokens", filter=timed),
        "n_generation_ms": Sum("latency_ms", filter=timed),
    }
    if postgres:
        aggregates["n_percentiles"] = Percentiles("latency_ms")
    return aggregates


def _grouped_stats(qs, key: str, postgres: bool) -> dict:
    """``{key value: CallStats}`` for rows of ``qs`` grouped by ``key`` (None: all rows)."""
    from questionbank.models import CallLog

    aggregates = _stats_aggregates(postgres)
    if key is None:
        rows = [{"k": None, **qs.aggregate(**aggregates)}]
    else:
        rows = qs.values(k=F(key)).annotate(**aggregates).order_by()
    groups = {}
    for row in rows:
        stats = CallStats(key=row["k"], calls=row["calls"], errors=row["errors"],
                          p50_ms=(row.get("n_percentiles") or [None, None])[0],
                          p95_ms=(row.get("n_percentiles") or [None, None])[1],
                          completion_tokens=row["n_tokens"] or 0,
                          generation_ms=row["n_generation_ms"] or 0, by_class=[])
        groups[row["k"]] = stats
    if not postgres:
        latencies: dict = {}
        lat_qs = qs.filter(latency_ms__isnull=False)
        pairs = (lat_qs.values_list(key, "latency_ms") if key
                 else ((None, v) for v in lat_qs.values_list("latency_ms", flat=True)))
        for k, latency in pairs:
            latencies.setdefault(k, []).append(latency)
        for k, values in latencies.items():
            values.sort()
            if k in groups:
                groups[k].p50_ms = _percentile(values, 0.5)
                groups[k].p95_ms = _percentile(values, 0.95)
    errors = qs.filter(outcome=CallLog.Outcome.ERROR)
    by_class = (errors.values(k=F(key), cls=F("error_class")) if key
                else errors.values(cls=F("error_class")))
    for row in by_class.annotate(n=Count("*")).order_by("-n"):
        stats = groups.get(row.get("k"))
        if stats is not None:
            stats.by_class.append((row["cls"] or "unclassified", row["n"],
                                   row["n"] / stats.calls if stats.calls else 0))
    return groups


def calllog_stats(*, period: str = "day", now=None) -> dict:
    """Call statistics over one period, overall, per endpoint and per template version.

    Each group gives calls, errors by class, latency p50/p95 (percentile_cont on
    PostgreSQL, the same interpolation in Python elsewhere) and tokens per second
    (completion tokens over the latency of successful calls that reported tokens). The
    ``series`` is one bucket per hour / 6 hours / day for the chart.
    """
    from datetime import timedelta

    from django.db import connection, transaction

    from questionbank.models import CallLog

    if period not in CALLLOG_STATS_PERIODS:
        period = "day"
    label, days, trunc, step = CALLLOG_STATS_PERIODS[period]
    now = now or timezone.now()
    since = now - timedelta(days=days)
    postgres = connection.vendor == "postgresql"
    qs = CallLog.objects.filter(created_at__gte=since, created_at__lte=now)

    with transaction.atomic():
        if postgres:
            # Sorting a month of latencies for the percentiles: in memory, not on disk.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")
        return _calllog_stats(qs, postgres, period, label, since, now, trunc, step)


def _calllog_stats(qs, postgres, period, label, since, now, trunc, step) -> dict:
    from datetime import timedelta

    from django.db.models.functions import Trunc

    total = _grouped_stats(qs, None, postgres).get(None, CallStats(by_class=[]))
    endpoints = _grouped_stats(qs, "endpoint_name", postgres)
    for name, stats in endpoints.items():
        stats.label = name or "(no endpoint)"
    templates = _grouped_stats(qs, "template_id", postgres)
    names = {t.pk: str(t) for t in PromptTemplate.objects.filter(pk__in=[k for k in templates if k])
             .only("id", "name", "version")}
    for pk, stats in templates.items():
        stats.label = names.get(pk, "(no template)" if pk is None else f"template {pk}")

    # The chart: calls and errors per bucket, p50/p95 latency per bucket.
    tz = timezone.get_current_timezone()
    bucketed = qs.annotate(b=Trunc("created_at", trunc, tzinfo=tz))
    series_rows = _grouped_stats(bucketed, "b", postgres)
    width = timedelta(hours=step) if trunc == "hour" else timedelta(days=step)
    start = timezone.localtime(since, tz).replace(minute=0, second=0, microsecond=0)
    if trunc == "day":
        start = start.replace(hour=0)
    start = start.replace(hour=start.hour - start.hour % step) if trunc == "hour" else start
    buckets = []
    moment = start
    while moment <= now:
        buckets.append({"start": moment, "calls": 0, "errors": 0, "p50_ms": None,
                        "p95_ms": None})
        moment += width
    for key, stats in series_rows.items():
        if key is None:
            continue
        index = int((key - start) // width)
        if 0 <= index < len(buckets):
            bucket = buckets[index]
            bucket["calls"], bucket["errors"] = stats.calls, stats.errors
            bucket["p50_ms"], bucket["p95_ms"] = stats.p50_ms, stats.p95_ms
    return {
        "period": period,
        "label": label,
        "since": since,
        "until": now,
        "total": total,
        "endpoints": sorted(endpoints.values(), key=lambda s: -s.calls),
        "templates": sorted(templates.values(), key=lambda s: -s.calls),
        "series": buckets,
        "bucket_label": trunc if step == 1 else f"{step} {trunc}s",
    }


def calllog_checkpoints(*, limit: int = 10):
    """The newest purge checkpoints of the call-log chain."""
    from questionbank.models import CallLogCheckpoint

    return list(CallLogCheckpoint.objects.order_by("-purged_through_id")[:limit])


# --- Import / export (issue 8) -------------------------------------------------------------


def problems_for_export(*, ids=None, tag: str = "", kind: str = "", status: str = "",
                        q: str = "", with_solutions: bool = False):
    """Problems to export, oldest first, with tags and (when asked) their published
    solutions prefetched as ``export_solutions`` (best first, then newest)."""
    from django.db.models import Prefetch as _Prefetch
    from django.db.models import Q as _Q

    from questionbank.models import Problem as _Problem
    from questionbank.models import Solution as _Solution

    qs = _Problem.objects.all()
    if ids:
        qs = qs.filter(pk__in=list(ids))
    if tag:
        qs = qs.filter(_Q(tags__slug=tag) | _Q(tags__name__iexact=tag)).distinct()
    if kind in _Problem.Kind.values:
        qs = qs.filter(kind=kind)
    if status in _Problem.Status.values:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(_Q(title__icontains=q) | _Q(statement__icontains=q))
    prefetches = ["tags"]
    if with_solutions:
        prefetches.append(_Prefetch(
            "solutions",
            queryset=_Solution.objects.published().select_related("current_revision")
            .order_by("-is_best", "-published_at", "-pk"),
            to_attr="export_solutions",
        ))
    return qs.prefetch_related(*prefetches).order_by("pk")
