"""Benchmark the code judge: sandboxed test runs per second beside plain subprocesses.

    .venv/bin/python bench/judge.py [--rounds 20] [--tests 10] [--language python|cpp]

A trivial solution (read a number, print it plus one) is judged over ``--tests`` tests,
``--rounds`` times, by ``questionbank.judge.judge_program``: every test is one bubblewrap
sandbox with its limits, wall clock and output capture, plus the comparison. The anchor,
in the same run and interleaved round by round (the machine is shared): the same program
on the same inputs through a plain ``subprocess.run`` each, with the same interpreter
flags. The figure that matters is the sandbox's overhead per test, the difference of the
two per-test times. Goal: under 30 ms. Django-free: no database is touched.

Wall-clock figures on a shared machine grow with its load (printed), and a sandboxed run
is several processes (bwrap, its init, the program) where the anchor is one, so it loses
more to a busy scheduler. The CPU time per test, which load does not inflate, is printed
too: this script makes itself a child subreaper so that the sandbox's init, which bwrap
never reaps, is reaped here and counted.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from questionbank import judge  # noqa: E402
from questionbank.judge.languages import languages  # noqa: E402

SOURCES = {
    "python": "print(int(input()) + 1)\n",
    "cpp": "#include <cstdio>\nint main(){long n; if(scanf(\"%ld\",&n)!=1) return 1;"
           " printf(\"%ld\\n\", n + 1);}\n",
}
GOAL_MS = 30.0


PR_SET_CHILD_SUBREAPER = 36


def reap() -> None:
    """Reap every ended child (the sandboxes' inits land here once bwrap has exited)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def cpu_of_children() -> float:
    reap()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(round_function, *args) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process it started)."""
    cpu = cpu_of_children()
    wall = round_function(*args)
    time.sleep(0.05)  # let the last sandbox's init end, so its CPU time is counted
    return wall, cpu_of_children() - cpu


def plain_round(command: list[str], tests: list[judge.TestCase]) -> float:
    started = time.perf_counter()
    for test in tests:
        done = subprocess.run(command, input=test.input.encode(), capture_output=True,
                              timeout=10, check=False)
        if not judge.core.outputs_match(test.output, done.stdout.decode()):
            raise SystemExit(f"the plain run printed {done.stdout!r}, not {test.output!r}")
    return time.perf_counter() - started


def sandbox_round(program: judge.Program, tests: list[judge.TestCase]) -> float:
    started = time.perf_counter()
    report = judge.judge_program(program, tests)
    elapsed = time.perf_counter() - started
    if report.outcome != judge.ALL_PASSED:
        raise SystemExit(f"the sandboxed run did not pass: {report.message} "
                         f"{[r.message for r in report.results]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--tests", type=int, default=10)
    parser.add_argument("--language", choices=sorted(SOURCES), default="python")
    args = parser.parse_args()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    reason = judge.Sandbox().unavailable()
    language = languages()[args.language]
    if reason or language.unavailable():
        raise SystemExit(f"Cannot benchmark: {reason or language.unavailable()}.")
    tests = [judge.TestCase(str(n), str(n + 1)) for n in range(args.tests)]
    program = judge.Program(language=args.language, source=SOURCES[args.language])

    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / language.source_name
        source.write_text(program.source)
        if language.compiled:
            binary = str(Path(work) / "main")
            subprocess.run([language.tool, "-O2", "-o", binary, str(source)], check=True)
            command = [binary]
        else:
            command = [*language.run_command()[:-1], str(source)]
        sandbox_round(program, tests)  # warm-up: page cache, the availability probe
        plain_round(command, tests)
        plain, boxed, plain_cpu, boxed_cpu = [], [], [], []
        for _ in range(args.rounds):
            wall, cpu = timed(plain_round, command, tests)
            plain.append(wall)
            plain_cpu.append(cpu)
            wall, cpu = timed(sandbox_round, program, tests)
            boxed.append(wall)
            boxed_cpu.append(cpu)

    runs = args.rounds * args.tests
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Judge benchmark: {args.language}, {args.tests} tests x {args.rounds} rounds "
          f"({runs} runs each), {os.cpu_count()} CPUs, load average {load}")
    print(f"{'':28} {'runs/s':>8} {'ms/test, median round':>22} {'best round':>11}")
    rows = {}
    for name, times in (("plain subprocess (anchor)", plain), ("judge, sandboxed", boxed)):
        median = statistics.median(times) * 1000 / args.tests
        best = min(times) * 1000 / args.tests
        rows[name] = (median, best)
        print(f"{name:28} {runs / sum(times):8.1f} {median:22.1f} {best:11.1f}")
    (plain_ms, plain_best), (boxed_ms, boxed_best) = rows.values()
    overhead, overhead_best = boxed_ms - plain_ms, boxed_best - plain_best
    print(f"sandbox overhead per test: {overhead:.1f} ms (median rounds), {overhead_best:.1f} ms "
          f"(best rounds); goal < {GOAL_MS:.0f} ms: {'met' if overhead < GOAL_MS else 'NOT met'}"
          f" on the medians; {boxed_ms / plain_ms:.2f}x the anchor")
    cpu_plain = statistics.median(plain_cpu) * 1000 / args.tests
    cpu_boxed = statistics.median(boxed_cpu) * 1000 / args.tests
    print(f"CPU time per test (median round, all processes): anchor {cpu_plain:.1f} ms, "
          f"sandboxed {cpu_boxed:.1f} ms; the sandbox's CPU cost {cpu_boxed - cpu_plain:.1f} ms")
    if language.compiled:
        print("(the sandboxed rounds include compiling once per round; the anchor compiles "
              "once in all)")


if __name__ == "__main__":
    main()
