"""The call log, as auditors and teachers read it."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Q,
    QuerySet,
)
from django.utils.translation import gettext

from questionbank.models import (
    CallLog,
    CallLogCheckpoint,
    GenerationJob,
    Problem,
    PromptTemplate,
    Solution,
)
from questionbank.permissions import can_audit_calls
from questionbank.services.calllogs import GENESIS_HASH, row_hash
from questionbank.validation import parse_int

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
    value = str(value).strip().lstrip("#")
    number = parse_int(value)
    return -1 if number is None else number  # -1 matches nothing


def calllog_template_ids(value: str) -> list[int]:
    """Template versions named by an id or by part of a name (every version of it)."""

    value = str(value).strip()
    if parse_int(value) is not None:
        return [_as_id(value)]
    return list(PromptTemplate.objects.filter(name__icontains=value).values_list("id", flat=True))


def calllog_user_ids(value: str) -> list[int]:
    """Users named by an id or by an exact username (case-insensitive)."""

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
            plan = json.loads(plan)
        estimate = int(plan[0]["Plan"]["Plan Rows"])
    return max(estimate, capped), True


def calllog_detail(*, pk: int):
    """One call-log row with everything its detail page links to."""

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

    previous = (CallLog.objects.filter(pk__lt=row.pk).order_by("-pk")
                .only("id", "row_hash").first())
    following = (CallLog.objects.filter(pk__gt=row.pk).order_by("pk")
                 .only("id", "prev_hash").first())
    checkpoint = (CallLogCheckpoint.objects.filter(purged_through_id__lt=row.pk)
                  .order_by("-purged_through_id").first())
    if previous is not None and (checkpoint is None or previous.pk > checkpoint.purged_through_id):
        expected_prev, prev_source = previous.row_hash, gettext("row %(number)s") % {
            "number": previous.pk}
    elif checkpoint is not None:
        expected_prev, prev_source = checkpoint.last_hash, gettext(
            "the purge checkpoint (rows up to %(number)s removed)") % {
                "number": checkpoint.purged_through_id}
    else:
        expected_prev, prev_source = GENESIS_HASH, gettext("the start of the chain")
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

    job = GenerationJob.objects.select_related("batch", "problem", "template", "endpoint").get(
        pk=pk)
    owners = {job.created_by_id, job.batch.created_by_id} - {None}
    if not (can_audit_calls(user) or user.pk in owners):
        raise GenerationJob.DoesNotExist
    calls = CallLog.objects.filter(job=job).select_related("endpoint", "template").order_by("id")
    return job, calls
