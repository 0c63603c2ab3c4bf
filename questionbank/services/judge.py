"""Judging programming solutions: a run is queued whenever a solution's code (or the
problem's reference solution) is new, a task runs it in the sandbox with bounded
concurrency, and the verdicts are stored in ``JudgeRun``.

- **Queueing** (``judge_revision_queue``) happens in the transaction that saves a revision;
  the task is enqueued on commit. A revision whose code and tests are those of the
  solution's last run is not judged again (an edit of the prose only).
- **Bounded concurrency**: a task claims a queued run only while fewer than
  ``QB_JUDGE_CONCURRENCY`` runs hold a live lease, counted under a lock (an advisory
  lock on PostgreSQL; SQLite's IMMEDIATE transactions serialize writers). A task that
  finds no free slot returns at once, so judging ties up at most that many workers and
  never starves generation; the task holding a slot keeps taking queued runs for up to
  ``QB_JUDGE_BUDGET_SECONDS``, and the judge sweep (every minute) is the safety net.
- **The vote**: when a solution's code is judged, the problem's candidates vote again
  (``solutions.problem_vote``), programming ones grouped by their pass/fail signature.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from questionbank import judge
from questionbank.models import JudgeRun, Problem, Solution, SolutionRevision
from questionbank.services.generation.batches import enqueue
from questionbank.services.generation.claims import worker_id
from questionbank.services.generation.stopping import judge_sampling_check
from questionbank.services.solutions import problem_vote
from questionbank.stored_text import translate_stored

logger = logging.getLogger(__name__)

__all__ = [
    "judge_publish_concern",
    "judge_reference_queue",
    "judge_revision_queue",
    "judge_run_outdated",
    "judge_runs_work",
    "judge_sweep",
]

RUN_FUNC = "questionbank.tasks.judge_runs"
SWEEP_SCHEDULE_NAME = "questionbank: judge sweep"  # made by migration 0016
SWEEP_FUNC = "questionbank.tasks.judge_sweep"
# pg_advisory_xact_lock key for counting judge slots ("qbjudge" in ASCII).
_LOCK_KEY = 0x7162_6A75_6467_65


def _sha(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()
                          ).hexdigest()


def _code_hash(text: str, plain_language: str | None = None) -> str:
    program = judge.extract_program(text, plain_language=plain_language)
    if isinstance(program, judge.NoProgram):
        return _sha(["none", program.reason])
    return _sha([program.language, program.source])


def _tests_hash(problem: Problem) -> str:
    return _sha([problem.test_cases, problem.judge_cpu_seconds, problem.judge_memory_mb])


def _limits(problem: Problem) -> judge.Limits:
    return judge.Limits(cpu_seconds=problem.judge_cpu_seconds, memory_mb=problem.judge_memory_mb)


def _queue(**fields) -> JudgeRun:
    run = JudgeRun.objects.create(**fields)
    transaction.on_commit(partial(enqueue, RUN_FUNC, run.pk))
    return run


def judge_revision_queue(*, revision: SolutionRevision, problem: Problem | None = None,
                         requested_by=None, force: bool = False) -> JudgeRun | None:
    """Queue the judging of a revision's code; None when there is nothing new to judge.

    Only programming problems with tests are judged. Unless ``force`` (a teacher asked), a
    revision whose code, tests and limits are those of the solution's last run is not
    judged again, so editing the explanation around the code costs nothing.
    """
    problem = problem or revision.solution.problem
    if problem.kind != Problem.Kind.PROGRAMMING or not (
            force or judge.tests_from_json(problem.test_cases)):
        return None
    code_hash, tests_hash = _code_hash(revision.body), _tests_hash(problem)
    if not force:
        last = (JudgeRun.objects.filter(revision__solution_id=revision.solution_id)
                .order_by("-revision__number", "-id").first())
        if last and (last.code_hash, last.tests_hash) == (code_hash, tests_hash) and \
                last.outcome != JudgeRun.Outcome.UNAVAILABLE:
            return None
    return _queue(problem=problem, revision=revision, code_hash=code_hash,
                  tests_hash=tests_hash, requested_by=requested_by)


def judge_reference_queue(*, problem: Problem, requested_by=None) -> JudgeRun:
    """Queue the judging of the problem's reference solution, so a teacher can check the
    tests. Raises ``ValueError`` with a sentence when there is nothing to judge."""
    if problem.kind != Problem.Kind.PROGRAMMING:
        raise ValueError(gettext("Only programming problems have tests to run."))
    if not problem.reference_solution.strip():
        raise ValueError(gettext("This problem has no reference solution yet: add one by "
                                 "editing the problem, then run it against the tests."))
    return _queue(problem=problem, revision=None,
                  code_hash=_code_hash(problem.reference_solution, "python"),
                  tests_hash=_tests_hash(problem), requested_by=requested_by)


# --- Running ------------------------------------------------------------------------------


def _claim(prefer_id: int | None) -> tuple[int, str] | None:
    """Take one queued run if a judging slot is free: ``(run id, claim token)``."""
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        busy = JudgeRun.objects.filter(status=JudgeRun.Status.RUNNING,
                                       lease_expires_at__gt=now).count()
        if busy >= settings.QB_JUDGE_CONCURRENCY:
            return None
        queued = JudgeRun.objects.filter(status=JudgeRun.Status.QUEUED)
        run_id = None
        if prefer_id:
            run_id = queued.filter(pk=prefer_id).values_list("pk", flat=True).first()
        if run_id is None:
            run_id = queued.order_by("id").values_list("pk", flat=True).first()
        if run_id is None:
            return None
        token = f"{worker_id()}/{uuid.uuid4().hex[:12]}"
        claimed = queued.filter(pk=run_id).update(
            status=JudgeRun.Status.RUNNING, claimed_by=token, started_at=now,
            lease_expires_at=now + timedelta(seconds=settings.QB_JUDGE_LEASE_SECONDS))
        return (run_id, token) if claimed else None


def _judge(run: JudgeRun, token: str) -> judge.Report:
    problem = run.problem
    if run.revision_id:
        text, plain = run.revision.body, None
    else:
        text, plain = problem.reference_solution, "python"
    mine = JudgeRun.objects.filter(pk=run.pk, claimed_by=token)

    def renew(_result) -> None:
        mine.update(lease_expires_at=timezone.now()
                    + timedelta(seconds=settings.QB_JUDGE_LEASE_SECONDS))

    try:
        return judge.judge_text(text, judge.tests_from_json(problem.test_cases),
                                limits=_limits(problem), plain_language=plain, on_result=renew)
    except Exception:  # a bug here must not leave the run running for ever
        logger.exception("judge run %s failed", run.pk)
        return judge.Report(judge.UNAVAILABLE, "The code check failed unexpectedly; the "
                            "administrator can find details in the worker's log.")


def _execute(run_id: int, token: str) -> None:
    run = JudgeRun.objects.select_related("problem", "revision").get(pk=run_id)
    report = _judge(run, token)
    done = JudgeRun.objects.filter(pk=run.pk, claimed_by=token,
                                   status=JudgeRun.Status.RUNNING).update(
        status=JudgeRun.Status.DONE, outcome=report.outcome, message=report.message,
        note=report.note, language=report.language, passed=report.passed,
        total=len(report.results), results=report.as_json(),
        tests_hash=_tests_hash(run.problem), finished_at=timezone.now(),
        lease_expires_at=None, claimed_by="")
    if not done:
        logger.warning("judge run %s: claim %s was lost; result discarded", run.pk, token)
        return
    if run.revision_id is not None:
        # The candidates' grouping by passed tests changed: they vote again.
        problem_vote(problem_id=run.problem_id)
        # A sample passing all tests may settle an adaptive batch's problem.
        judge_sampling_check(revision_id=run.revision_id)


def judge_runs_work(*, first_id: int | None = None) -> int:
    """Run queued judge runs while a slot is free, ``first_id`` first; returns how many.

    Stops after ``QB_JUDGE_BUDGET_SECONDS`` and enqueues a successor if runs still wait.
    """
    started, finished = time.monotonic(), 0
    while True:
        if time.monotonic() - started > settings.QB_JUDGE_BUDGET_SECONDS:
            if JudgeRun.objects.filter(status=JudgeRun.Status.QUEUED).exists():
                enqueue(RUN_FUNC, 0)
            return finished
        claim = _claim(first_id)
        if claim is None:
            return finished
        _execute(*claim)
        finished += 1
        first_id = None


def judge_sweep() -> dict:
    """Every minute: requeue runs whose worker died, and start a task if runs wait."""
    now = timezone.now()
    requeued = JudgeRun.objects.filter(status=JudgeRun.Status.RUNNING,
                                       lease_expires_at__lt=now).update(
        status=JudgeRun.Status.QUEUED, claimed_by="", lease_expires_at=None)
    kicked = JudgeRun.objects.filter(status=JudgeRun.Status.QUEUED).exists()
    if kicked:
        enqueue(RUN_FUNC, 0)
    return {"requeued": requeued, "kicked": int(kicked)}


# --- What the verdict means for publishing ------------------------------------------------


def judge_latest_run(*, solution: Solution) -> JudgeRun | None:
    """The run that judged the solution's current code (its latest run)."""
    return (JudgeRun.objects.filter(revision__solution_id=solution.pk)
            .order_by("-revision__number", "-id").first())


def judge_run_outdated(*, run: JudgeRun, problem: Problem) -> bool:
    """Whether a finished run checked other tests or limits than the problem has now (or,
    for a reference run, another reference solution): the page then offers to run again."""
    if not run.is_finished:
        return False
    if run.revision_id is None and run.code_hash != _code_hash(problem.reference_solution,
                                                               "python"):
        return True
    return run.tests_hash != _tests_hash(problem)


def judge_publish_concern(solution: Solution) -> str | None:
    """Why publishing this solution needs confirmation, as a sentence fragment
    ("fails 3 of 10 tests"), or None: not a programming problem, passes every test, no
    tests, or this server cannot run code (the page says so separately)."""
    if solution.problem.kind != Problem.Kind.PROGRAMMING:
        return None
    run = judge_latest_run(solution=solution)
    if run is None:
        return None
    if run.status != JudgeRun.Status.DONE:
        return gettext("is still being run against the problem's tests")
    if run.outcome == JudgeRun.Outcome.FAILED:
        return gettext("fails %(failed)s of %(total)s tests") % {"failed": run.failed,
                                                               "total": run.total}
    if run.outcome == JudgeRun.Outcome.ERROR:
        why = translate_stored(run.message.removeprefix("Could not run: ").rstrip("."))
        return gettext("could not be run against the tests: %(why)s") % {
            "why": f"{why[:1].lower()}{why[1:]}"}
    return None
