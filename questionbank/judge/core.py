"""Judging a program against a problem's tests: one sandboxed run per test."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from .compare import excerpt, outputs_match, short_diff, tail
from .extract import NoProgram, Program, extract_program
from .languages import Language, languages
from .sandbox import COMPILE_LIMITS, MIB, Limits, RunOutcome, Sandbox

# Per test.
PASSED = "passed"
WRONG_ANSWER = "wrong_answer"
TIME_LIMIT = "time_limit"
MEMORY_LIMIT = "memory_limit"
RUNTIME_ERROR = "runtime_error"
OUTPUT_LIMIT = "output_limit"
COULD_NOT_RUN = "could_not_run"
VERDICT_LABELS = {
    PASSED: "Passed",
    WRONG_ANSWER: "Wrong answer",
    TIME_LIMIT: "Time limit",
    MEMORY_LIMIT: "Memory limit",
    RUNTIME_ERROR: "Runtime error",
    OUTPUT_LIMIT: "Output limit",
    COULD_NOT_RUN: "Could not run",
}

# Per program.
ALL_PASSED = "passed"
SOME_FAILED = "failed"
NOT_RUN = "error"  # the program could not be run at all: no code, did not compile
UNAVAILABLE = "unavailable"  # this server cannot judge: no sandbox, no compiler
NO_TESTS = "no_tests"

_MEMORY = re.compile(r"MemoryError|std::bad_alloc|Cannot allocate memory|out of memory",
                     re.IGNORECASE)
_FILE_FULL = re.compile(r"File too large|No space left on device|Disk quota exceeded")


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest class

    input: str
    output: str
    tolerance: float | None = None


def tests_from_json(cases) -> list[TestCase]:
    """The problem's ``test_cases`` JSON as test cases (entries that are not objects with
    an input and an output are skipped; the forms refuse them anyway)."""
    tests = []
    for case in cases if isinstance(cases, list) else []:
        if not isinstance(case, dict) or "input" not in case or "output" not in case:
            continue
        tolerance = case.get("tolerance")
        try:
            tolerance = float(tolerance) if tolerance not in (None, "") else None
        except (TypeError, ValueError):
            tolerance = None
        tests.append(TestCase(str(case["input"]), str(case["output"]), tolerance))
    return tests


@dataclass
class TestResult:
    __test__ = False  # not a pytest class

    number: int
    verdict: str
    message: str = ""
    wall_seconds: float = 0.0
    expected: str = ""
    got: str = ""
    stderr: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict == PASSED


@dataclass
class Report:
    """What the judge found. ``outcome`` is one of ALL_PASSED, SOME_FAILED, NOT_RUN,
    UNAVAILABLE, NO_TESTS; ``message`` says it in a sentence; ``note`` is about how the
    code was chosen."""

    outcome: str
    message: str
    language: str = ""
    note: str = ""
    results: list[TestResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    def as_json(self) -> list[dict]:
        return [asdict(r) for r in self.results]


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _classify(run: RunOutcome, test: TestCase, limits: Limits, number: int) -> TestResult:
    result = TestResult(number=number, verdict=PASSED, wall_seconds=round(run.wall_seconds, 3),
                        expected=excerpt(test.output))
    got, err = _decode(run.stdout), _decode(run.stderr)
    result.got, result.stderr = excerpt(got), tail(err)
    sig = run.signal
    if run.setup_error:
        result.verdict = COULD_NOT_RUN
        result.message = f"The sandbox could not start the program: {tail(run.setup_error, 300)}"
    elif run.killed_for in ("stdout", "stderr"):
        result.verdict = OUTPUT_LIMIT
        result.message = (f"The program printed more than {limits.output_bytes // MIB} MB "
                          f"to {run.killed_for} and was stopped.")
    elif run.killed_for == "wall":
        result.verdict = TIME_LIMIT
        result.message = (f"Still running after {limits.wall:g} s of wall-clock time (it may "
                          "be sleeping or waiting for input) and was stopped.")
    elif sig == signal.SIGXCPU or (sig == signal.SIGKILL
                                   and run.wall_seconds >= limits.cpu_seconds):
        # SIGXCPU at the soft CPU limit; SIGKILL at the hard one (a second later) when
        # the program caught SIGXCPU.
        result.verdict = TIME_LIMIT
        result.message = f"Used more than {limits.cpu_seconds:g} s of CPU time."
    elif sig == signal.SIGXFSZ or (run.exit_code and _FILE_FULL.search(err)):
        result.verdict = OUTPUT_LIMIT
        result.message = (f"Wrote more than {limits.file_size_mb} MB to a file (or filled its "
                          f"{limits.tmpfs_mb} MB of scratch space).")
    elif run.exit_code and _MEMORY.search(err):
        result.verdict = MEMORY_LIMIT
        result.message = f"Needed more than {limits.memory_mb} MB of memory."
    elif run.exit_code:
        result.verdict = RUNTIME_ERROR
        result.message = (f"Killed by {_signal_name(sig)}." if sig
                          else f"Exited with status {run.exit_code}.")
    elif not outputs_match(test.output, got, tolerance=test.tolerance):
        result.verdict = WRONG_ANSWER
        result.message = short_diff(test.output, got, tolerance=test.tolerance)
    return result


def _failed_all(tests: list[TestCase], message: str) -> list[TestResult]:
    return [TestResult(number=n, verdict=COULD_NOT_RUN, message=message,
                       expected=excerpt(t.output)) for n, t in enumerate(tests, 1)]


def judge_program(program: Program, tests: list[TestCase], *, limits: Limits | None = None,
                  sandbox: Sandbox | None = None,
                  on_result: Callable[[TestResult], None] | None = None) -> Report:
    """Run ``program`` on each test in its own sandbox and compare its output.

    ``on_result`` is called after each test (a caller renews its lease there).
    Never runs anything outside bubblewrap: without it the report says so.
    """
    limits = limits or Limits()
    sandbox = sandbox or Sandbox()
    language: Language = languages()[program.language]
    base = {"language": program.language, "note": program.note}
    if not tests:
        return Report(NO_TESTS, "The problem has no test cases to run.", **base)
    reason = sandbox.unavailable() or language.unavailable()
    if reason:
        return Report(UNAVAILABLE, f"Code checks are {reason}." if reason.startswith("not ")
                      else f"Code checks are not available: {reason}.", **base)
    with sandbox.workdir() as box:
        sandbox.prepare(box, language.source_name, program.source)
        if language.compiled:
            build = sandbox.run(language.compile_command(), box=box, limits=COMPILE_LIMITS,
                                writable_box=True)
            if build.exit_code != 0:
                why = (build.setup_error or (tail(_decode(build.stderr), 1500) if
                       build.exit_code is not None else "the compiler ran out of time"))
                message = f"The {language.label} code did not compile."
                return Report(NOT_RUN, message, results=_failed_all(tests, f"{message} {why}"),
                              **base)
        results = []
        for number, test in enumerate(tests, 1):
            run = sandbox.run(language.run_command(), box=box,
                              stdin=test.input.encode("utf-8"), limits=limits)
            result = _classify(run, test, limits, number)
            results.append(result)
            if on_result is not None:
                on_result(result)
    passed = sum(r.passed for r in results)
    if passed == len(results):
        return Report(ALL_PASSED, f"Passes all {len(results)} tests.", results=results, **base)
    return Report(SOME_FAILED, f"Fails {len(results) - passed} of {len(results)} tests.",
                  results=results, **base)


def judge_text(text: str, tests: list[TestCase], *, limits: Limits | None = None,
               sandbox: Sandbox | None = None, plain_language: str | None = None,
               on_result: Callable[[TestResult], None] | None = None) -> Report:
    """Find the program in a solution's Markdown, then judge it (see ``judge_program``)."""
    program = extract_program(text, plain_language=plain_language)
    if isinstance(program, NoProgram):
        message = f"Could not run: {program.reason}."
        return Report(NOT_RUN, message, results=_failed_all(tests, message))
    return judge_program(program, tests, limits=limits, sandbox=sandbox, on_result=on_result)
