"""Benchmark: the students' JSON API beside the students' HTML pages, in one run, at
100,000 problems on PostgreSQL under gunicorn.

    .venv/bin/python bench/api.py [--problems 100000] [--refill] [--duration 10]

It reuses bench/pages.py whole: the same fill (its own database, QB_BENCH_DATABASE_URL,
default postgres://postgres@127.0.0.1:5432/qb_bench_api), the same gunicorn with
production settings and the same wrk load with p95 from a Lua hook, and the same anchor
(/bench/bare/, a constant string through the same middleware). Each API row is printed
next to the HTML page that shows the same thing:

- list, page 1:            /browse/problems/          vs /api/v1/published/problems/
- list, filtered, page 3:  ?kind=maths&difficulty=d&page=3 on both
- detail (5,000 problems): /browse/problems/<id>/     vs /api/v1/published/problems/<id>/

Anonymous requests, as a learning platform pulling published explanations would make
them. The API's per-address rate limit is raised out of the way for the load (its cost,
one cache read and write per request, stays in the figures). Measured with the HTML
page cache on (the production default for anonymous visitors) and off.

Goal (issue 16): the API at least as fast as the pages (API req/s / page req/s >= 1).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import pages  # noqa: E402 (the project root must be importable first)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/qb_bench_api"
ANCHOR = "bare view (anchor)"


def page_sets(targets: dict) -> list[tuple[str, list[str], list[str]]]:
    """(name, HTML paths, API paths) for each pair compared."""
    published = targets["published"]
    filtered = [f"?kind=maths&difficulty={d}&page=3" for d in range(1, 6)]
    return [
        ("list, page 1", ["/browse/problems/"], ["/api/v1/published/problems/"]),
        ("list, filtered, page 3", [f"/browse/problems/{q}" for q in filtered],
         [f"/api/v1/published/problems/{q}" for q in filtered]),
        (f"detail ({len(published):,} problems)",
         [f"/browse/problems/{pk}/" for pk in published],
         [f"/api/v1/published/problems/{pk}/" for pk in published]),
    ]


def print_table(results: dict, sets, args, mode: str) -> None:
    bare = results[ANCHOR]["rps"]
    print(f"\nStudents' list and detail, JSON API vs HTML page, {args.problems:,} problems, "
          f"{mode}")
    print(f"  PostgreSQL, gunicorn {args.workers} sync workers, wrk 1 thread x "
          f"{args.connections} connections, {args.duration} s each, same machine")
    print(f"{'':34} {'req/s':>8} {'x bare':>7} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}"
          f"  API/page")
    row = results[ANCHOR]
    print(f"{ANCHOR:34} {row['rps']:8.0f} {1:7.2f} {row['p50']:8.1f} {row['p95']:8.1f} "
          f"{row['errors']:6d}")
    for name, _, _ in sets:
        html, api = results[f"{name} (HTML)"], results[f"{name} (API)"]
        for label, r in (("HTML", html), ("API", api)):
            ratio = api["rps"] / html["rps"] if html["rps"] else 0.0
            verdict = (f"  {ratio:.2f} ({'met' if ratio >= 1 else 'MISSED'}: goal >= 1)"
                       if label == "API" else "")
            print(f"{name + ' (' + label + ')':34} {r['rps']:8.0f} {r['rps'] / bare:7.2f} "
                  f"{r['p50']:8.1f} {r['p95']:8.1f} {r['errors']:6d}{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", type=int, default=100_000)
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--duration", type=int, default=10, help="seconds per path set")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--cache", choices=["both", "on", "off"], default="both",
                        help="which HTML page-cache setting(s) to measure")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    db_url = os.environ.get("QB_BENCH_DATABASE_URL", DEFAULT_URL)
    env = pages.configure_env(db_url)
    env["QB_API_ANON_RATE_PER_MINUTE"] = str(10**9)
    from bench._db import ensure_database

    if ensure_database(db_url):
        print(f"created database {db_url.rsplit('/', 1)[1]}")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from questionbank.models import Problem

    call_command("migrate", verbosity=0)
    have = pages.filled_version()
    if args.refill or have != pages.fill_version() or Problem.objects.count() != args.problems:
        print(f"filling (found data version {have!r}, want {pages.fill_version()!r})")
        started = time.perf_counter()
        pages.fill(args.problems)
        print(f"filled in {time.perf_counter() - started:.0f} s")
    else:
        print(f"reusing {args.problems} problems ({have}) in {db_url.rsplit('/', 1)[1]}")
    call_command("collectstatic", interactive=False, verbosity=0)
    targets = pages.pick_targets(random.Random(1))
    # Render the published problems' articles once, as publishing would (bench/pages.py).
    call_command("render_problem_pages", problem=targets["published"], verbosity=0)
    connections.close_all()

    sets = page_sets(targets)
    paths = {ANCHOR: ["/bench/bare/"]}
    for name, html, api in sets:
        paths[f"{name} (HTML)"] = html
        paths[f"{name} (API)"] = api
    workdir = Path(tempfile.mkdtemp(prefix="qb-bench-api-"))
    for cached in {"both": (True, False), "on": (True,), "off": (False,)}[args.cache]:
        env["QB_BROWSE_PAGE_CACHE"] = "1" if cached else "0"
        results = pages.serve_and_load(env, paths, args, workdir, before={})
        print_table(results, sets, args, "HTML page cache ON (production default)" if cached
                    else "HTML page cache OFF (every page rendered)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
