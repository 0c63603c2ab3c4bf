"""Benchmark the generation pipeline on PostgreSQL through a real qcluster, in one run.

    .venv/bin/python bench/pipeline.py [--jobs 200] [--service 0.5] [--capacity-jobs 500]
        [--concurrency 1 8] [--skip-loop] [--skip-capacity] [--warmups 1] [--trace]

``--skip-loop`` and ``--skip-capacity`` leave out the sequential anchor and the capacity
run (to iterate on one figure); the default run prints every figure.

Uses its own database (qb_bench_pipeline on BENCH_PG, default
postgres://postgres@127.0.0.1:5432), migrated on start. The model server is the local
OpenAI-compatible test server (tests/servers/openai_server.py): each call waits S seconds
and beyond C calls at once the rest queue at the server, as they do on a Gradio WEBUI.

1. Makespan: N jobs with S = 0.5 s at C = 1 and C = 8, from ``batch_create`` (the commit
   enqueues the runner) until the batch is finished (every job logged, its solution and
   first revision written, answers voted), against the floor N*S/C. The anchor, on the
   same server in the same run: the article's sequential ``requests.post`` loop.
   Goal: at most 1.05 x the floor at both C (the loop is about C x the floor).
2. Overhead capacity: an instant server (S = 0, C = 64): jobs completed per second through
   enqueue, claim, call, call log and solution. Goal: at least 50 jobs/s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_NAME = "qb_bench_pipeline"
BASE = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
os.environ["DATABASE_URL"] = f"{BASE}/{DB_NAME}"
# Production-like settings: with DEBUG on, Django records every query in every worker.
os.environ.setdefault("QB_DEBUG", "0")
os.environ.setdefault("QB_SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("QB_HTTPS", "0")
os.environ.setdefault("QB_LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "questionbank.settings")


from bench._db import ensure_database  # noqa: E402

ensure_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.core.management import call_command  # noqa: E402

from questionbank.models import (  # noqa: E402
    CallLog,
    GenerationBatch,
    GenerationJob,
    ModelEndpoint,
    Problem,
    Solution,
)
from questionbank.services.endpoints import endpoint_create  # noqa: E402
from questionbank.services.generation import batch_create  # noqa: E402
from questionbank.services.problems import problem_create  # noqa: E402
from questionbank.services.templates import template_create  # noqa: E402
from tests.servers.openai_server import OpenAIServer, start_server  # noqa: E402

# socketserver's default listen backlog is 5: with dozens of calls connecting at once the
# kernel drops SYNs and each retry costs a second, which measures the test server, not us.
OpenAIServer.request_queue_size = 256


_trace: list[tuple[float, float]] = []  # (start, end) of each call, with --trace
_trace_lock = threading.Lock()


def _traced_complete(original):
    def complete(self, body):
        start = time.perf_counter()
        try:
            return original(self, body)
        finally:
            with _trace_lock:
                _trace.append((start, time.perf_counter()))
    return complete


def print_trace(c: int, start: float, finished: float, created: float, claimed: float
                ) -> None:
    """Where the makespan went: to the first calls, between calls, after the last one."""
    calls = sorted(_trace)
    starts = [a for a, _ in calls]
    ends = sorted(b for _, b in calls)
    first = [(a - start) * 1000 for a in starts[:c]]
    # The k-th call to end frees the slot that the (k + C)-th call to start takes.
    gaps = sorted((starts[k + c] - ends[k]) * 1000 for k in range(len(ends) - c))
    def pct(q):
        return gaps[min(len(gaps) - 1, int(q * len(gaps)))] if gaps else float("nan")
    print(f"  trace C={c}: batch_create {created * 1000:.0f} ms, first claim "
          f"{claimed * 1000:.0f} ms,"
          f" first calls start {min(first):.0f}-{max(first):.0f} ms after "
          f"batch_create; gap end->next start ms: mean {sum(gaps) / max(1, len(gaps)):.1f} "
          f"p50 {pct(0.5):.1f} p90 {pct(0.9):.1f} max {pct(1.0):.1f}; "
          f"last end -> finished {(finished - ends[-1]) * 1000:.0f} ms", flush=True)


def setup_data(n: int):
    call_command("migrate", verbosity=0)
    have = Problem.objects.filter(source="bench").count()
    for i in range(have, n):
        problem_create(title=f"Bench {i}", statement=f"What is {i}+{i + 1}?",
                       reference_answer=str(2 * i + 1), status="ready", source="bench")
    template = template_create(name=f"bench {time.time()}", user_prompt="{statement}")
    return list(Problem.objects.filter(source="bench").order_by("pk")), template


def clean() -> None:
    Solution.objects.all().delete()
    GenerationBatch.objects.all().delete()
    CallLog.objects.all().delete()  # a scratch database: the chain does not matter here


def start_cluster(workers: int) -> subprocess.Popen:
    env = dict(os.environ, QB_WORKERS=str(workers))
    return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop_cluster(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_batch(problems, template, endpoint, timeout: float, trace: int = 0) -> float:
    _trace.clear()
    start, wall = time.perf_counter(), time.time()
    batch = batch_create(problems=problems, template=template, endpoints=[endpoint])
    created = time.perf_counter() - start
    deadline = start + timeout
    while time.perf_counter() < deadline:
        if GenerationBatch.objects.filter(pk=batch.pk, finished_at__isnull=False).exists():
            elapsed = time.perf_counter() - start
            if trace:
                first = min(batch.jobs.values_list("started_at", flat=True))
                print_trace(trace, start, start + elapsed, created, first.timestamp() - wall)
            ok = batch.jobs.filter(status=GenerationJob.Status.SUCCEEDED).count()
            if ok != len(problems):
                raise SystemExit(f"only {ok} of {len(problems)} jobs succeeded")
            return elapsed
        time.sleep(0.02)
    raise SystemExit(f"batch not finished after {timeout:.0f} s")


def sequential_loop(url: str, n: int) -> float:
    """The article's way: one requests.post after another, body as data=json.dumps(...)."""
    start = time.perf_counter()
    for i in range(n):
        body = {"model": "m", "messages": [{"role": "user", "content": f"What is {i}+1?"}]}
        reply = requests.post(f"{url}/v1/chat/completions", data=json.dumps(body), timeout=60)
        reply.raise_for_status()
    return time.perf_counter() - start


def endpoint_for(url: str, concurrency: int) -> ModelEndpoint:
    ModelEndpoint.objects.filter(name__startswith="bench").delete()
    return endpoint_create(name=f"bench C={concurrency}", protocol="openai", base_url=url,
                           max_concurrency=concurrency, stream=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--service", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--capacity-jobs", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-loop", action="store_true",
                        help="leave out the sequential requests.post anchor")
    parser.add_argument("--skip-capacity", action="store_true",
                        help="leave out the instant-server capacity run")
    parser.add_argument("--warmups", type=int, default=1,
                        help="warm-up batches before each makespan run (the next task goes "
                        "to the worker that waited longest, so 2 warms both workers)")
    parser.add_argument("--trace", action="store_true",
                        help="print where each makespan run lost time (server-side times)")
    args = parser.parse_args()

    if args.trace:
        from tests.servers.openai_server import Handler

        Handler._complete = _traced_complete(Handler._complete)
    problems, template = setup_data(max(args.jobs, args.capacity_jobs))
    cluster = start_cluster(args.workers)
    rows, capacity = [], None
    try:
        for c in args.concurrency:
            server, url = start_server(delay=args.service, concurrency=c)
            try:
                endpoint = endpoint_for(url, c)
                for _ in range(args.warmups):
                    clean()
                    run_batch(problems[:c], template, endpoint, 120)  # warm-up: cluster, client
                clean()
                makespan = run_batch(problems[:args.jobs], template, endpoint,
                                     args.jobs * args.service * 3 + 60,
                                     trace=c if args.trace else 0)
                loop = None if args.skip_loop else sequential_loop(url, args.jobs)
            finally:
                server.stop()
            floor = args.jobs * args.service / c
            rows.append((c, floor, makespan, loop))
        if not args.skip_capacity:
            server, url = start_server(delay=0.0, concurrency=64)
            try:
                endpoint = endpoint_for(url, 64)
                clean()
                run_batch(problems[:20], template, endpoint, 120)
                clean()
                seconds = run_batch(problems[:args.capacity_jobs], template, endpoint, 600)
                capacity = (args.capacity_jobs, seconds)
            finally:
                server.stop()
    finally:
        stop_cluster(cluster)
        clean()

    print(f"\nMakespan: N={args.jobs} jobs, S={args.service} s, PostgreSQL, "
          f"{args.workers} qcluster workers")
    print(f"{'C':>3} {'floor N*S/C':>12} {'pipeline':>10} {'ratio':>7} "
          f"{'seq. loop (anchor)':>19} {'ratio':>7}")
    for c, floor, makespan, loop in rows:
        anchor = (f"{loop:>18.2f}s {loop / floor:>7.3f}" if loop is not None
                  else f"{'(skipped)':>19} {'':>7}")
        print(f"{c:>3} {floor:>11.2f}s {makespan:>9.2f}s {makespan / floor:>7.3f} {anchor}")
    print("goal: pipeline ratio <= 1.05 at every C")
    if capacity is None:
        return
    n, seconds = capacity
    print(f"\nOverhead capacity: instant server (S=0, C=64), N={n} jobs")
    print(f"{'jobs':>6} {'seconds':>8} {'jobs/s':>8}")
    print(f"{n:>6} {seconds:>8.2f} {n / seconds:>8.1f}")
    print("goal: >= 50 jobs/s")


if __name__ == "__main__":
    main()
