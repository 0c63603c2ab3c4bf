"""Call-log statistics for the auditors' charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Count,
    F,
    Field,
    Q,
    Sum,
)
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from questionbank.models import (
    CallLog,
    CallLogCheckpoint,
    PromptTemplate,
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


def _percentile(sorted_values: list, fraction: float) -> float | None:
    """Linear interpolation, as PostgreSQL's percentile_cont."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _stats_aggregates(postgres: bool) -> dict:


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

    total = _grouped_stats(qs, None, postgres).get(None, CallStats(by_class=[]))
    endpoints = _grouped_stats(qs, "endpoint_name", postgres)
    for name, stats in endpoints.items():
        stats.label = name or gettext("(no endpoint)")
    templates = _grouped_stats(qs, "template_id", postgres)
    names = {t.pk: str(t) for t in PromptTemplate.objects.filter(pk__in=[k for k in templates if k])
             .only("id", "name", "version")}
    for pk, stats in templates.items():
        stats.label = names.get(pk, gettext("(no template)") if pk is None
                                else gettext("template %(number)s") % {"number": pk})

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
        "bucket_label": ({"hour": gettext("hour"), "day": gettext("day")}[trunc] if step == 1
                         else ngettext("%(n)d hours", "%(n)d hours", step) % {"n": step}
                         if trunc == "hour"
                         else ngettext("%(n)d days", "%(n)d days", step) % {"n": step}),
    }


def calllog_checkpoints(*, limit: int = 10):
    """The newest purge checkpoints of the call-log chain."""

    return list(CallLogCheckpoint.objects.order_by("-purged_through_id")[:limit])
