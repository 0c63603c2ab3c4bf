"""The judge's verdicts on the teacher pages, and the buttons that run it again."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from questionbank.models import JudgeRun, Problem
from questionbank.services.solutions import solution_create
from tests.factories import make_problem

pytestmark = pytest.mark.django_db

TESTS = [{"input": "1 2", "output": "3"}, {"input": "2 2", "output": "4"}]
CODE = "```python\nprint(sum(map(int, input().split())))\n```"


@pytest.fixture(autouse=True)
def queued_only(settings):
    settings.QB_TASKS_SYNC = False  # runs are queued, not run: each test writes its verdict


def programming(**fields):
    return make_problem(kind=Problem.Kind.PROGRAMMING, statement="Add.", reference_answer="",
                        test_cases=TESTS, **fields)


def finish(solution, outcome, verdicts, message):
    run = JudgeRun.objects.get(revision__solution=solution)
    results = [{"number": n, "verdict": v, "message": "" if v == "passed" else
                f"Line 1: expected '{n}', got 'x'.", "wall_seconds": 0.02, "expected": str(n),
                "got": "x", "stderr": ""} for n, v in enumerate(verdicts, 1)]
    JudgeRun.objects.filter(pk=run.pk).update(
        status=JudgeRun.Status.DONE, outcome=outcome, message=message, language="python",
        passed=verdicts.count("passed"), total=len(verdicts), results=results,
        finished_at=timezone.now())
    return run


def test_review_page_shows_the_verdict_per_test_and_every_sample(teacher_client):
    problem = programming()
    failing = solution_create(problem=problem, body=CODE)
    passing = solution_create(problem=problem, body=CODE + "\n")
    finish(failing, "failed", ["passed", "wrong_answer"], "Fails 1 of 2 tests.")
    finish(passing, "passed", ["passed", "passed"], "Passes all 2 tests.")
    body = teacher_client.get(reverse("teacher:solution-review", args=[failing.pk])
                              ).content.decode()
    assert "Code check" in body and "✗ Fails 1 of 2 tests" in body
    assert "Line 1: expected &#x27;2&#x27;, got &#x27;x&#x27;." in body
    assert "Every sample against the tests" in body
    assert 'title="Test 2: Wrong answer"' in body and 'title="Test 2: Passed"' in body


def test_review_queue_badges_programming_solutions_by_their_tests(teacher_client):
    problem = programming()
    failing = solution_create(problem=problem, body=CODE)
    waiting = solution_create(problem=problem, body=CODE + "\n\n")
    finish(failing, "failed", ["passed", "wrong_answer"], "Fails 1 of 2 tests.")
    page = teacher_client.get(reverse("teacher:review-queue"))
    assert [s.pk for s in page.context["page"]] == [failing.pk, waiting.pk]
    body = page.content.decode()
    assert "● Fails 1 of 2 tests" in body and "● Code being checked…" in body
    assert "Disagrees with reference" not in body


def test_running_the_tests_again_queues_a_run(teacher_client, teacher):
    solution = solution_create(problem=programming(), body=CODE)
    finish(solution, "passed", ["passed", "passed"], "Passes all 2 tests.")
    response = teacher_client.post(reverse("teacher:solution-judge", args=[solution.pk]))
    assert response.status_code == 302
    latest = JudgeRun.objects.order_by("-id").first()
    assert latest.status == JudgeRun.Status.QUEUED and latest.requested_by == teacher
    body = teacher_client.get(reverse("teacher:solution-review", args=[solution.pk])
                              ).content.decode()
    assert "being run against the problem" in body


def test_a_server_without_bubblewrap_says_so(teacher_client):
    solution = solution_create(problem=programming(), body=CODE)
    finish(solution, "unavailable", [], "Code checks are not available on this server: "
                                        "install bubblewrap.")
    body = teacher_client.get(reverse("teacher:solution-review", args=[solution.pk])
                              ).content.decode()
    assert "not available on this server: install bubblewrap" in body


def test_maths_pages_have_no_code_check(teacher_client):
    solution = solution_create(problem=make_problem(), body="It is $\\boxed{3}$.")
    body = teacher_client.get(reverse("teacher:solution-review", args=[solution.pk])
                              ).content.decode()
    assert "Code check" not in body


def test_the_reference_solution_is_run_from_the_problem_page(teacher_client, teacher):
    problem = programming(reference_solution="print(3)")
    page = teacher_client.get(reverse("teacher:problem-detail", args=[problem.pk]))
    assert "Run my reference solution" in page.content.decode()
    teacher_client.post(reverse("teacher:problem-judge-reference", args=[problem.pk]))
    run = JudgeRun.objects.get(problem=problem, revision__isnull=True)
    assert run.requested_by == teacher and run.status == JudgeRun.Status.QUEUED


def test_without_a_reference_solution_the_teacher_is_told_what_to_do(teacher_client):
    problem = programming()
    response = teacher_client.post(
        reverse("teacher:problem-judge-reference", args=[problem.pk]), follow=True)
    assert "no reference solution yet" in response.content.decode()
    assert not JudgeRun.objects.exists()


def test_the_problem_form_takes_limits_a_reference_solution_and_tolerances(teacher_client):
    problem = programming()
    data = {"title": problem.title, "kind": "programming", "status": "ready", "difficulty": 3,
            "tags": "", "statement": "Add.", "reference_answer": "", "source": "",
            "language": "en", "reference_solution": "print(3)", "judge_cpu_seconds": "1.5",
            "judge_memory_mb": "64",
            "test_cases": '[{"input": "", "output": "0.5", "tolerance": "tiny"}]'}
    response = teacher_client.post(reverse("teacher:problem-edit", args=[problem.pk]), data)
    assert "Test 1: the tolerance must be a positive number" in response.content.decode()
    data["test_cases"] = '[{"input": "", "output": "0.5", "tolerance": 1e-6}]'
    teacher_client.post(reverse("teacher:problem-edit", args=[problem.pk]), data)
    problem.refresh_from_db()
    assert (problem.judge_cpu_seconds, problem.judge_memory_mb) == (1.5, 64)
    assert problem.reference_solution == "print(3)"
    assert problem.test_cases[0]["tolerance"] == 1e-6


def test_a_check_made_on_other_tests_or_another_reference_says_so(teacher_client):
    problem = programming(reference_solution="print(3)")
    teacher_client.post(reverse("teacher:problem-judge-reference", args=[problem.pk]))
    JudgeRun.objects.update(status=JudgeRun.Status.DONE, outcome="passed", passed=2, total=2,
                            message="Passes all 2 tests.")
    url = reverse("teacher:problem-detail", args=[problem.pk])
    assert "changed after this check" not in teacher_client.get(url).content.decode()
    Problem.objects.filter(pk=problem.pk).update(reference_solution="print(4)")
    assert "changed after this check" in teacher_client.get(url).content.decode()
