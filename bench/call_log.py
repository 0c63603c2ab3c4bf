"""Benchmark the call-log admin at 1,000,000 rows on PostgreSQL, in one run.

    .venv/bin/python bench/call_log.py [--rows 1000000] [--reps 5] [--refill] [--audit-only]
                                         [--stats-only]

Uses its own database (BENCH_DB, default qb_bench_calllog, on BENCH_PG, default
postgres://postgres@127.0.0.1:5432): migrates it, fills it with SQL (INSERT ... SELECT
generate_series, reused on the next run when the row count matches, unless --refill), then
makes the chain valid with ``rekey_call_log --accept-broken`` (the SQL writes fake hashes)
and builds the statistics buckets with ``rebuild_call_log_stats``; each step is timed.

The audit (issue 14), each figure beside its goal and beside PostgreSQL's own
``COPY ... TO STDOUT`` of the same rows in the same run: the export of every row (CSV,
through the admin's streamed response; speed at least 0.25 x COPY's, with flat memory),
the statistics for a month (under 300 ms), and the tamper check as the background task
runs it (rows per second).

Then, as a logged-in superuser through Django's test client, it times the call-log
changelist with no filter, each filter, a search and a deep page (median and max of
--reps runs), the detail and statistics pages, and the export of every row as CSV (time and
peak memory, in a child process via export_call_logs, and through the admin's streamed
response in this process). The anchor, in the same run: a stock ModelAdmin over the same
table (full counts, every column, dropdown filters), the lead's starting point.
Goal: every list page under 500 ms.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_NAME = os.environ.get("BENCH_DB", "qb_bench_calllog")
BASE = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
os.environ["DATABASE_URL"] = f"{BASE}/{DB_NAME}"
os.environ.setdefault("QB_DEBUG", "1")  # dev static storage; DEBUG itself is turned off below
os.environ.setdefault("QB_ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "questionbank.settings")


from bench._db import ensure_database  # noqa: E402

ensure_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib import admin  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import path  # noqa: E402

settings.DEBUG = False  # no query log in the timings

from questionbank.models import (  # noqa: E402
    CallLog,
    GenerationBatch,
    GenerationJob,
    ModelEndpoint,
    Problem,
    PromptTemplate,
)

ERROR_CLASSES = ["TimedOut", "ConnectFailed", "HTTPStatusError", "ServerReportedError",
                 "MalformedReply", "EmptyReply"]


def seed_small_tables() -> dict:
    """Users, endpoints, templates, problems, batches and jobs the call log points at."""
    User = get_user_model()
    if not User.objects.filter(username="bench-admin").exists():
        User.objects.create_superuser("bench-admin", "b@example.com", "bench")
    User.objects.bulk_create([User(username=f"teacher{i:03d}", is_staff=True)
                              for i in range(300)], ignore_conflicts=True)
    if not ModelEndpoint.objects.exists():
        from questionbank.services.endpoints import endpoint_create
        for i in range(5):
            endpoint_create(name=f"gpu-{i}", base_url=f"http://10.0.0.{i}:7860",
                            protocol="gradio")
    if not PromptTemplate.objects.exists():
        from questionbank.services.templates import template_create
        for i in range(60):
            template_create(name=f"Template {i:02d}",
                            user_prompt="{statement}\n\nReason step by step; answer in "
                                        "\\boxed{}.")
    if not Problem.objects.exists():
        Problem.objects.bulk_create([
            Problem(title=f"Problem {i}: {'integrals' if i % 7 else 'primes'} and more",
                    statement=f"Compute {i}+1.", statement_html=f"<p>Compute {i}+1.</p>",
                    reference_answer=str(i + 1), status=Problem.Status.READY)
            for i in range(5000)
        ], batch_size=1000)
    if not GenerationBatch.objects.exists():
        templates = list(PromptTemplate.objects.values_list("id", flat=True))
        users = list(User.objects.values_list("id", flat=True))
        GenerationBatch.objects.bulk_create([
            GenerationBatch(name=f"batch {i}", template_id=templates[i % len(templates)],
                            created_by_id=users[i % len(users)]) for i in range(2000)
        ], batch_size=1000)
    if not GenerationJob.objects.exists():
        with connection.cursor() as c:
            c.execute("""
                INSERT INTO questionbank_generationjob (batch_id, problem_id, template_id,
                    sample_index, problem_version, endpoint_id, status, attempts, max_attempts,
                    claimed_by, last_error, error_class, warnings, partial_text, created_by_id,
                    created_at)
                SELECT b.id, p.id, b.template_id, 0, 1, NULL, 'succeeded', 1, 5, '', '', '',
                       '[]'::jsonb, '', b.created_by_id, now()
                FROM questionbank_generationbatch b
                JOIN LATERAL (SELECT id FROM questionbank_problem
                              ORDER BY id OFFSET (b.id * 37) % 4990 LIMIT 25) p ON true""")
    return {"jobs": GenerationJob.objects.count()}


def fill_call_log(rows: int) -> None:
    """INSERT ... SELECT generate_series: hashes are fake (md5-based), not a valid chain."""
    with connection.cursor() as c:
        c.execute("TRUNCATE questionbank_calllog RESTART IDENTITY CASCADE")
        c.execute(f"""
            WITH e AS (SELECT array_agg(id ORDER BY id) a, array_agg(name ORDER BY id) n
                       FROM questionbank_modelendpoint),
                 j AS (SELECT array_agg(id ORDER BY id) a FROM questionbank_generationjob)
            INSERT INTO questionbank_calllog (created_at, endpoint_id, endpoint_name, protocol,
                method, url, route, server_version, request_headers, request_body,
                response_status, response_body, response_size, outcome, error_class,
                error_message, retryable, latency_ms, prompt_tokens, completion_tokens, attempt,
                sanitize_report, job_id, batch_id, problem_id, problem_version, template_id,
                user_id, prev_hash, row_hash)
            SELECT now() - interval '120 days' * (1 - g::float / {rows}),
                   e.a[1 + g % 5], e.n[1 + g % 5], 'gradio', 'POST',
                   'http://gpu:7860/gradio_api/call/chat', 'call', '5.9.1',
                   '{{"Accept": "application/json", "Authorization": "[redacted]"}}'::jsonb,
                   '{{"data": ["' || repeat(md5(g::text), 20) || '", 0.6, 16384]}}',
                   CASE WHEN g % 20 = 0 THEN 502 ELSE 200 END,
                   CASE WHEN g % 20 = 0 THEN '' ELSE
                     'event: complete' || chr(10) || 'data: ["' ||
                     (SELECT string_agg(md5(g::text || k::text), ' ')
                      FROM generate_series(1, 40) k) || '"]' END,
                   1500,
                   CASE WHEN g % 20 = 0 THEN 'error' ELSE 'success' END,
                   CASE WHEN g % 20 = 0 THEN (ARRAY{ERROR_CLASSES!r})[1 + (g / 20) % 6]
                        ELSE '' END,
                   CASE WHEN g % 20 = 0 THEN 'The model server did not answer (attempt '
                        || (g % 3 + 1) || ', code ' || md5(g::text) || ').' ELSE '' END,
                   CASE WHEN g % 20 = 0 THEN true ELSE NULL END,
                   200 + ((g::bigint * 7919) % 60000)::int, 120 + g % 400, 300 + (g * 31) % 8000, 1,
                   '{{"user": {{"changed": false}}}}'::jsonb,
                   jb.id, jb.batch_id, jb.problem_id, 1, jb.template_id, jb.created_by_id,
                   md5((g - 1)::text) || md5((g - 1)::text), md5(g::text) || md5(g::text)
            FROM generate_series(1, {rows}) g
            CROSS JOIN e CROSS JOIN j
            LEFT JOIN questionbank_generationjob jb
                   ON jb.id = j.a[(1 + (g::bigint * 2654435761) % array_length(j.a, 1))::int]
                  AND g % 10 <> 0""")
        c.execute("SELECT max(id), max(row_hash) FROM questionbank_calllog")
        last_id, last_hash = c.fetchone()
        c.execute("DELETE FROM questionbank_calllogchainhead")
        c.execute("INSERT INTO questionbank_calllogchainhead (id, last_id, last_hash, mac, "
                  "key_id) VALUES (1, %s, %s, '', '')", [last_id, last_hash])
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE questionbank_calllog")


class StockCallLogAdmin(admin.ModelAdmin):
    """The anchor: what Django gives with the obvious options."""

    list_display = ("id", "created_at", "endpoint_name", "outcome", "error_class", "latency_ms",
                    "completion_tokens", "problem", "template", "user")
    list_filter = ("endpoint", "outcome", "error_class", "created_at", "template", "batch",
                   "user")
    list_select_related = ("problem", "template", "user")
    search_fields = ("problem__title", "error_message")
    change_list_template = "admin/change_list.html"  # not ours (it links to our pages)


def install_anchor_site() -> None:
    from questionbank import urls as project_urls

    stock = admin.AdminSite(name="stock")
    stock.register(CallLog, StockCallLogAdmin)
    module = types.ModuleType("bench_calllog_urls")
    module.urlpatterns = [path("stock/", stock.urls), *project_urls.urlpatterns]
    sys.modules["bench_calllog_urls"] = module
    settings.ROOT_URLCONF = "bench_calllog_urls"


def timed(client: Client, url: str, reps: int) -> tuple[float, float, int]:
    times = []
    status = 0
    for _ in range(reps):
        start = time.perf_counter()
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            for _chunk in response.streaming_content:
                pass
        times.append((time.perf_counter() - start) * 1000)
        status = response.status_code
    return statistics.median(times), max(times), status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--audit-only", action="store_true",
                        help="Only the audit figures (export vs COPY, statistics, tamper "
                             "check), not the list pages.")
    parser.add_argument("--stats-only", action="store_true",
                        help="Only the statistics for a month (function and page).")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    seed_small_tables()
    if args.refill or CallLog.objects.count() != args.rows:
        print(f"Filling {args.rows:,} call-log rows with SQL ...", flush=True)
        fill_call_log(args.rows)
        print(f"  filled in {time.perf_counter() - start:.0f} s", flush=True)
        for command, options in (("rekey_call_log", {"accept_broken": True}),
                                 ("rebuild_call_log_stats", {})):
            step = time.perf_counter()
            call_command(command, stdout=io.StringIO(), **options)
            print(f"  {command}: {time.perf_counter() - step:.0f} s", flush=True)
        with connection.cursor() as c:
            c.execute("VACUUM ANALYZE questionbank_calllog")
        print(f"  generation in all: {time.perf_counter() - start:.0f} s", flush=True)
    with connection.cursor() as c:
        c.execute("SELECT pg_size_pretty(pg_total_relation_size('questionbank_calllog'))")
        size = c.fetchone()[0]
    install_anchor_site()
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-admin"))
    if args.stats_only:
        audit_stats(client, args.reps)
        return
    if args.audit_only:
        audit(client, args.reps, export=not args.skip_export)
        return

    some = CallLog.objects.filter(job__isnull=False).order_by("-id").only(
        "id", "endpoint_id", "template_id", "batch_id", "user_id", "problem_id", "job_id").first()
    template = PromptTemplate.objects.get(pk=some.template_id)
    username = get_user_model().objects.get(pk=some.user_id).username
    problem_title = Problem.objects.get(pk=some.problem_id).title
    mid_error = CallLog.objects.filter(outcome="error").order_by("id").values_list(
        "error_message", flat=True)[args.rows // 40]
    base = "/admin/questionbank/calllog/"
    cases = [
        ("no filter", ""),
        ("page 2", "?p=2"),
        ("page 1000 (deep)", "?p=1000"),
        ("endpoint", f"?endpoint__id__exact={some.endpoint_id}"),
        ("outcome = error", "?outcome__exact=error"),
        ("error class", "?error_class=TimedOut"),
        ("date: last 7 days", "?since=" + _days_ago(7)),
        ("date: a day 60 days ago", f"?since={_days_ago(60)[:10]}&until={_days_ago(60)[:10]}"),
        ("template (id)", f"?template={template.pk}"),
        ("template (name)", f"?template={template.name.replace(' ', '+')}"),
        ("batch", f"?batch={some.batch_id}"),
        ("user", f"?user={username}"),
        ("problem", f"?problem={some.problem_id}"),
        ("job", f"?job={some.job_id}"),
        ("endpoint + error + 30 days",
         f"?endpoint__id__exact={some.endpoint_id}&outcome__exact=error&since={_days_ago(30)}"),
        ("search: problem title", "?q=" + problem_title.replace(" ", "+").replace(":", "%3A")),
        ("search: error text (1 row)", "?q=" + mid_error.split("code ")[1].rstrip(").")),
        ("search: common word", "?q=primes"),
        ("detail page", f"{some.pk}/change/"),
    ]
    print(f"\nCall-log admin on PostgreSQL: {CallLog.objects.order_by().count():,} rows "
          f"({size}); {args.reps} runs each, Django test client, logged-in superuser.")
    print(f"{'page':40} {'median ms':>10} {'max ms':>10}  status")
    worst = 0.0
    for label, query in cases:
        median, high, status = timed(client, base + query, args.reps)
        worst = max(worst, median)
        flag = "" if median < 500 else "  <-- over 500 ms"
        print(f"{label:40} {median:10.1f} {high:10.1f}  {status}{flag}", flush=True)
    for period in ("day", "week", "month"):
        median, high, status = timed(client, f"{base}statistics/?period={period}", 2)
        print(f"{'statistics: ' + period:40} {median:10.1f} {high:10.1f}  {status}", flush=True)

    print("\nAnchor: a stock ModelAdmin on the same table (full count, all columns, "
          "dropdown filters)")
    for label, query in (("no filter", ""), ("outcome = error", "?outcome__exact=error"),
                         ("search: common word", "?q=primes")):
        median, high, status = timed(client, "/stock/questionbank/calllog/" + query, 2)
        print(f"{'stock: ' + label:40} {median:10.1f} {high:10.1f}  {status}", flush=True)
    print(f"\nWorst median of ours: {worst:.0f} ms (goal: under 500 ms).")

    if args.skip_export:
        return
    print("\nExport of every row:")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "export_call_logs", "--format", "csv",
                    "--output", os.devnull], cwd=ROOT, check=True,
                   env=dict(os.environ, QB_LOG_LEVEL="WARNING"))
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"  export_call_logs --format csv: {seconds:.1f} s, peak RSS of the process "
          f"{max(rss, before) / 1024:.0f} MB")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    response = client.get(base + "export/jsonl/")
    size = 0
    for chunk in response.streaming_content:
        size += len(chunk)
    seconds = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"  admin export (JSON Lines, streamed): {seconds:.1f} s, {size / 1e9:.2f} GB, "
          f"peak RSS of this process {rss_before / 1024:.0f} MB before, "
          f"{rss_after / 1024:.0f} MB after")
    import tracemalloc

    tracemalloc.start()
    response = client.get(base + "export/csv/?since=" + _days_ago(12))
    rows = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  admin export of the last 12 days (~{rows:,} lines) under tracemalloc: "
          f"peak Python allocations {peak / 1e6:.1f} MB")


def copy_anchor() -> tuple[float, int]:
    """PostgreSQL's own COPY ... TO STDOUT of the export's columns, every row, as CSV."""
    from questionbank.services.calllog_export import EXPORT_FIELDS

    columns = ", ".join(EXPORT_FIELDS)
    size = 0
    start = time.perf_counter()
    sql = (f"COPY (SELECT {columns} FROM questionbank_calllog ORDER BY id) "
           "TO STDOUT WITH (FORMAT csv, HEADER)")
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for data in copy:
            size += len(data)
    return time.perf_counter() - start, size


def audit(client: Client, reps: int, export: bool = True) -> None:

    rows = CallLog.objects.order_by().count()
    print(f"\nAudit at {rows:,} rows (PostgreSQL), goals and COPY beside each figure:")
    if export:
        audit_export(client, rows)
    audit_stats_and_check(client, reps)


def audit_export(client: Client, rows: int) -> None:
    copy_seconds, copy_bytes = copy_anchor()
    print(f"  COPY ... TO STDOUT (CSV, same columns): {copy_seconds:.1f} s, "
          f"{copy_bytes / 1e9:.2f} GB, {rows / copy_seconds:,.0f} rows/s", flush=True)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    response = client.get("/admin/questionbank/calllog/export/csv/")
    size = chunks = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        chunks += 1
    seconds = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ratio = copy_seconds / seconds
    print(f"  admin export, CSV, streamed ({chunks:,} pieces): {seconds:.1f} s, "
          f"{size / 1e9:.2f} GB, {rows / seconds:,.0f} rows/s = {ratio:.2f} x COPY's speed "
          f"(goal >= 0.25); peak RSS {rss_before / 1024:.0f} MB before, "
          f"{rss_after / 1024:.0f} MB after", flush=True)
    start = time.perf_counter()
    response = client.get("/admin/questionbank/calllog/export/jsonl/")
    size = sum(len(chunk) for chunk in response.streaming_content)
    seconds = time.perf_counter() - start
    print(f"  admin export, JSON Lines: {seconds:.1f} s, {size / 1e9:.2f} GB = "
          f"{copy_seconds / seconds:.2f} x COPY's speed", flush=True)



def audit_stats_and_check(client: Client, reps: int) -> None:
    from questionbank.models import CallLogVerification
    from questionbank.services.calllogs import calllog_verification_run

    audit_stats(client, reps)
    verification = CallLogVerification.objects.create(requested_by="bench")
    start = time.perf_counter()
    result = calllog_verification_run(verification_id=verification.pk)
    seconds = time.perf_counter() - start
    verification.refresh_from_db()
    print(f"  tamper check (the background task's work): {seconds:.1f} s, "
          f"{verification.rows_checked / seconds:,.0f} rows/s, stored result: "
          f"{verification.status}: {result}", flush=True)


def audit_stats(client: Client, reps: int) -> None:
    """The statistics for a month: the selector, then the whole page."""
    from datetime import timedelta

    from django.utils import timezone

    from questionbank.selectors import calllog_stats

    times, cpu = [], []
    for _ in range(reps):
        now = timezone.now()
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        stats = calllog_stats(period="month", now=now)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((_cpu_seconds() - cpu_start) * 1000)
    start = time.perf_counter()
    counted = CallLog.objects.filter(created_at__gte=now - timedelta(days=30),
                                     created_at__lte=now).count()
    count_ms = (time.perf_counter() - start) * 1000
    print(f"  statistics for a month ({stats['total'].calls:,} calls; {counted:,} by COUNT): "
          f"median {statistics.median(times):.0f} ms, max {max(times):.0f} ms of {reps} "
          f"(goal < 300 ms); anchor: SELECT count(*) of the month's rows {count_ms:.0f} ms",
          flush=True)
    print(f"    CPU time of this process and its PostgreSQL backend (what load does not "
          f"inflate): median {statistics.median(cpu):.0f} ms; load average {_load()}",
          flush=True)
    median, high, status = timed(client, "/admin/questionbank/calllog/statistics/?period=month",
                                 reps)
    print(f"  statistics page, month: median {median:.0f} ms, max {high:.0f} ms ({status}); "
          f"load average {_load()}", flush=True)


def _cpu_seconds() -> float:
    """CPU time used so far by this process and by its PostgreSQL backend (read from
    /proc: the server runs on this machine)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return time.process_time() + (int(fields[11]) + int(fields[12])) / ticks


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _days_ago(days: int) -> str:
    from datetime import timedelta

    from django.utils import timezone

    return (timezone.localtime() - timedelta(days=days)).strftime("%Y-%m-%d+%H:%M")


if __name__ == "__main__":
    main()
