"""Benchmark: the search's database work on SQLite at 100,000 problems, a third in Chinese.

    .venv/bin/python bench/search_sqlite.py [--problems 100000] [--refill] [--rounds 200]

bench/pages.py measures whole pages under gunicorn, on PostgreSQL only (COPY, EXPLAIN
ANALYZE). This one fills a SQLite file (QB_BENCH_SQLITE, default
/tmp/qb_bench_search.sqlite3) with the same generated problems (bench.pages' generator,
half published) through the ORM, so the triggers fill both FTS5 tables, and times in
this process what a search page asks of the database: the ranked ids
(``match_ids``), the first page's rows with their tags (``browse_rows``) and their
highlights. The anchor, measured in the same run, is the newest page of the
unfiltered list (the rows and their tags, no search). Templates, middleware and HTTP
are not included: compare the figures with each other, not with bench/pages.py.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import secrets
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILL_VERSION = "1"


def setup(path: str) -> None:
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{path}",
        "DJANGO_SETTINGS_MODULE": "questionbank.settings",
        "QB_DEBUG": "0",
        "QB_SECRET_KEY": secrets.token_urlsafe(50),
        "QB_HTTPS": "0",
        "QB_LOG_LEVEL": "WARNING",
    })
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def fill(n: int, seed: int = 6) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from bench import pages
    from questionbank.models import Problem, Solution

    rng = random.Random(seed)
    vocab, vocab_zh = pages.vocabulary(), pages.vocabulary_zh()
    shapes, shapes_zh = pages.shape_templates(), pages.shape_templates(pages.SHAPES_ZH)
    weights, weights_zh = pages.zipf_weights(len(vocab)), pages.zipf_weights(len(vocab_zh))
    now = timezone.now()
    t0 = time.perf_counter()
    with transaction.atomic():
        Solution.objects.all().delete()
        Problem.objects.all().delete()
        for start in range(0, n, 5000):
            batch = []
            for i in range(start, min(n, start + 5000)):
                chinese = rng.random() < 1 / 3
                if chinese:
                    words = max(20, int(rng.lognormvariate(math.log(110), 0.5)))
                    statement, html = pages.own_statement(
                        rng, shapes_zh, pages.make_text_zh(rng, vocab_zh, weights_zh, words))
                    title = "".join(rng.choices(vocab_zh[len(pages.FILLER_ZH):],
                                                k=rng.randint(2, 4)))
                else:
                    words = max(25, int(rng.lognormvariate(math.log(110), 0.5)))
                    statement, html = pages.own_statement(
                        rng, shapes, pages.make_text(rng, vocab, weights, words))
                    title = " ".join(rng.choices(vocab[len(pages.FILLER):],
                                                 k=rng.randint(3, 7))).capitalize()
                batch.append(Problem(
                    title=title, kind="maths", statement=statement, statement_html=html,
                    reference_answer="1", difficulty=rng.randint(1, 5), status="ready",
                    language="zh" if chinese else "en", version=1,
                    created_at=now - timedelta(minutes=n - i),
                    updated_at=now - timedelta(minutes=n - i)))
            Problem.objects.bulk_create(batch)
        ids = list(Problem.objects.order_by("pk").values_list("pk", flat=True))
        Solution.objects.bulk_create(
            [Solution(problem_id=pk, status="published", final_answer="1", is_best=True,
                      published_at=now, created_at=now, updated_at=now)
             for pk in ids if rng.random() < 0.5], batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS qb_bench_meta (version text NOT NULL)")
        cursor.execute("DELETE FROM qb_bench_meta")
        cursor.execute("INSERT INTO qb_bench_meta VALUES (%s)", [f"{FILL_VERSION}/{n}"])
        cursor.execute("ANALYZE")
    print(f"filled {n} problems in {time.perf_counter() - t0:.0f} s")


def filled() -> str | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'qb_bench_meta'")
        if not cursor.fetchone():
            return None
        cursor.execute("SELECT version FROM qb_bench_meta")
        row = cursor.fetchone()
    return row[0] if row else None


def queries() -> dict[str, list[str]]:
    from bench import pages

    vocab = pages.vocabulary()
    first = len(pages.FILLER)
    mids = vocab[first + 150:first + 450]
    zh = pages.vocabulary_zh()[len(pages.FILLER_ZH):]
    two = [w for w in zh if len(w) == 2]
    four = [w for w in zh if len(w) == 4]
    return {
        "search, rare word": vocab[3000:3020],
        "search, two words": [f"{a} {b}" for a, b in zip(mids[::2], mids[1::2], strict=False)][:20],
        "search, common word": vocab[first:first + 12],
        "search, zh 2 chars common": two[:20],
        "search, zh 2 chars rare": list(pages.QUALIFIERS_ZH),
        "search, zh 4 chars": four[:5] + four[200:205] + four[600:610],
        "search, zh 1 char": list("数角的圆求方积函线形率点值边根体比质栈树"),
        "search, zh + TeX": [f"{w} k^2" for w in two[:10]] + [f"{w} sum" for w in two[10:20]],
    }


def time_one(fn, rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", type=int, default=100_000)
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--rounds", type=int, default=200, help="timed runs per row")
    args = parser.parse_args()
    path = os.environ.get("QB_BENCH_SQLITE", "/tmp/qb_bench_search.sqlite3")
    setup(path)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.refill or filled() != f"{FILL_VERSION}/{args.problems}":
        fill(args.problems)
    from questionbank.browse.search import highlights, match_ids, parse_query
    from questionbank.selectors import browse_page_rows, browse_problem_list, browse_rows

    def search(q):
        req = parse_query(q)
        ids = match_ids(req, relevance=True).ids
        rows = browse_rows(ids[:21])
        highlights(req, [r.pk for r in rows[:20]])

    def anchor():
        browse_page_rows(browse_problem_list(), 0, 21)

    print(f"\nSearch on SQLite at {args.problems:,} problems (a third in Chinese), in-process: "
          f"ranked ids + first page's rows and tags + highlights, {args.rounds} runs per row "
          f"cycling through its queries; load average {os.getloadavg()[0]:.1f}")
    print(f"{'row':28} {'p50 ms':>8} {'p95 ms':>8}")
    p50, p95 = time_one(anchor, args.rounds)
    print(f"{'list page 1 (anchor)':28} {p50:8.1f} {p95:8.1f}")
    for name, qs in queries().items():
        it = iter(qs * (args.rounds // len(qs) + 1))
        for q in qs:  # warm the page cache of the file and the statements
            search(q)
        p50, p95 = time_one(lambda it=it: search(next(it)), args.rounds)
        print(f"{name:28} {p50:8.1f} {p95:8.1f}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
