"""What the pages say about adaptive sampling: per problem on the batch and review pages,
savings on the batch summary and the template page, the policy on the template form."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from questionbank.models import GenerationJob, PromptTemplate, SamplingStop, Solution
from questionbank.services.generation import batch_create
from questionbank.services.generation.stopping import problem_sampling_check
from questionbank.services.solutions import solution_create
from tests import factories

pytestmark = pytest.mark.django_db

Status = GenerationJob.Status


def answer(job: GenerationJob, value: str) -> Solution:
    """The job's call came back with ``value`` as its final answer."""
    GenerationJob.objects.filter(pk=job.pk).update(status=Status.SUCCEEDED,
                                                   finished_at=timezone.now())
    return solution_create(problem=job.problem, body=f"So \\boxed{{{value}}}.", job=job,
                           final_answer=value, problem_version=job.problem.version,
                           template=job.template)


def answer_all(batch, problem, values) -> list[Solution]:
    jobs = batch.jobs.filter(problem=problem).order_by("sample_index")
    made = [answer(job, value) for job, value in zip(jobs, values, strict=False)]
    problem_sampling_check(batch_id=batch.pk, problem_id=problem.pk, vote=True)
    return made


@pytest.fixture
def adaptive_batch():
    template = factories.make_template(name="Adaptive maths", sampling_policy="adaptive")
    settled = factories.make_problem(title="A settled one", reference_answer="")
    agreed = factories.make_problem(title="B with a reference", reference_answer="16")
    split = factories.make_problem(title="C split", reference_answer="")
    batch = batch_create(problems=[settled, agreed, split], template=template,
                         endpoints=[factories.make_endpoint()], samples=8)
    made = answer_all(batch, settled, ["7", "7", "7"])
    answer_all(batch, agreed, ["16", "16"])
    answer_all(batch, split, [str(n) for n in range(8)])
    return batch, made[0]


def test_the_stopping_rule_marks_waiting_samples_not_needed(adaptive_batch):
    batch, _ = adaptive_batch
    stops = {s.problem.title: s for s in SamplingStop.objects.filter(batch=batch)}
    assert set(stops) == {"A settled one", "B with a reference"}
    assert stops["A settled one"].reason == SamplingStop.Reason.SETTLED
    assert stops["A settled one"].cancelled == 5
    assert stops["B with a reference"].reason == SamplingStop.Reason.REFERENCE
    assert batch.jobs.filter(status=Status.NOT_NEEDED).count() == 5 + 6


def test_batch_page_shows_each_problem_s_samples_and_why_it_stopped(teacher_client,
                                                                   adaptive_batch):
    batch, _ = adaptive_batch
    page = teacher_client.get(batch.get_absolute_url())
    body = page.content.decode()
    rows = {r.title: r for r in page.context["sampling"].problems}
    assert (rows["A settled one"].used, rows["A settled one"].maximum) == (3, 8)
    assert rows["A settled one"].reason == "settled: 3 of 3 agree"
    assert rows["B with a reference"].reason == "2 agree with the reference"
    assert rows["C split"].reason == "budget spent, no majority"
    assert rows["C split"].majority_share == pytest.approx(1 / 8)
    for text in ("settled: 3 of 3 agree", "2 agree with the reference",
                 "budget spent, no majority", "3 / 8", "2 / 8", "8 / 8", "100%", "12%",
                 "Every problem has at least one answer",
                 "11 of 24 calls not needed"):
        assert text in body, text


def test_the_milestone_counts_problems_without_an_answer_yet(teacher_client):
    template = factories.make_template(sampling_policy="adaptive")
    problems = [factories.make_problem(title=f"P{n}") for n in range(3)]
    batch = batch_create(problems=problems, template=template,
                         endpoints=[factories.make_endpoint()], samples=2)
    answer(batch.jobs.get(problem=problems[0], sample_index=0), "5")
    body = teacher_client.get(batch.get_absolute_url()).content.decode()
    assert "1 of 3 problems have at least one answer." in body
    assert "sampling…" in body


def test_progress_poll_renders_the_same_reasons(teacher_client, adaptive_batch):
    batch, _ = adaptive_batch
    data = teacher_client.get(reverse("teacher:batch-progress", args=[batch.pk])).json()
    assert data["counts"]["not_needed"] == 11
    assert "settled: 3 of 3 agree" in data["html"]["jobs"]
    assert "11 of 24 calls not needed" in data["html"]["status"]


def test_review_page_shows_the_problem_s_sampling(teacher_client, adaptive_batch):
    _, solution = adaptive_batch
    body = teacher_client.get(reverse("teacher:solution-review", args=[solution.pk])
                              ).content.decode()
    assert "3 of at most 8 used" in body
    assert "majority share 100%" in body and "settled: 3 of 3 agree" in body


def test_fixed_batch_says_every_sample_is_used(teacher_client):
    template = factories.make_template()
    problem = factories.make_problem(title="Fixed one", reference_answer="")
    batch = batch_create(problems=[problem], template=template,
                         endpoints=[factories.make_endpoint()], samples=3)
    answer_all(batch, problem, ["4", "4", "4"])
    assert not SamplingStop.objects.exists()
    page = teacher_client.get(batch.get_absolute_url())
    body = page.content.decode()
    assert "Fixed sampling: every problem gets all its samples." in body
    assert "budget spent: 3 of 3 agree" in body
    assert "calls not needed" not in body


def test_template_page_shows_each_policy_s_savings(teacher_client, adaptive_batch):
    batch, _ = adaptive_batch
    template = batch.template
    body = teacher_client.get(reverse("teacher:template-detail", args=[template.pk])
                              ).content.decode()
    assert "Sampling savings" in body
    assert "11 of 24 (46%)" in body
    savings = teacher_client.get(reverse("teacher:template-detail", args=[template.pk])
                                 ).context["savings"]
    assert [(s.policy, s.problems, s.used, s.not_needed) for s in savings] == [
        ("adaptive", 3, 13, 11)]
    assert savings[0].calls_per_problem == pytest.approx(13 / 3)


def test_teacher_chooses_the_policy_on_the_template_form(teacher_client):
    teacher_client.post(reverse("teacher:template-create"), {
        "name": "Careful adaptive", "kind": "maths", "user_prompt": "{statement}",
        "temperature": 1.0, "top_p": 0.95, "max_new_tokens": 4096,
        "repetition_penalty": 1.0, "samples": 8, "sampling_policy": "adaptive",
        "agree_with_reference": 3, "confidence_threshold": 0.9, "min_samples": 4})
    template = PromptTemplate.objects.get(name="Careful adaptive")
    assert template.is_adaptive
    assert (template.agree_with_reference, template.confidence_threshold,
            template.min_samples) == (3, 0.9, 4)
    body = teacher_client.get(template.get_absolute_url()).content.decode()
    assert "Adaptive: stop when the answer is settled" in body and "at most 8" in body


def test_a_sample_passing_all_tests_settles_a_programming_problem(teacher_client):
    from questionbank.models import JudgeRun, Problem
    from questionbank.services.generation.stopping import judge_sampling_check

    template = factories.make_template(kind="programming", sampling_policy="adaptive")
    problem = factories.make_problem(title="Add one", kind=Problem.Kind.PROGRAMMING,
                                     reference_answer="")
    batch = batch_create(problems=[problem], template=template,
                         endpoints=[factories.make_endpoint()], samples=4)
    solution = answer(batch.jobs.get(sample_index=0), "")
    judge_sampling_check(revision_id=solution.current_revision_id)
    assert not SamplingStop.objects.exists()  # not judged yet: sampling goes on
    JudgeRun.objects.filter(revision=solution.current_revision).delete()
    JudgeRun.objects.create(problem=problem, revision=solution.current_revision,
                            code_hash="c", tests_hash="t", status=JudgeRun.Status.DONE,
                            outcome=JudgeRun.Outcome.PASSED, passed=3, total=3)
    judge_sampling_check(revision_id=solution.current_revision_id)
    stop = SamplingStop.objects.get(batch=batch)
    assert stop.reason == SamplingStop.Reason.TESTS and stop.cancelled == 3
    body = teacher_client.get(batch.get_absolute_url()).content.decode()
    assert "a sample passes all tests" in body and "1 / 4" in body


def test_batch_list_counts_the_samples_not_needed(teacher_client, adaptive_batch):
    body = teacher_client.get(reverse("teacher:batch-list")).content.decode()
    assert "13/24 done" in body and "11 not needed" in body
