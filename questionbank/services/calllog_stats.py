"""Pre-aggregated call-log statistics (``CallLogStat``): per hour, per day and per week
(UTC; weeks start on Monday), for all calls, per endpoint name and per template, so a month
of statistics reads a few hundred small rows instead of every call (issue 14, "Audit at a
million rows"): mostly weeks, with days and hours only at the start.

``calllog_stats_add`` runs inside ``calllog_record``'s transaction, while the chain head is
locked, so writers never race on a bucket. ``calllog_stats_rebuild`` recomputes the table
from the rows (``manage.py rebuild_call_log_stats``), for a log from before migration 0022
or rows inserted by other means.

Latencies are kept as a histogram: exact below 100 ms, above it in buckets 2 % wide
(``latency_bucket``), so p50/p95 read from it are within 1 % of the exact figure (a bucket's
value is within a factor e^(1/100) of its rows: 1.005 % at worst).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction

from questionbank.models import CallLog, CallLogStat

HOUR, DAY, WEEK = "hour", "day", "week"
SPANS = (HOUR, DAY, WEEK)
SPAN_LENGTH = {HOUR: timedelta(hours=1), DAY: timedelta(days=1), WEEK: timedelta(weeks=1)}
_EXACT_BELOW = 100
_STEPS_PER_E = 50  # buckets per factor e: each about 2 % wide


def latency_bucket(ms: int) -> int:
    """The histogram bucket of a latency: the value itself below 100 ms, above it
    100 + round(50 × ln(ms / 100))."""
    if ms < _EXACT_BELOW:
        return max(ms, 0)
    return _EXACT_BELOW + round(_STEPS_PER_E * math.log(ms / _EXACT_BELOW))


def bucket_value(bucket: int) -> float:
    """The latency a bucket stands for (its centre)."""
    if bucket < _EXACT_BELOW:
        return float(bucket)
    return _EXACT_BELOW * math.exp((bucket - _EXACT_BELOW) / _STEPS_PER_E)


def span_start(moment: datetime, span: str) -> datetime:
    """The start of the hour, day or week (Monday 00:00 UTC) that holds ``moment``."""
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if span == HOUR:
        return moment
    day = moment.replace(hour=0)
    return day if span == DAY else day - timedelta(days=day.weekday())


@dataclass
class Tally:
    """The figures of one bucket, as accumulated from rows."""

    calls: int = 0
    errors: int = 0
    tokens: int = 0
    generation_ms: int = 0
    latencies: Counter = field(default_factory=Counter)
    error_classes: Counter = field(default_factory=Counter)

    def add(self, outcome, error_class, latency_ms, completion_tokens) -> None:
        self.calls += 1
        if outcome == CallLog.Outcome.ERROR:
            self.errors += 1
            self.error_classes[error_class or ""] += 1
        if latency_ms is not None:
            self.latencies[str(latency_bucket(latency_ms))] += 1
        if (outcome == CallLog.Outcome.SUCCESS and completion_tokens is not None
                and latency_ms):
            self.tokens += completion_tokens
            self.generation_ms += latency_ms

    def merge(self, other) -> None:
        """Add a ``Tally`` or a ``CallLogStat`` row to this one."""
        self.merge_values(other.calls, other.errors, other.tokens, other.generation_ms,
                          other.latencies, other.error_classes)

    def merge_values(self, calls, errors, tokens, generation_ms, latencies,
                     error_classes) -> None:
        """Add figures in ``STAT_VALUES`` order."""
        self.calls += calls
        self.errors += errors
        self.tokens += tokens
        self.generation_ms += generation_ms
        self.latencies.update(latencies)
        self.error_classes.update(error_classes)


# A CallLogStat row's figures, in the order merge_values takes them.
STAT_VALUES = ("calls", "errors", "tokens", "generation_ms", "latencies", "error_classes")


def stat_keys(endpoint_name: str, template_id) -> tuple[tuple[str, str], ...]:
    """The (dimension, key) pairs a row counts towards."""
    return (("all", ""), ("endpoint", endpoint_name or ""),
            ("template", "" if template_id is None else str(template_id)))


_ROW_FIELDS = ("created_at", "endpoint_name", "template_id", "outcome", "error_class",
               "latency_ms", "completion_tokens")


def _tally_rows(rows, spans=SPANS) -> dict:
    """``{(span, start, dimension, key): Tally}`` for rows of ``_ROW_FIELDS`` values."""
    tallies: dict = {}
    for created_at, endpoint_name, template_id, outcome, error_class, latency, tokens in rows:
        for span in spans:
            start = span_start(created_at, span)
            for dimension, key in stat_keys(endpoint_name, template_id):
                tally = tallies.get((span, start, dimension, key))
                if tally is None:
                    tally = tallies[(span, start, dimension, key)] = Tally()
                tally.add(outcome, error_class, latency, tokens)
    return tallies


def calllog_stats_add(row: CallLog) -> None:
    """Count one new row in its hour, day and week buckets (called by ``calllog_record``)."""
    tallies = _tally_rows([tuple(getattr(row, name) for name in _ROW_FIELDS)])
    existing = {(s.span, s.start.astimezone(UTC), s.dimension, s.key): s
                for s in CallLogStat.objects.filter(
                    span__in=SPANS, start__in={k[1] for k in tallies},
                    dimension__in=("all", "endpoint", "template"),
                    key__in={k[3] for k in tallies})}
    changed, created = [], []
    for bucket, tally in tallies.items():
        stat = existing.get(bucket)
        if stat is None:
            created.append(_as_stat(bucket, tally))
            continue
        merged = Tally(stat.calls, stat.errors, stat.tokens, stat.generation_ms,
                       Counter(stat.latencies), Counter(stat.error_classes))
        merged.merge(tally)
        _copy_tally(stat, merged)
        changed.append(stat)
    if changed:
        CallLogStat.objects.bulk_update(changed, ["calls", "errors", "tokens", "generation_ms",
                                                  "latencies", "error_classes"])
    if created:
        CallLogStat.objects.bulk_create(created)


def _copy_tally(stat: CallLogStat, tally: Tally) -> None:
    stat.calls, stat.errors = tally.calls, tally.errors
    stat.tokens, stat.generation_ms = tally.tokens, tally.generation_ms
    stat.latencies, stat.error_classes = dict(tally.latencies), dict(tally.error_classes)


def _as_stat(bucket, tally: Tally) -> CallLogStat:
    span, start, dimension, key = bucket
    stat = CallLogStat(span=span, start=start, dimension=dimension, key=key)
    _copy_tally(stat, tally)
    return stat


def calllog_rows_tally(queryset, spans=SPANS) -> dict:
    """Tally the rows of ``queryset`` (streamed, in id order)."""
    rows = queryset.order_by("id").values_list(*_ROW_FIELDS).iterator(chunk_size=5000)
    return _tally_rows(rows, spans)


def calllog_stats_rebuild(*, batch_size: int = 2000) -> int:
    """Recompute every statistics bucket from the call log; returns the buckets written.
    Holds the chain head, so no row is written (and counted twice) meanwhile."""
    from questionbank.models import CallLogChainHead

    with transaction.atomic():
        CallLogChainHead.objects.select_for_update().filter(id=1).first()
        tallies = calllog_rows_tally(CallLog.objects.all())
        CallLogStat.objects.all().delete()
        CallLogStat.objects.bulk_create(
            (_as_stat(bucket, tally) for bucket, tally in tallies.items()),
            batch_size=batch_size)
    return len(tallies)
