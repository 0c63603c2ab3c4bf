"""Call-log statistics for the auditors' charts, read from the pre-aggregated
``CallLogStat`` buckets (``services/calllog_stats.py``) instead of the rows.

A period [since, now] is read as: whole UTC weeks from the week buckets, the days and
hours before the first of them from the day and hour buckets, and the part-hour at the
start from the rows themselves (at most an hour of rows), so the counts are exact; p50/p95
come from the latency histograms (within 1 %, see services/calllog_stats.py). The month's
chart has one bar per UTC day.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import timedelta
from itertools import accumulate, pairwise

from django.db.models import Q
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
    SPAN_LENGTH,
    SPANS,
    STAT_VALUES,
    WEEK,
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
    buckets = [bucket for bucket, _n in items]
    upto = list(accumulate(n for _bucket, n in items))  # rows in this bucket and before
    total = upto[-1] if upto else 0
    if not total:
        return [None for _p in PERCENTS]

    def value_at(index: int) -> float:  # the value of the row at ``index``, sorted
        return bucket_value(buckets[bisect_right(upto, index)])

    results = []
    for percent in PERCENTS:
        low_index, remainder = divmod((total - 1) * percent, 100)
        low, high = value_at(low_index), value_at(min(low_index + 1, total - 1))
        results.append(low + (high - low) * remainder / 100)
    return results


def _stats_of(key, tally: Tally) -> CallStats:
    p50, p95 = histogram_percentiles(tally.latencies)
    by_class = [(cls or "unclassified", n, n / tally.calls if tally.calls else 0)
                for cls, n in sorted(tally.error_classes.items(), key=lambda kv: -kv[1])]
    return CallStats(key=key, calls=tally.calls, errors=tally.errors, p50_ms=p50, p95_ms=p95,
                     completion_tokens=tally.tokens, generation_ms=tally.generation_ms,
                     by_class=by_class)


def _window(lo, hi, coarsest: str = WEEK) -> Q:
    """Buckets covering [lo, hi] (``lo`` on an hour) without overlap: the coarsest whole
    spans, and finer ones only at the start (hours up to the first midnight, days up to
    the first Monday). The span holding ``hi`` is read whole: nothing is logged after
    ``hi``, which is now."""
    cover, edge = Q(), lo
    for fine, coarse in pairwise(SPANS[:SPANS.index(coarsest) + 1]):
        boundary = span_start(edge, coarse)
        if boundary < edge:
            boundary += SPAN_LENGTH[coarse]
        if boundary > hi:  # no whole coarse span: the fine ones reach hi
            return cover | Q(span=fine, start__gte=edge, start__lte=hi)
        cover |= Q(span=fine, start__gte=edge, start__lt=boundary)
        edge = boundary
    return cover | Q(span=coarsest, start__gte=edge, start__lte=hi)


def _grouped(window: Q, head: dict) -> dict:
    """``{dimension: {key: Tally}}`` over the window's buckets and the rows of the first
    part-hour (``head``: tallies of those rows).

    One query reads the buckets and Python adds them up. A month at a million rows is a
    few hundred buckets, nine in ten of them per template; adding their histograms up with
    ``Counter.update`` costs no more CPU than PostgreSQL's ``jsonb_each`` and ``GROUP BY``
    did in three queries a dimension (bench/call_log.py --stats-only), and it is the same
    code on SQLite.
    """
    groups: dict = {"all": {}, "endpoint": {}, "template": {}}
    buckets = CallLogStat.objects.filter(window).values_list(
        "dimension", "key", *STAT_VALUES).order_by()
    for dimension, key, *values in buckets:
        groups[dimension].setdefault(key, Tally()).merge_values(*values)
    for (_span, _start, dimension, key), tally in head.items():
        groups[dimension].setdefault(key, Tally()).merge(tally)
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
    groups = _grouped(_window(whole_from, now), head)
    total = groups["all"].get("", Tally())
    endpoints = {key: _stats_of(key, t) for key, t in groups["endpoint"].items()}
    for name, stats in endpoints.items():
        stats.label = name or gettext("(no endpoint)")
    templates = {int(k) if k else None: _stats_of(int(k) if k else None, t)
                 for k, t in groups["template"].items()}
    names = {t.pk: str(t) for t in PromptTemplate.objects.filter(pk__in=[k for k in templates if k])
             .only("id", "name", "version")}
    for pk, stats in templates.items():
        stats.label = names.get(pk, gettext("(no template)") if pk is None
                                else gettext("template %(number)s") % {"number": pk})

    # The chart: one bucket per hour (from the hour buckets), or per UTC day for a month
    # (day buckets, and hour buckets before the first midnight), of all calls.
    tz = timezone.get_current_timezone()
    if trunc == "day":
        width, start = timedelta(days=step), span_start(since, DAY)
        window = _window(whole_from, now, coarsest=DAY)
    else:
        width = timedelta(hours=step)
        start = timezone.localtime(since, tz).replace(minute=0, second=0, microsecond=0)
        window = Q(span=HOUR, start__gte=whole_from, start__lte=now)
    rows = list(CallLogStat.objects.filter(window, dimension="all")
                .values_list("start", *STAT_VALUES))
    tallies = []
    moment = start
    while moment <= now:
        tallies.append(Tally())
        moment += width
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
