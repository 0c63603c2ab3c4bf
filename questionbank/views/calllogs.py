"""Call-log pages: a teacher's view of the calls behind one of their jobs, and the pieces
of the admin's call-log pages (detail, statistics with server-drawn SVG charts, tamper check).

The admin routes (``admin/calllogs.py``) check the audit permission; ``job_calls`` lets a
teacher see only their own jobs. Bodies are model output and user text: they are shown
escaped in ``<pre>``, never rendered.
"""

from __future__ import annotations

import contextlib
import json

from django.http import Http404
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy, ngettext

from questionbank import selectors
from questionbank.models import GenerationJob
from questionbank.permissions import teacher_required
from questionbank.sanitize_words import describe_report
from questionbank.services.calllogs import REDACTED

# The detail page shows at most this many characters of a body, pretty-printed; the whole
# body is one click away as plain text.
PRETTY_LIMIT = 200_000


# --- Formatting -------------------------------------------------------------------------------


def format_ms(ms) -> str:
    if ms is None:
        return "—"
    if ms < 1000:
        return gettext("%(ms)d ms") % {"ms": ms}
    seconds = ms / 1000
    if seconds < 60:
        return gettext("%(s).1f s") % {"s": seconds}
    minutes, seconds = divmod(int(round(seconds)), 60)
    return gettext("%(m)d min %(s)02d s") % {"m": minutes, "s": seconds}


# What each error class is called on the pages (the class name stays in the call log).
_ERROR_WORDS = {
    "ConnectFailed": gettext_lazy("Could not reach the server"),
    "ReplyCutOff": gettext_lazy("Reply cut off"),
    "TimedOut": gettext_lazy("Timed out"),
    "HTTPStatusError": gettext_lazy("Server error"),
    "AuthFailed": gettext_lazy("Login to the server refused"),
    "ServerReportedError": gettext_lazy("The server reported an error"),
    "MalformedReply": gettext_lazy("Reply not understood"),
    "EmptyReply": gettext_lazy("Empty reply"),
    "ReplyTooLarge": gettext_lazy("Reply too large"),
    "TruncatedOutput": gettext_lazy("Stopped at the token limit"),
    "LayoutError": gettext_lazy("The server's form does not fit"),
    "SanitizationError": gettext_lazy("Prompt refused before sending"),
    "UnexpectedError": gettext_lazy("Unexpected error in the question bank"),
    "WorkerLost": gettext_lazy("The worker stopped during the call"),
}


def result_label(row) -> str:
    """"200 OK" for a success; for a failure, what went wrong in words, and the HTTP
    status the server answered with, if any ("Reply cut off after the server answered
    200 OK")."""
    if row.outcome == row.Outcome.SUCCESS:
        return f"{row.response_status} OK" if row.response_status else "OK"
    words = _ERROR_WORDS.get(row.error_class)
    label = str(words) if words is not None else (row.error_class or gettext("Error"))
    if not row.response_status:
        return label
    if row.response_status == 200:
        return gettext("%(label)s after the server answered 200 OK") % {"label": label}
    return gettext("%(label)s (the server answered HTTP %(status)s)") % {
        "label": label, "status": row.response_status}


def format_size(size: int) -> str:
    if size < 1024:
        return ngettext("%(n)d byte", "%(n)d bytes", size) % {"n": size}
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def pretty_body(text: str | None) -> dict:
    """How to show a request or response body: JSON indented, an event stream one event per
    block with JSON data indented, anything else as text. Capped at PRETTY_LIMIT characters."""
    text = text or ""
    info = {"size": len(text), "replacements": text.count("\ufffd"), "truncated": False}
    if not text.strip():
        return {**info, "kind": "empty", "text": ""}
    kind, shown = "text", text
    if len(text) <= PRETTY_LIMIT * 2:
        try:
            shown = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            kind = "json"
        except ValueError:
            events = _pretty_events(text)
            if events is not None:
                kind, shown = "events", events
    if len(shown) > PRETTY_LIMIT:
        shown = shown[:PRETTY_LIMIT]
        info["truncated"] = True
    return {**info, "kind": kind, "text": shown}


def _pretty_events(text: str) -> str | None:
    """A server-sent event stream (Gradio's /call and streaming OpenAI replies), or None."""
    lines = text.splitlines()
    if not any(line.startswith(("data:", "event:")) for line in lines[:5]):
        return None
    out = []
    for line in lines:
        if line.startswith("data:"):
            payload = line[5:].strip()
            with contextlib.suppress(ValueError):
                payload = json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
            out.append(f"data: {payload}")
        else:
            out.append(line)
    return "\n".join(out)


def header_rows(headers) -> list[tuple[str, str, bool]]:
    """``(name, value, redacted)`` for each stored request header, sorted by name."""
    if not isinstance(headers, dict):
        return []
    return [(str(k), str(v), v == REDACTED) for k, v in sorted(headers.items())]


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # a page another part of the site has not added (yet)
        return ""


def _absolute(obj) -> str:
    try:
        return obj.get_absolute_url()
    except NoReverseMatch:
        return ""


def call_detail_context(row, *, admin: bool) -> dict:
    """Everything the detail page of one call shows."""
    tokens_per_s = None
    if row.completion_tokens and row.latency_ms:
        tokens_per_s = row.completion_tokens / (row.latency_ms / 1000)
    links = []
    if row.job_id:
        job = gettext("Job %(number)s") % {"number": row.job_id}
        links.append((gettext("Job"), f"{job} ({row.job.get_status_display()})" if row.job
                      else gettext("%(job)s (deleted)") % {"job": job},
                      _url("admin:questionbank_generationjob_change", row.job_id) if row.job
                      else "", _absolute(row.job) if row.job else ""))
    if row.batch_id:
        links.append((gettext("Batch"), str(row.batch) if row.batch
                      else gettext("Batch %(number)s") % {"number": row.batch_id},
                      _url("admin:questionbank_generationbatch_change", row.batch_id)
                      if row.batch else "", _absolute(row.batch) if row.batch else ""))
    for solution in selectors.calllog_solutions(row=row):
        links.append((gettext("Solution"), gettext("Solution %(number)s (%(status)s)") % {
                          "number": solution.pk, "status": solution.get_status_display()},
                      _url("admin:questionbank_solution_change", solution.pk),
                      _absolute(solution)))
    if row.problem_id:
        version = (gettext(", version %(version)s") % {"version": row.problem_version}
                   if row.problem_version else "")
        links.append((gettext("Problem"),
                      (row.problem.title if row.problem else gettext("(deleted)")) + version,
                      _url("admin:questionbank_problem_change", row.problem_id)
                      if row.problem else "", _absolute(row.problem) if row.problem else ""))
    if row.template_id:
        links.append((gettext("Template version"),
                      str(row.template) if row.template else gettext("(deleted)"),
                      _url("admin:questionbank_prompttemplate_change", row.template_id)
                      if row.template else "", _absolute(row.template) if row.template else ""))
    if row.endpoint_id:
        links.append((gettext("Endpoint"), row.endpoint_name,
                      _url("admin:questionbank_modelendpoint_change", row.endpoint_id), ""))
    if row.user_id:
        links.append((gettext("User"),
                      row.user.get_username() if row.user else gettext("(deleted)"),
                      _url("admin:auth_user_change", row.user_id) if admin else "", ""))
    report = row.sanitize_report if isinstance(row.sanitize_report, dict) else {}
    return {
        "row": row,
        "result": result_label(row),
        "latency": format_ms(row.latency_ms),
        "tokens_per_s": tokens_per_s,
        "response_size": format_size(row.response_size or 0),
        "links": links,
        "headers": header_rows(row.request_headers),
        "request": pretty_body(row.request_body),
        "response": pretty_body(row.response_body),
        "report": report,
        "report_json": json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True),
        "report_changes": describe_report(report),
        "chain": selectors.calllog_chain_position(row=row) if admin else None,
    }


# --- Charts: inline SVG drawn here, no JavaScript, no CDN -------------------------------------


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 760, 200, 52, 12, 12, 30


def _frame(y_max: float, unit: str, buckets: list, time_format: str) -> list:
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    parts = []
    for fraction in (0, 0.5, 1):
        y = _TOP + plot_h * (1 - fraction)
        value = y_max * fraction
        label = f"{value:g}{unit}" if value < 1000 else f"{value / 1000:g}k{unit}"
        parts.append(format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" class="grid"/>'
            '<text x="{}" y="{}" class="axis" text-anchor="end">{}</text>',
            _LEFT, _W - _RIGHT, f"{y:.1f}", f"{y:.1f}", _LEFT - 6, f"{y + 4:.1f}", label))
    n = len(buckets)
    if n:
        for i in sorted({0, n // 4, n // 2, 3 * n // 4, n - 1}):
            x = _LEFT + plot_w * (i + 0.5) / n
            text = timezone.localtime(buckets[i]["start"]).strftime(time_format)
            parts.append(format_html('<text x="{}" y="{}" class="axis" text-anchor="middle">{}'
                                     '</text>', f"{x:.1f}", _H - 10, text))
    return parts


def calls_chart(buckets: list, *, time_format: str) -> str:
    """Stacked bars: successful calls and errors per bucket."""
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    y_max = _nice_ceiling(max((b["calls"] for b in buckets), default=0))
    parts = _frame(y_max, "", buckets, time_format)
    n = max(len(buckets), 1)
    bar = plot_w / n
    gap = 1 if bar > 4 else 0
    for i, b in enumerate(buckets):
        if not b["calls"]:
            continue
        x = _LEFT + i * bar
        ok_h = plot_h * (b["calls"] - b["errors"]) / y_max
        err_h = plot_h * b["errors"] / y_max
        tip = gettext("%(when)s: %(calls)s calls, %(errors)s errors") % {
            "when": f"{timezone.localtime(b['start']):%Y-%m-%d %H:%M}", "calls": b["calls"],
            "errors": b["errors"]}
        parts.append(format_html(
            '<g><title>{}</title><rect class="ok" x="{}" y="{}" width="{}" height="{}"/>'
            '<rect class="err" x="{}" y="{}" width="{}" height="{}"/></g>',
            tip, f"{x:.1f}", f"{_TOP + plot_h - ok_h:.1f}", f"{max(bar - gap, 0.5):.1f}",
            f"{ok_h:.1f}", f"{x:.1f}", f"{_TOP + plot_h - ok_h - err_h:.1f}",
            f"{max(bar - gap, 0.5):.1f}", f"{err_h:.1f}"))
    return _svg(parts, gettext("Calls over time: successful calls in blue, errors in red"))


def latency_chart(buckets: list, *, time_format: str) -> str:
    """Lines: median and 95th-percentile latency per bucket, in seconds."""
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    highest = max((b["p95_ms"] or 0 for b in buckets), default=0) / 1000
    y_max = _nice_ceiling(highest)
    parts = _frame(y_max, " s", buckets, time_format)
    n = max(len(buckets), 1)
    for name, css in (("p95_ms", "p95"), ("p50_ms", "p50")):
        segment: list[str] = []
        segments = [segment]
        for i, b in enumerate(buckets):
            if b[name] is None:
                segment = []
                segments.append(segment)
                continue
            x = _LEFT + plot_w * (i + 0.5) / n
            y = _TOP + plot_h * (1 - (b[name] / 1000) / y_max)
            segment.append(f"{x:.1f},{y:.1f}")
        for points in segments:
            if len(points) == 1:
                x, y = points[0].split(",")
                parts.append(format_html('<circle class="{}" cx="{}" cy="{}" r="2"/>', css, x, y))
            elif points:
                parts.append(format_html('<polyline class="{}" points="{}"/>', css,
                                         " ".join(points)))
    return _svg(parts, gettext("Latency over time: median (p50) and 95th percentile (p95), "
                              "in seconds"))


def _svg(parts: list, label: str) -> str:
    return format_html(
        '<svg class="qb-chart" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg">{}</svg>',
        _W, _H, label, mark_safe("".join(parts)))  # parts come from format_html


# --- Pages ------------------------------------------------------------------------------------

_TIME_FORMATS = {"day": "%H:%M", "week": "%a %d", "month": "%d %b"}


def statistics(request, *, context: dict):
    """The admin's statistics page (routed and permission-checked by the call-log admin)."""
    period = request.GET.get("period", "day")
    stats = selectors.calllog_stats(period=period)
    fmt = _TIME_FORMATS[stats["period"]]
    for group in [stats["total"], *stats["endpoints"], *stats["templates"]]:
        group.p50_label = format_ms(None if group.p50_ms is None else round(group.p50_ms))
        group.p95_label = format_ms(None if group.p95_ms is None else round(group.p95_ms))
    context.update(
        stats=stats,
        periods=[(key, value[0]) for key, value in selectors.CALLLOG_STATS_PERIODS.items()],
        calls_svg=calls_chart(stats["series"], time_format=fmt),
        latency_svg=latency_chart(stats["series"], time_format=fmt),
        changelist_url=reverse("admin:questionbank_calllog_changelist"),
    )
    return TemplateResponse(request, "admin/questionbank/calllog/statistics.html", context)


def recent_checkpoints(limit: int = 10):
    return selectors.calllog_checkpoints(limit=limit)


@teacher_required
def job_calls(request, pk: int):
    """The calls made for one of the teacher's own jobs (any job, for an auditor)."""
    try:
        job, calls = selectors.job_calls_for(user=request.user, pk=pk)
    except GenerationJob.DoesNotExist:
        raise Http404(gettext("There is no job with that number among your jobs.")) from None
    items = [call_detail_context(call, admin=False) for call in calls[:50]]
    return render(request, "calllogs/job_calls.html", {
        "job": job,
        "items": items,
        "job_url": _absolute(job),
        "problem_url": _absolute(job.problem),
    })
