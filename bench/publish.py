"""Benchmark publishing a long model reply (issue 14, defect 3), before and after, in one run.

    .venv/bin/python bench/publish.py [--sizes 48000 96000 2400000] [--before-max 100000]

For each size, a solution whose model text is that many characters of a stand-in reply
(numbered words in paragraphs) gets a teacher revision that changes one word near each end
(so the common beginning and end cover almost nothing), and is then published with
``solution_transition``, as the publish button does. Printed per size:

- **before**: publishing with the edit distance measured as it was until issue 14
  (difflib over words, ``autojunk=False``, inside the publishing transaction), frozen
  below as ``quadratic_edit_distance``; only up to ``--before-max`` characters, because
  it grows with the square of the length (the issue measured 2.5 s at 48 KB, 10 s at
  96 KB and over 300 s at 2.4 MB);
- **after**: publishing as it is now (measure linear in the length, taken before any row
  is locked), and the measure alone;
- the anchor, in the same run: reading the two texts and splitting them into words,
  which any measure has to do.

A 2.4 MB reply no longer reaches a solution at the default ``QB_MAX_REPLY_CHARS``
(200,000): the 2.4 MB row is what publishing costs for a solution stored before the cap,
or with the cap raised. Uses its own database (``BENCH_DATABASE_URL``, default
postgres://postgres@127.0.0.1:5432/qb_bench_publish), migrated on start.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from difflib import SequenceMatcher
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qb_bench_publish")
os.environ.setdefault("QB_DEBUG", "0")
os.environ.setdefault("QB_SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("QB_HTTPS", "0")
os.environ.setdefault("QB_LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "questionbank.settings")

if os.environ["DATABASE_URL"].startswith("postgres"):
    from bench._db import ensure_database

    ensure_database(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from questionbank.models import Problem, Solution  # noqa: E402
from questionbank.services import solutions as solutions_module  # noqa: E402
from questionbank.services.solutions import (  # noqa: E402
    Concern,
    solution_add_revision,
    solution_create,
    solution_transition,
)
from questionbank.textdiff import _tokens, normalized_edit_distance  # noqa: E402
from questionbank.webui.standin import _padding  # noqa: E402


def quadratic_edit_distance(a: str, b: str) -> float:
    """The measure publishing used until issue 14 (frozen here for the comparison)."""
    ta, tb = _tokens(a), _tokens(b)
    longest = max(len(ta), len(tb))
    if longest == 0:
        return 0.0
    edits = 0
    for op, i1, i2, j1, j2 in SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes():
        if op == "replace":
            edits += max(i2 - i1, j2 - j1)
        elif op == "delete":
            edits += i2 - i1
        elif op == "insert":
            edits += j2 - j1
    return min(1.0, edits / longest)


def _draft(size: int, teacher) -> Solution:
    problem = Problem.objects.create(title=f"Bench {size}", statement="What is 6*7?",
                                     reference_answer="42")
    text = _padding(size) + "\n\nTherefore the final answer is $\\boxed{42}$."
    solution = solution_create(problem=problem, body=text)
    words = text.split(" ")
    words[3] = "changed"
    words[-4] = "changed"
    solution_add_revision(solution=solution, body=" ".join(words), author=teacher)
    return solution


def _publish(solution: Solution, teacher) -> float:
    started = time.perf_counter()
    solution_transition(solution=solution, target=Solution.Status.PUBLISHED, user=teacher,
                        confirm=set(Concern.LABELS))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[48_000, 96_000, 2_400_000])
    parser.add_argument("--before-max", type=int, default=100_000,
                        help="largest size measured with the old quadratic measure")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    teacher, _ = get_user_model().objects.get_or_create(username="bench-publisher")
    print(f"load average: {os.getloadavg()[0]:.1f}")
    print(f"{'size':>10} | {'anchor: read+split':>18} | {'before: publish':>15} | "
          f"{'after: publish':>14} | {'after: measure':>14} | distance")
    for size in args.sizes:
        before = "—"
        if size <= args.before_max:
            solution = _draft(size, teacher)
            solutions_module.normalized_edit_distance = quadratic_edit_distance
            try:
                before = f"{_publish(solution, teacher):.3f} s"
            finally:
                solutions_module.normalized_edit_distance = normalized_edit_distance
        solution = _draft(size, teacher)
        first = solution.revisions.get(number=1).body
        current = solution.revisions.get(number=2).body
        started = time.perf_counter()
        _tokens(first), _tokens(current)
        anchor = time.perf_counter() - started
        started = time.perf_counter()
        normalized_edit_distance(first, current)
        measure = time.perf_counter() - started
        after = _publish(solution, teacher)
        solution.refresh_from_db()
        print(f"{size:>10,} | {anchor:>16.3f} s | {before:>15} | {after:>12.3f} s | "
              f"{measure:>12.3f} s | {solution.edit_distance:.6f}")


if __name__ == "__main__":
    main()
