"""What students see: one published explanation per problem, answers re-checked on every
revision, guarded publishing and bulk publishing that holds back what needs a look."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from questionbank.models import Solution, SolutionTransition
from questionbank.services.generation import batch_create
from questionbank.services.solutions import (
    Concern,
    PublishNeedsConfirmation,
    problem_vote,
    publish_concerns,
    published_solution_id,
    solution_add_revision,
    solution_create,
    solution_revert,
    solution_transition,
    solutions_transition,
)
from tests import factories
from tests.review_helpers import make_solution

pytestmark = pytest.mark.django_db


def _codes(solution) -> set[str]:
    return {c.code for c in publish_concerns(Solution.objects.get(pk=solution.pk))}


# --- One published explanation per problem --------------------------------------------------


def test_publishing_replaces_the_published_one_and_records_both_moves(teacher):
    first = make_solution()
    second = make_solution(problem=first.problem)
    solution_transition(solution=first, target="published", user=teacher)

    with pytest.raises(PublishNeedsConfirmation) as info:
        solution_transition(solution=second, target="published", user=teacher)
    assert [c.code for c in info.value.concerns] == [Concern.REPLACES]
    assert f"Students now see solution {first.pk}" in str(info.value)
    assert Solution.objects.get(pk=second.pk).status == "draft"  # nothing changed

    solution_transition(solution=second, target="published", user=teacher,
                        confirm=[Concern.REPLACES])
    assert published_solution_id(problem_id=first.problem_id) == second.pk
    assert Solution.objects.get(pk=first.pk).status == "draft"
    old = SolutionTransition.objects.filter(solution=first).latest("id")
    new = SolutionTransition.objects.filter(solution=second).latest("id")
    assert (old.source, old.target, old.user, old.reason) == (
        "published", "draft", teacher, f"Replaced by solution {second.pk}.")
    assert (new.source, new.target, new.user) == ("draft", "published", teacher)
    assert new.reason.startswith(f"Replaces solution {first.pk}.")
    assert "replaces the published solution" in new.reason


def test_the_database_refuses_a_second_published_solution():
    first = make_solution()
    second = make_solution(problem=first.problem)
    Solution.objects.filter(pk=first.pk).update(status="published")
    with pytest.raises(IntegrityError), transaction.atomic():
        Solution.objects.filter(pk=second.pk).update(status="published")
    # Other problems and other states are not limited.
    make_solution(problem=first.problem)
    other = make_solution()
    Solution.objects.filter(pk=other.pk).update(status="published")
    assert Solution.objects.published().count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_publishing_leaves_exactly_one_published():
    teacher = factories.make_teacher("racer")
    problem = factories.make_problem()
    candidates = [make_solution(problem=problem) for _ in range(4)]
    barrier = threading.Barrier(len(candidates))
    errors: list[BaseException] = []

    def publish(solution):
        try:
            barrier.wait(timeout=10)
            solution_transition(solution=solution, target="published", user=teacher,
                                confirm=Concern.LABELS)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish, args=(s,)) for s in candidates]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert Solution.objects.filter(problem=problem, status="published").count() == 1
    shown = published_solution_id(problem_id=problem.pk)
    # Every publication but the last was replaced, and each replacement is recorded.
    replaced = SolutionTransition.objects.filter(solution__problem=problem, source="published",
                                                 target="draft")
    assert replaced.count() == 3
    published_moves = SolutionTransition.objects.filter(solution__problem=problem,
                                                        target="published")
    assert published_moves.count() == 4
    assert published_moves.latest("id").solution_id == shown


def test_a_new_batch_never_changes_what_students_see(teacher):
    problem = factories.make_problem(reference_answer="6")
    edited = make_solution(problem=problem, body="Wrong: $\\boxed{732}$", final_answer="732",
                           verdict="disagrees")
    solution_add_revision(solution=edited, body="Right: $\\boxed{6}$", author=teacher)
    solution_transition(solution=edited, target="published", user=teacher)
    newer = [make_solution(problem=problem, body="$\\boxed{7}$", final_answer="7",
                           verdict="disagrees") for _ in range(3)]
    problem_vote(problem_id=problem.pk)
    result = solutions_transition(solutions=newer, target="published", user=teacher)
    assert result.moved == []
    assert published_solution_id(problem_id=problem.pk) == edited.pk
    assert Solution.objects.get(pk=edited.pk).final_answer == "6"


# --- The best candidate across all solutions ------------------------------------------------


def test_best_candidate_is_chosen_across_all_current_solutions():
    problem = factories.make_problem(reference_answer="")
    template = factories.make_template()
    answers = iter(["3", "5", "5", "3", "3"])
    made = []
    for samples in (2, 3):  # two batches
        batch = batch_create(problems=[problem], template=template,
                             endpoints=[factories.make_endpoint()], samples=samples)
        for job in batch.jobs.order_by("sample_index"):
            answer = next(answers)
            made.append(solution_create(problem=problem, body=f"$\\boxed{{{answer}}}$",
                                        job=job, final_answer=answer))
        problem_vote(problem_id=problem.pk)
    best = Solution.objects.get(problem=problem, is_best=True)
    assert best.pk == made[0].pk  # "3" holds 3 of 5 across both batches
    assert best.majority_share == pytest.approx(3 / 5)
    # A rejected candidate leaves the vote: "3" and "5" are then two each, "3" first.
    solution_transition(solution=made[0], target="rejected", user=None, reason="No.")
    assert Solution.objects.get(pk=made[0].pk).is_best is False
    assert Solution.objects.get(problem=problem, is_best=True).pk == made[1].pk


# --- Every revision is checked --------------------------------------------------------------


def test_an_edit_re_extracts_the_final_answer_and_re_checks_it(teacher):
    problem = factories.make_problem(reference_answer="6\\sqrt{3}")
    solution = make_solution(problem=problem, body="So the area is $\\boxed{732}$.",
                             final_answer="732", verdict="disagrees")
    revision = solution_add_revision(
        solution=solution, body="Six triangles: $\\boxed{6\\sqrt{3}}$.", author=teacher)
    solution.refresh_from_db()
    assert (solution.final_answer, solution.verdict) == ("6\\sqrt{3}", "agrees")
    assert (revision.final_answer, revision.final_answer_by_teacher) == ("6\\sqrt{3}", False)
    assert revision.verdict == "agrees" and revision.reference_answer == "6\\sqrt{3}"
    assert revision.checked_at is not None and revision.agreement == 1.0
    # History keeps what each text was checked as.
    first = solution.revisions.get(number=1)
    assert (first.final_answer, first.verdict) == ("732", "disagrees")
    assert Concern.DISAGREES not in _codes(solution)


def test_a_typed_final_answer_wins_over_the_text(teacher):
    problem = factories.make_problem(reference_answer="0.5")
    solution = make_solution(problem=problem, body="$\\boxed{1/3}$", final_answer="1/3",
                             verdict="disagrees")
    revision = solution_add_revision(solution=solution, body="It is $\\boxed{1/3}$.",
                                     author=teacher, final_answer=" \\frac{1}{2} ")
    assert (revision.final_answer, revision.final_answer_by_teacher) == ("\\frac{1}{2}", True)
    assert revision.verdict == "agrees"
    # A later edit without a typed answer goes back to the text's own.
    again = solution_add_revision(solution=solution, body="Now $\\boxed{0.25}$.",
                                  author=teacher)
    assert (again.final_answer, again.final_answer_by_teacher, again.verdict) == (
        "0.25", False, "disagrees")
    # Reverting to the typed revision brings its typed answer back.
    back = solution_revert(solution=solution, to_number=revision.number, author=teacher)
    assert (back.final_answer, back.final_answer_by_teacher, back.verdict) == (
        "\\frac{1}{2}", True, "agrees")


def test_an_edit_updates_the_agreement_of_every_candidate(teacher):
    problem = factories.make_problem(reference_answer="")
    a = make_solution(problem=problem, body="$\\boxed{2}$", final_answer="2")
    b = make_solution(problem=problem, body="$\\boxed{3}$", final_answer="3")
    problem_vote(problem_id=problem.pk)
    assert Solution.objects.get(pk=a.pk).majority_share == 0.5
    solution_add_revision(solution=b, body="Fixed: $\\boxed{2}$", author=teacher)
    assert Solution.objects.get(pk=a.pk).majority_share == 1.0
    assert Solution.objects.get(pk=b.pk).current_revision.agreement == 1.0


def test_a_programming_revision_is_not_checked_as_maths(teacher):
    problem = factories.make_problem(kind="programming", reference_answer="")
    solution = make_solution(problem=problem, verdict="not_checked")
    revision = solution_add_revision(solution=solution, body="```python\nprint(1)\n```",
                                     author=teacher)
    assert revision.verdict == "not_checked"


# --- Guards ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "reference", "code", "words"), [
    ({"final_answer": "5", "verdict": "disagrees"}, "4", Concern.DISAGREES,
     "Its final answer 5 disagrees with the reference answer 4."),
    ({"final_answer": "", "verdict": "unchecked"}, "4", Concern.UNCHECKED,
     "no final answer was found"),
    ({"final_answer": "a cat", "verdict": "unchecked"}, "4", Concern.UNCHECKED,
     "not maths the checker can compare"),
    ({"final_answer": "4", "verdict": "unchecked", "majority_share": 1.0, "answer_group": 0},
     "", Concern.UNCHECKED, "no reference answer and no clear majority"),
    ({"from_standin": True}, "4", Concern.STANDIN, "stand-in server"),
    ({"problem_version": 0}, "4", Concern.STALE, "now at version 1"),
])
def test_each_guard_names_its_reason(teacher, fields, reference, code, words):
    problem = factories.make_problem(reference_answer=reference)
    solution = make_solution(problem=problem, **fields)
    concerns = publish_concerns(solution)
    assert [c.code for c in concerns] == [code]
    assert words in concerns[0].message
    with pytest.raises(PublishNeedsConfirmation):
        solution_transition(solution=solution, target="published", user=teacher)
    assert Solution.objects.get(pk=solution.pk).status == "draft"
    solution_transition(solution=solution, target="published", user=teacher, confirm=[code])
    assert Solution.objects.get(pk=solution.pk).status == "published"
    assert Concern.LABELS[code] in SolutionTransition.objects.filter(
        solution=solution).latest("id").reason


def test_a_clear_majority_stands_in_for_a_missing_reference(teacher):
    problem = factories.make_problem(reference_answer="")
    solutions = [make_solution(problem=problem, body=f"$\\boxed{{{x}}}$", final_answer=x)
                 for x in ("2", "2", "3")]
    problem_vote(problem_id=problem.pk)
    assert _codes(solutions[0]) == set()
    assert _codes(solutions[2]) == {Concern.UNCHECKED}


def test_confirming_one_reason_does_not_confirm_another(teacher):
    solution = make_solution(verdict="disagrees", final_answer="9", from_standin=True)
    with pytest.raises(PublishNeedsConfirmation) as info:
        solution_transition(solution=solution, target="published", user=teacher,
                            confirm=[Concern.DISAGREES])
    assert [c.code for c in info.value.concerns] == [Concern.STANDIN]


# --- Bulk publishing ------------------------------------------------------------------------


def test_bulk_publish_holds_back_each_risky_one_with_its_reasons(teacher):
    safe = make_solution()
    wrong = make_solution(verdict="disagrees", final_answer="9")
    standin = make_solution(from_standin=True)
    shown = make_solution()
    solution_transition(solution=shown, target="published", user=teacher)
    rival = make_solution(problem=shown.problem)
    twin_a = make_solution()
    twin_b = make_solution(problem=twin_a.problem)

    result = solutions_transition(
        solutions=[safe, wrong, standin, rival, twin_a, twin_b], target="published",
        user=teacher)
    assert {s.pk for s in result.moved} == {safe.pk, twin_a.pk}
    held = {s.pk: [c.code for c in concerns] for s, concerns in result.held}
    assert held == {wrong.pk: [Concern.DISAGREES], standin.pk: [Concern.STANDIN],
                    rival.pk: [Concern.REPLACES]}
    assert [(s.pk, why) for s, why in result.refused] == [(twin_b.pk, (
        f"Solution {twin_a.pk} of the same problem was published in this step; a problem "
        "shows one explanation."))]
    assert published_solution_id(problem_id=shown.problem_id) == shown.pk

    # The explicit second step publishes what the teacher ticked.
    second = solutions_transition(solutions=[wrong, rival], target="published", user=teacher,
                                  confirmed=True)
    assert {s.pk for s in second.moved} == {wrong.pk, rival.pk}
    assert published_solution_id(problem_id=shown.problem_id) == rival.pk


def test_code_that_fails_its_tests_needs_confirmation(teacher):
    from questionbank.models import JudgeRun

    problem = factories.make_problem(kind="programming", reference_answer="")
    solution = make_solution(problem=problem, verdict="not_checked",
                             body="```python\nprint(1)\n```")
    JudgeRun.objects.filter(revision__solution=solution).delete()  # whatever was queued
    JudgeRun.objects.create(problem=problem, revision=solution.current_revision,
                            code_hash="x", tests_hash="y", status=JudgeRun.Status.DONE,
                            outcome=JudgeRun.Outcome.FAILED, passed=1, total=3)
    concerns = publish_concerns(Solution.objects.get(pk=solution.pk))
    assert [(c.code, c.message) for c in concerns] == [
        (Concern.CODE_TESTS, "Its code fails 2 of 3 tests.")]
    with pytest.raises(PublishNeedsConfirmation):
        solution_transition(solution=solution, target="published", user=teacher)
    solution_transition(solution=solution, target="published", user=teacher,
                        confirm=[Concern.CODE_TESTS])
    assert Solution.objects.get(pk=solution.pk).status == "published"
