"""Call-log statistics for the auditors' charts, read from the pre-aggregated
``CallLogStat`` buckets (``services/calllog_stats.py``) instead of the rows.

A period [since, now] is read as: whole UTC days from the day buckets, the hours around
them from the hour buckets, and the part-hour at the start from the rows themselves (at
most an hour of rows), so the counts are exact; p50/p95 come from the latency histograms
(within 1 %), added up by the database. The month's chart has one bar per UTC day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from questionbank.models import (
    CallLog,
    CallLogCheckpoint,
    CallLogStat,
    PromptTemplate,
)
from questionbank.services.calllog_stats import (
    DAY,
    HOUR,
    STAT_VALUES,
    Tally,
    bucket_value,
    calllog_rows_tally,
    span_start,
)

CALLLOG_STATS_PERIODS = {
    "day": (gettext_lazy("Last 24 hours"), 1, "hour", 1),
    "week": (gettext_lazy("Last 7 days"), 7, "hour", 1),
    "month": (gettext_lazy("Last 30 days"), 30, "day", 1),
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


PERCENTS = (50, 95)


def histogram_percentiles(latencies: dict) -> list:
    """p50 and p95 of a ``{bucket: count}`` histogram, interpolated linearly between the
    buckets' values as PostgreSQL's percentile_cont does between rows."""
    items = sorted((int(k), n) for k, n in latencies.items() if n)
    total = sum(n for _k, n in items)
    if not total:
        return [None for _p in PERCENTS]
    ranges, upto = [], 0
    for bucket, count in items:
        ranges.append((upto, upto + count, bucket))
        upto += count
    return _percentiles_from_ranges(total, ranges)


def _stats_of(key, tally: Tally) -> CallStats:
    # Percentiles of the whole hours come from the database (``_grouped``); only the
    # part-hour at the start is then left out of them. Otherwise from the histogram.
    p50, p95 = getattr(tally, "percentiles", None) or histogram_percentiles(tally.latencies)
    by_class = [(cls or "unclassified", n, n / tally.calls if tally.calls else 0)
                for cls, n in sorted(tally.error_classes.items(), key=lambda kv: -kv[1])]
    return CallStats(key=key, calls=tally.calls, errors=tally.errors, p50_ms=p50, p95_ms=p95,
                     completion_tokens=tally.tokens, generation_ms=tally.generation_ms,
                     by_class=by_class)


def _window(lo, hi) -> Q:
    """Buckets covering [lo, hi]: ``lo`` on an hour; whole days, and the current day up to
    ``hi`` (nothing is logged in the future), from day buckets; the hours before the first
    midnight from hour buckets."""
    first_day = span_start(lo, DAY)
    if first_day < lo:
        first_day += timedelta(days=1)
    last_day = span_start(hi, DAY)
    if first_day > last_day:  # lo and hi on the same day, lo after its midnight
        return Q(span=HOUR, start__gte=lo, start__lte=hi)
    return (Q(span=DAY, start__gte=first_day, start__lte=last_day)
            | Q(span=HOUR, start__gte=lo, start__lt=first_day))


def _json_sums_sql(queryset, column: str) -> tuple[str, list]:
    """SQL giving ``(key, name, total)``: the ``column`` JSON objects of ``queryset``'s
    buckets added up per key by the database (json_each)."""
    inner, params = queryset.annotate(k=F("key"), c=F(column)).values_list(
        "k", "c").query.sql_with_params()
    each = ("jsonb_each_text(q.c)" if connection.vendor == "postgresql" else "json_each(q.c)")
    return (f"SELECT q.k AS k, j.key AS name, SUM(CAST(j.value AS bigint)) AS n "
            f"FROM ({inner}) q, {each} j GROUP BY q.k, j.key"), list(params)


def _summed_json(queryset, column: str) -> dict:
    """``{key: {name: total}}`` for a small JSON column (the error classes)."""
    sql, params = _json_sums_sql(queryset, column)
    sums: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for key, name, total in cursor.fetchall():
            sums.setdefault(key, {})[name] = int(total)
    return sums


def _percentile_buckets(queryset) -> dict:
    """``{key: {index: bucket}}``: for each key, the latency buckets holding the rows at
    the indexes p50 and p95 interpolate between, found by the database with running sums
    over the added-up histograms (a month of histograms never reaches Python)."""
    sums, params = _json_sums_sql(queryset, "latencies")
    wanted = " OR ".join(
        f"(upto - n <= {index} AND {index} < upto)"
        for percent in PERCENTS for index in (f"(total - 1) * {percent} / 100",
                                              f"(total - 1) * {percent} / 100 + 1"))
    sql = (f"WITH h AS ({sums}), c AS (SELECT k, CAST(name AS integer) AS b, n, "
           "SUM(n) OVER (PARTITION BY k ORDER BY CAST(name AS integer)) AS upto, "
           "SUM(n) OVER (PARTITION BY k) AS total FROM h) "
           f"SELECT k, b, upto - n, upto, total FROM c WHERE {wanted}")
    found: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for key, bucket, before, upto, total in cursor.fetchall():
            found.setdefault(key, {"total": int(total), "ranges": []})["ranges"].append(
                (int(before), int(upto), bucket))
    return found


def _percentiles_from_ranges(total: int, ranges) -> list:
    results = []
    for percent in PERCENTS:
        low_index, remainder = divmod((total - 1) * percent, 100)
        values = []
        for wanted in (low_index, min(low_index + 1, total - 1)):
            values.append(next(bucket_value(b) for before, upto, b in ranges
                               if before <= wanted < upto))
        results.append(values[0] + (values[1] - values[0]) * remainder / 100)
    return results


def _grouped(window: Q, head: dict, dimension: str) -> dict:
    """``{key: Tally}`` of one dimension over the window, plus the rows of the first
    part-hour (``head``: tallies of those rows)."""
    buckets = CallLogStat.objects.filter(window, dimension=dimension)
    groups: dict = {}
    for key, calls, errors, tokens, generation_ms in buckets.values("key").annotate(
            n=Sum("calls"), e=Sum("errors"), t=Sum("tokens"), g=Sum("generation_ms")
    ).values_list("key", "n", "e", "t", "g").order_by():
        groups[key] = Tally(calls, errors, tokens, generation_ms)
    for key, sums in _summed_json(buckets, "error_classes").items():
        groups[key].error_classes.update(sums)
    for key, found in _percentile_buckets(buckets).items():
        groups[key].percentiles = _percentiles_from_ranges(found["total"], found["ranges"])
    for (_span, _start, dim, key), tally in head.items():
        if dim == dimension:
            groups.setdefault(key, Tally()).merge(tally)
    return groups


def calllog_stats(*, period: str = "day", now=None) -> dict:
    """Call statistics over one period, overall, per endpoint and per template version.

    Each group gives calls, errors by class, latency p50/p95 and tokens per second
    (completion tokens over the latency of successful calls that reported tokens). The
    ``series`` is one bucket per hour (day, week) or per day (month) for the chart.
    """
    if period not in CALLLOG_STATS_PERIODS:
        period = "day"
    label, days, trunc, step = CALLLOG_STATS_PERIODS[period]
    now = now or timezone.now()
    since = now - timedelta(days=days)
    whole_from = span_start(since, HOUR)
    if whole_from < since:
        whole_from += timedelta(hours=1)
    # The part-hour at the start, from the rows (at most an hour of them).
    head = calllog_rows_tally(
        CallLog.objects.filter(created_at__gte=since, created_at__lt=whole_from), spans=(HOUR,))
    window = _window(whole_from, now)

    total = _grouped(window, head, "all").get("", Tally())
    endpoints = {key: _stats_of(key, t) for key, t in _grouped(window, head, "endpoint").items()}
    for name, stats in endpoints.items():
        stats.label = name or gettext("(no endpoint)")
    templates = {int(k) if k else None: _stats_of(int(k) if k else None, t)
                 for k, t in _grouped(window, head, "template").items()}
    names = {t.pk: str(t) for t in PromptTemplate.objects.filter(pk__in=[k for k in templates if k])
             .only("id", "name", "version")}
    for pk, stats in templates.items():
        stats.label = names.get(pk, gettext("(no template)") if pk is None
                                else gettext("template %(number)s") % {"number": pk})

    # The chart: one bucket per hour (from the hour buckets), or per UTC day for a month
    # (from the day buckets, and the hours at either end), of all calls.
    tz = timezone.get_current_timezone()
    if trunc == "day":
        width, start = timedelta(days=step), span_start(since, DAY)
        chart = CallLogStat.objects.filter(window, dimension="all")
    else:
        width = timedelta(hours=step)
        start = timezone.localtime(since, tz).replace(minute=0, second=0, microsecond=0)
        chart = CallLogStat.objects.filter(span=HOUR, dimension="all", start__gte=whole_from,
                                           start__lte=now)
    tallies = []
    moment = start
    while moment <= now:
        tallies.append(Tally())
        moment += width
    rows = list(chart.values_list("start", *STAT_VALUES))
    rows += [(key[1], *(getattr(t, name) for name in STAT_VALUES))
             for key, t in head.items() if key[2] == "all"]
    for moment, *values in rows:
        if trunc == "day":
            index = (span_start(moment, DAY) - start) // width
        else:
            local = timezone.localtime(moment, tz)
            index = int((local.replace(tzinfo=None) - start.replace(tzinfo=None)) // width)
        if 0 <= index < len(tallies):
            tallies[index].merge_values(*values)
    buckets = []
    for index, tally in enumerate(tallies):
        p50, p95 = histogram_percentiles(tally.latencies)
        buckets.append({"start": start + index * width, "calls": tally.calls,
                        "errors": tally.errors, "p50_ms": p50, "p95_ms": p95})
    return {
        "period": period,
        "label": label,
        "since": since,
        "until": now,
        "total": _stats_of(None, total),
        "endpoints": sorted(endpoints.values(), key=lambda s: -s.calls),
        "templates": sorted(templates.values(), key=lambda s: -s.calls),
        "series": buckets,
        "bucket_label": ({"hour": gettext("hour"), "day": gettext("day")}[trunc] if step == 1
                         else ngettext("%(n)d hours", "%(n)d hours", step) % {"n": step}
                         if trunc == "hour"
                         else ngettext("%(n)d days", "%(n)d days", step) % {"n": step}),
    }


def calllog_checkpoints(*, limit: int = 10):
    """The newest purge checkpoints of the call-log chain."""

    return list(CallLogCheckpoint.objects.order_by("-purged_through_id")[:limit])
