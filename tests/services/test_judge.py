"""The judge in the pipeline: queued on new code, bounded, stored, voted, and read back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from questionbank import judge, selectors
from questionbank.models import JudgeRun, Problem, Solution
from questionbank.services import judge as judge_service
from questionbank.services.solutions import solution_add_revision, solution_create
from tests.factories import make_problem, make_teacher

pytestmark = pytest.mark.django_db

UNAVAILABLE = judge.Sandbox().unavailable()
needs_sandbox = pytest.mark.skipif(UNAVAILABLE is not None, reason=f"sandbox {UNAVAILABLE}")

GOOD = ("Read two numbers and add them.\n\n"
        "```python\na, b = map(int, input().split())\nprint(a + b)\n```")
WRONG = "```python\na, b = map(int, input().split())\nprint(a * b)\n```"
TESTS = [{"input": "1 2", "output": "3"}, {"input": "2 2", "output": "4"},
         {"input": "5 5", "output": "10"}]


@pytest.fixture
def sync(settings):
    settings.QB_TASKS_SYNC = True
    settings.QB_JUDGE_CONCURRENCY = 1
    return settings


def programming(**fields):
    return make_problem(kind=Problem.Kind.PROGRAMMING, statement="Add two numbers.",
                        reference_answer="", test_cases=TESTS, judge_cpu_seconds=1,
                        judge_memory_mb=128, **fields)


def create(problem, body, capture, **fields):
    with capture(execute=True):
        return solution_create(problem=problem, body=body, **fields)


@needs_sandbox
def test_a_new_programming_solution_is_judged_and_stored(sync, django_capture_on_commit_callbacks):
    problem = programming()
    solution = create(problem, WRONG, django_capture_on_commit_callbacks)
    run = JudgeRun.objects.get()
    assert run.revision == solution.current_revision and run.status == JudgeRun.Status.DONE
    assert run.outcome == JudgeRun.Outcome.FAILED
    assert (run.passed, run.total) == (1, 3)  # 2 * 2 == 2 + 2
    assert [r["verdict"] for r in run.results] == ["wrong_answer", "passed", "wrong_answer"]
    assert run.results[0]["message"] == "Line 1: expected '3', got '2'."
    assert judge_service.judge_publish_concern(solution) == "fails 2 of 3 tests"


def test_maths_solutions_and_problems_without_tests_are_not_judged(
        sync, django_capture_on_commit_callbacks):
    problem = make_problem()
    solution = create(problem, "The answer is $\\boxed{3}$.", django_capture_on_commit_callbacks)
    untested = create(make_problem(kind=Problem.Kind.PROGRAMMING, test_cases=[]), GOOD,
                      django_capture_on_commit_callbacks)
    assert not JudgeRun.objects.exists()
    assert judge_service.judge_publish_concern(solution) is None
    assert judge_service.judge_publish_concern(untested) is None


@needs_sandbox
def test_only_an_edit_that_changes_the_code_is_judged_again(sync,
                                                            django_capture_on_commit_callbacks):
    teacher = make_teacher()
    problem = programming()
    solution = create(problem, WRONG, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        solution_add_revision(solution=solution, author=teacher,
                              body="A clearer explanation.\n\n" + WRONG)
    assert JudgeRun.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        fixed = solution_add_revision(solution=solution, author=teacher, body=GOOD)
    latest = judge_service.judge_latest_run(solution=solution)
    assert JudgeRun.objects.count() == 2 and latest.revision == fixed
    assert latest.outcome == JudgeRun.Outcome.PASSED and latest.message == "Passes all 3 tests."
    assert judge_service.judge_publish_concern(solution) is None


def test_no_code_block_could_not_run(sync, django_capture_on_commit_callbacks):
    solution = create(programming(), "Just add them: the answer is a+b.",
                      django_capture_on_commit_callbacks)
    run = JudgeRun.objects.get()
    assert run.outcome == JudgeRun.Outcome.ERROR
    assert run.message == "Could not run: no code block."
    assert judge_service.judge_publish_concern(solution) == (
        "could not be run against the tests: no code block")


def test_without_bubblewrap_the_page_says_so_and_nothing_runs(sync, monkeypatch,
                                                              django_capture_on_commit_callbacks):
    monkeypatch.setattr(judge.core, "Sandbox", lambda: judge.Sandbox(bwrap=""))
    solution = create(programming(), GOOD, django_capture_on_commit_callbacks)
    run = JudgeRun.objects.get()
    assert run.outcome == JudgeRun.Outcome.UNAVAILABLE
    assert run.message == "Code checks are not available on this server: install bubblewrap."
    assert judge_service.judge_publish_concern(solution) is None


def test_judging_is_bounded_and_a_lost_worker_is_recovered(settings):
    settings.QB_TASKS_SYNC = False
    settings.QB_JUDGE_CONCURRENCY = 1
    problem = programming()
    first = solution_create(problem=problem, body=GOOD)
    second = solution_create(problem=problem, body=WRONG)
    busy, waiting = JudgeRun.objects.order_by("id")
    JudgeRun.objects.filter(pk=busy.pk).update(
        status=JudgeRun.Status.RUNNING, claimed_by="elsewhere",
        lease_expires_at=timezone.now() + timedelta(seconds=60))
    assert judge_service.judge_runs_work(first_id=waiting.pk) == 0  # the one slot is taken
    waiting.refresh_from_db()
    assert waiting.status == JudgeRun.Status.QUEUED
    # The worker holding the slot died: its lease lapses, the sweep puts the run back.
    JudgeRun.objects.filter(pk=busy.pk).update(lease_expires_at=timezone.now()
                                               - timedelta(seconds=1))
    assert judge_service.judge_sweep() == {"requeued": 1, "kicked": 1}
    assert JudgeRun.objects.filter(status=JudgeRun.Status.QUEUED).count() == 2
    assert {first.pk, second.pk} == set(
        JudgeRun.objects.values_list("revision__solution_id", flat=True))


def test_a_crash_in_the_judge_does_not_stop_the_next_run(sync, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    calls = []

    def boom(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("bug")
        return judge.Report(judge.ALL_PASSED, "Passes all 3 tests.")

    monkeypatch.setattr(judge, "judge_text", boom)
    problem = programming()
    create(problem, GOOD, django_capture_on_commit_callbacks)
    create(problem, WRONG, django_capture_on_commit_callbacks)
    first, second = JudgeRun.objects.order_by("id")
    assert first.status == second.status == JudgeRun.Status.DONE
    assert first.outcome == JudgeRun.Outcome.UNAVAILABLE and "unexpectedly" in first.message
    assert second.outcome == JudgeRun.Outcome.PASSED


@needs_sandbox
def test_samples_vote_by_their_test_signature(sync, django_capture_on_commit_callbacks):
    problem = programming()
    solutions = [create(problem, body, django_capture_on_commit_callbacks)
                 for body in (WRONG, GOOD, WRONG)]
    # Each finished run made the candidates vote again: nothing else to call.
    rows = {s.pk: s for s in Solution.objects.filter(problem=problem)}
    wrong_a, good, wrong_b = (rows[s.pk] for s in solutions)
    assert good.is_best and not wrong_a.is_best and not wrong_b.is_best
    assert wrong_a.answer_group == wrong_b.answer_group != good.answer_group
    assert wrong_a.majority_share == pytest.approx(2 / 3)
    assert good.majority_share == pytest.approx(1 / 3)
    assert good.verdict == Solution.Verdict.NOT_CHECKED


@needs_sandbox
def test_the_review_queue_puts_failing_code_first_and_passing_code_last(
        sync, django_capture_on_commit_callbacks):
    problem = programming()
    good = create(problem, GOOD, django_capture_on_commit_callbacks)
    wrong = create(problem, WRONG, django_capture_on_commit_callbacks)
    maths = create(make_problem(reference_answer=""), "It is $\\boxed{5}$.",
                   django_capture_on_commit_callbacks, verdict=Solution.Verdict.UNCHECKED)
    rows = list(selectors.review_queue())
    assert [s.pk for s in rows] == [wrong.pk, maths.pk, good.pk]
    assert (rows[0].judge_outcome, rows[0].judge_failed, rows[0].judge_total) == ("failed", 2, 3)


@needs_sandbox
def test_a_reference_solution_checks_the_tests(sync, django_capture_on_commit_callbacks):
    teacher = make_teacher()
    problem = programming(reference_solution="a, b = map(int, input().split())\nprint(a + b)")
    problem.test_cases = [*TESTS, {"input": "1 1", "output": "3"}]  # a wrong test
    problem.save(update_fields=["test_cases"])
    with django_capture_on_commit_callbacks(execute=True):
        judge_service.judge_reference_queue(problem=problem, requested_by=teacher)
    run = selectors.judge_reference_run(problem=problem)
    assert run.revision is None and run.requested_by == teacher
    assert run.outcome == JudgeRun.Outcome.FAILED and run.message == "Fails 1 of 4 tests."
    assert run.results[3]["verdict"] == "wrong_answer"


def test_a_reference_run_needs_a_reference_solution():
    with pytest.raises(ValueError, match="no reference solution yet"):
        judge_service.judge_reference_queue(problem=programming())


@needs_sandbox
def test_changed_tests_make_the_teacher_forced_run_count(sync, django_capture_on_commit_callbacks):
    problem = programming()
    solution = create(problem, GOOD, django_capture_on_commit_callbacks)
    problem.test_cases = [{"input": "1 2", "output": "4"}]
    problem.save(update_fields=["test_cases"])
    with django_capture_on_commit_callbacks(execute=True):
        judge_service.judge_revision_queue(revision=solution.current_revision, force=True)
    assert judge_service.judge_publish_concern(solution) == "fails 1 of 1 tests"


@needs_sandbox
def test_invalid_utf8_and_nul_output_is_stored_on_every_database(
        sync, django_capture_on_commit_callbacks):
    body = "```python\nimport sys\nsys.stdout.buffer.write(b'3\\x00\\xff\\n')\n```"
    solution = create(programming(), body, django_capture_on_commit_callbacks)
    run = JudgeRun.objects.get(revision__solution=solution)
    assert run.outcome == JudgeRun.Outcome.FAILED
    assert run.results[0]["verdict"] == "wrong_answer"
    assert "\ufffd" in run.results[0]["got"]
