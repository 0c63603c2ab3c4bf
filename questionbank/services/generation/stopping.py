"""Adaptive sampling in the pipeline: after a finished sample, ask the stopping rule
(questionbank.sampling) whether the problem needs more; if not, its waiting samples
become "not needed".

Race-safe with workers claiming at the same moment: a job is cancelled only by a
conditional UPDATE on ``status = 'queued'``, and claims are conditional UPDATEs on the
same column (claims.py), so each waiting job goes one way or the other, never both. A
job claimed first runs, finishes and is counted; a job cancelled first is never called
(the runner starts only jobs whose claim token it holds).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from questionbank import sampling
from questionbank.models import (
    GenerationJob,
    JudgeRun,
    Problem,
    PromptTemplate,
    SamplingStop,
    Solution,
)
from questionbank.services.solutions import problem_vote

from .batches import batch_mark_finished

logger = logging.getLogger(__name__)


def sampling_policy(template: PromptTemplate, maximum: int) -> sampling.Policy:
    return sampling.Policy(
        maximum=maximum, adaptive=template.is_adaptive,
        agree_with_reference=template.agree_with_reference,
        threshold=template.confidence_threshold, minimum=template.min_samples)


def problem_sampling_check(*, batch_id: int, problem_id: int, vote: bool = False
                           ) -> SamplingStop | None:
    """Decide whether one problem of one adaptive batch needs more samples; when not,
    mark its waiting samples "not needed" (running ones finish and are kept) and record
    why. ``vote``: run the answer vote first (a new sample just arrived), so the groups
    are the vote's. Returns the stop (new or earlier), ``None`` while sampling goes on or
    for a fixed policy."""
    if vote:
        problem_vote(problem_id=problem_id)
    with transaction.atomic():
        # The problem row serializes the decisions (and the votes) of one problem.
        problem = Problem.objects.select_for_update().get(pk=problem_id)
        done = SamplingStop.objects.filter(batch_id=batch_id, problem_id=problem_id).first()
        if done is not None:
            return done
        jobs = list(GenerationJob.objects.filter(batch_id=batch_id, problem_id=problem_id)
                    .select_related("template").only("status", "template"))
        if not jobs or not jobs[0].template.is_adaptive:
            return None
        s = GenerationJob.Status
        remaining = sum(1 for j in jobs if j.status in (s.QUEUED, s.RUNNING))
        if remaining == 0:
            return None  # nothing left to save: the budget was spent
        answers = list(Solution.objects.candidates().filter(
            job__batch_id=batch_id, job__problem_id=problem_id, job__status=s.SUCCEEDED)
            .order_by("created_at", "pk").values_list("pk", "answer_group", "verdict"))
        agrees = None
        if problem.kind == Problem.Kind.MATHS and problem.reference_answer.strip():
            agrees = [verdict == Solution.Verdict.AGREES for _, _, verdict in answers]
        passes = problem.kind == Problem.Kind.PROGRAMMING and JudgeRun.objects.filter(
            revision__solution__in=[pk for pk, _, _ in answers], status=JudgeRun.Status.DONE,
            outcome=JudgeRun.Outcome.PASSED).exists()
        decision = sampling.decide(
            sampling_policy(jobs[0].template, len(jobs)),
            groups=[group for _, group, _ in answers], remaining=remaining, agrees=agrees,
            passes_all_tests=passes)
        if not decision.stop or decision.reason == sampling.BUDGET:
            return None
        cancelled = GenerationJob.objects.filter(
            batch_id=batch_id, problem_id=problem_id, status=s.QUEUED,
        ).update(status=s.NOT_NEEDED, finished_at=timezone.now(), next_attempt_at=None)
        stop = SamplingStop.objects.create(
            batch_id=batch_id, problem_id=problem_id, reason=decision.reason,
            agreeing=decision.agreeing, answered=decision.answered,
            probability=decision.probability, cancelled=cancelled)
    if cancelled:
        batch_mark_finished(batch_id)  # its last waiting jobs may have been these
    return stop


def job_sampling_check(job: GenerationJob, *, created: bool) -> bool:
    """The runner's hook after writing up ``job`` (``created``: it made a solution).
    Returns True when the problem was voted on here (adaptive templates vote at once, so
    a settled problem's candidates are ranked as soon as it settles)."""
    if not job.template.is_adaptive:
        return False
    try:
        problem_sampling_check(batch_id=job.batch_id, problem_id=job.problem_id,
                               vote=created)
    except Exception:
        # The job is written up already; the problem's next answer asks again.
        logger.exception("job %s: the sampling check failed", job.pk)
        return False
    return created


def judge_sampling_check(*, revision_id: int | None) -> None:
    """The judge's hook: a sample that passes all tests may settle its problem."""
    if revision_id is None:
        return
    job = (GenerationJob.objects.filter(solution__revisions=revision_id)
           .select_related("template").only("batch_id", "problem_id", "template").first())
    if job is not None and job.template.is_adaptive:
        problem_sampling_check(batch_id=job.batch_id, problem_id=job.problem_id)
