"""Adaptive sampling as the pages show it: per problem, samples used and why sampling
stopped; per batch, the GPU time saved; per template, each policy's savings."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Avg
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from questionbank.formatting import format_duration
from questionbank.models import (
    CallLog,
    GenerationBatch,
    GenerationJob,
    PromptTemplate,
    SamplingStop,
    Solution,
)

Status = GenerationJob.Status
USED = (Status.SUCCEEDED, Status.FAILED, Status.RUNNING)


@dataclass
class ProblemSampling:
    """One problem of one batch: ``used`` of ``maximum`` samples, and why it stopped."""

    problem_id: int
    title: str = ""
    maximum: int = 0
    used: int = 0
    not_needed: int = 0
    waiting: int = 0  # queued or running
    answered: int = 0  # samples with a solution
    leader: int = 0  # answers in the largest group
    agreeing: int = 0  # answers agreeing with the reference
    has_reference: bool = False
    first_answer_at: object = None
    stop: SamplingStop | None = None

    @property
    def majority_share(self) -> float | None:
        return self.leader / self.answered if self.answered else None

    @property
    def settled(self) -> bool:
        return self.stop is not None

    @property
    def needs_attention(self) -> bool:
        return self.stop is not None and self.stop.reason == SamplingStop.Reason.UNLIKELY

    @property
    def reason(self) -> str:
        """Why sampling stopped, in words ("" while it goes on)."""
        stop = self.stop
        if stop is not None:
            if stop.reason == SamplingStop.Reason.SETTLED:
                return _("settled: %(k)d of %(n)d agree") % {"k": stop.agreeing,
                                                              "n": stop.answered}
            if stop.reason == SamplingStop.Reason.REFERENCE:
                return ngettext("%(k)d agrees with the reference",
                                "%(k)d agree with the reference",
                                stop.agreeing) % {"k": stop.agreeing}
            if stop.reason == SamplingStop.Reason.UNLIKELY:
                return _("needs attention: %(k)d of %(n)d agree with the reference, and more "
                         "agreement is unlikely within the budget") % {
                             "k": stop.agreeing, "n": stop.answered}
            return _("a sample passes all tests")
        if self.waiting:
            return ""
        if self.has_reference:
            return ngettext("budget spent: %(k)d agrees with the reference",
                            "budget spent: %(k)d agree with the reference",
                            self.agreeing) % {"k": self.agreeing}
        if self.answered and 2 * self.leader > self.answered:
            return _("budget spent: %(k)d of %(n)d agree") % {"k": self.leader,
                                                              "n": self.answered}
        return _("budget spent, no majority")


@dataclass
class BatchSampling:
    """A batch's problems and what adaptive sampling saved."""

    problems: list[ProblemSampling] = field(default_factory=list)
    adaptive: bool = False
    calls_saved: int = 0  # jobs marked not needed
    calls_maximum: int = 0
    mean_call_seconds: float | None = None  # measured on this batch's successful calls
    all_answered_at: object = None  # when the last problem got its first answer
    started_at: object = None

    @property
    def all_answered_after(self) -> str:
        """How long after the start every problem had an answer ("" until then)."""
        if self.all_answered_at is None or self.started_at is None:
            return ""
        return format_duration((self.all_answered_at - self.started_at).total_seconds())

    @property
    def seconds_saved(self) -> float | None:
        if self.mean_call_seconds is None:
            return None
        return self.calls_saved * self.mean_call_seconds

    @property
    def answered_problems(self) -> int:
        return sum(1 for p in self.problems if p.answered)


def batch_sampling(*, batch: GenerationBatch, problem_id: int | None = None) -> BatchSampling:
    """Per problem of ``batch``: samples used / maximum, the reason sampling stopped and
    the majority share (this batch's answers, in the vote's groups); and for the batch:
    calls saved, the measured mean call time and the "every problem has an answer"
    milestone. A few queries, whatever the batch's size. ``problem_id``: that problem
    only (the batch figures then cover it alone)."""
    only = {} if problem_id is None else {"problem_id": problem_id}
    rows: dict[int, ProblemSampling] = {}
    adaptive = False
    for problem_id, title, status, finished_at, is_adaptive, reference in (
        GenerationJob.objects.filter(batch=batch, **only)
        .values_list("problem_id", "problem__title", "status", "finished_at",
                     "template__sampling_policy", "problem__reference_answer")
        .order_by("problem_id", "sample_index")
    ):
        row = rows.get(problem_id)
        if row is None:
            row = rows[problem_id] = ProblemSampling(problem_id, title,
                                                     has_reference=bool(reference.strip()))
        adaptive = adaptive or is_adaptive == PromptTemplate.SamplingPolicy.ADAPTIVE
        row.maximum += 1
        row.used += status in USED
        row.not_needed += status == Status.NOT_NEEDED
        row.waiting += status in (Status.QUEUED, Status.RUNNING)
        if status == Status.SUCCEEDED and finished_at is not None and (
                row.first_answer_at is None or finished_at < row.first_answer_at):
            row.first_answer_at = finished_at
    groups: dict[int, Counter] = defaultdict(Counter)
    for problem_id, group, verdict in (
        Solution.objects.candidates().filter(job__batch=batch, **only)
        .values_list("problem_id", "answer_group", "verdict")
    ):
        row = rows[problem_id]
        row.answered += 1
        row.agreeing += verdict == Solution.Verdict.AGREES
        if group is not None:
            groups[problem_id][group] += 1
    for problem_id, counts in groups.items():
        rows[problem_id].leader = max(counts.values())
    for stop in SamplingStop.objects.filter(batch=batch, **only):
        if stop.problem_id in rows:
            rows[stop.problem_id].stop = stop
    problems = sorted(rows.values(), key=lambda r: (r.title.casefold(), r.problem_id))
    firsts = [r.first_answer_at for r in problems]
    mean_ms = (CallLog.objects.filter(batch=batch, outcome=CallLog.Outcome.SUCCESS,
                                      latency_ms__isnull=False)
               .aggregate(m=Avg("latency_ms"))["m"])
    return BatchSampling(
        problems=problems, adaptive=adaptive,
        calls_saved=sum(r.not_needed for r in problems),
        calls_maximum=sum(r.maximum for r in problems),
        mean_call_seconds=mean_ms / 1000 if mean_ms is not None else None,
        all_answered_at=max(firsts) if firsts and None not in firsts else None,
        started_at=batch.created_at,
    )


def problem_sampling(*, solution: Solution) -> ProblemSampling | None:
    """The sampling of the problem in the batch that made ``solution`` (review page)."""
    if solution.job_id is None:
        return None
    batch = GenerationBatch.objects.filter(jobs=solution.job_id).first()
    if batch is None or batch.samples < 2:
        return None
    rows = batch_sampling(batch=batch, problem_id=solution.problem_id).problems
    return rows[0] if rows else None


@dataclass(frozen=True)
class PolicySavings:
    """What one sampling policy used on a template's past batches."""

    policy: str
    label: str
    batches: int
    problems: int  # (batch, problem) pairs
    maximum: int  # samples asked for
    used: int  # samples called
    not_needed: int
    mean_call_seconds: float | None

    @property
    def calls_per_problem(self) -> float:
        return self.used / self.problems if self.problems else 0.0

    @property
    def saved_share(self) -> float:
        return self.not_needed / self.maximum if self.maximum else 0.0

    @property
    def seconds_saved(self) -> float | None:
        if self.mean_call_seconds is None:
            return None
        return self.not_needed * self.mean_call_seconds


def template_policy_savings(*, lineage) -> list[PolicySavings]:
    """Each sampling policy's measured savings over every version of one template."""
    per: dict[str, dict] = {}
    for policy, batch_id, problem_id, status in (
        GenerationJob.objects.filter(template__lineage=lineage)
        .values_list("template__sampling_policy", "batch_id", "problem_id", "status")
    ):
        entry = per.setdefault(policy, {"batches": set(), "pairs": set(), "maximum": 0,
                                        "used": 0, "not_needed": 0})
        entry["batches"].add(batch_id)
        entry["pairs"].add((batch_id, problem_id))
        entry["maximum"] += 1
        entry["used"] += status in USED
        entry["not_needed"] += status == Status.NOT_NEEDED
    labels = dict(PromptTemplate.SamplingPolicy.choices)
    result = []
    for policy, entry in sorted(per.items()):
        mean_ms = (CallLog.objects.filter(template__lineage=lineage,
                                          template__sampling_policy=policy,
                                          outcome=CallLog.Outcome.SUCCESS,
                                          latency_ms__isnull=False)
                   .aggregate(m=Avg("latency_ms"))["m"])
        result.append(PolicySavings(
            policy=policy, label=str(labels.get(policy, policy)),
            batches=len(entry["batches"]), problems=len(entry["pairs"]),
            maximum=entry["maximum"], used=entry["used"], not_needed=entry["not_needed"],
            mean_call_seconds=mean_ms / 1000 if mean_ms is not None else None))
    return result
