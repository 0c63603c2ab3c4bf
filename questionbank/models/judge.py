"""Runs of the code judge: one row per judging of a solution revision's code (or of a
problem's reference solution), with the verdict of every test."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class JudgeRunQuerySet(models.QuerySet):
    def signatures(self, solutions) -> list[tuple[bool, ...] | None]:
        """Per solution, test by test, whether its code's latest finished run passed
        (None: not judged, or this server could not judge it), for the vote."""
        found: dict[int, tuple[bool, ...] | None] = {}
        rows = (self.filter(revision__solution__in=solutions, status=JudgeRun.Status.DONE)
                .order_by("revision__solution_id", "-revision__number", "-id")
                .values_list("revision__solution_id", "outcome", "results"))
        judged = (JudgeRun.Outcome.PASSED, JudgeRun.Outcome.FAILED, JudgeRun.Outcome.ERROR)
        for solution_id, outcome, results in rows:
            if solution_id not in found:
                found[solution_id] = (tuple(r.get("verdict") == "passed" for r in results)
                                      if outcome in judged else None)
        return [found.get(s.pk) for s in solutions]


class JudgeRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    class Outcome(models.TextChoices):
        PASSED = "passed", "Passes all tests"
        FAILED = "failed", "Fails tests"
        ERROR = "error", "Could not run"
        UNAVAILABLE = "unavailable", "Not available on this server"
        NO_TESTS = "no_tests", "No tests to run"

    problem = models.ForeignKey(
        "questionbank.Problem", on_delete=models.CASCADE, related_name="judge_runs"
    )
    revision = models.ForeignKey(
        "questionbank.SolutionRevision",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="judge_runs",
        help_text="Empty: the run checked the problem's reference solution.",
    )
    code_hash = models.CharField(max_length=64, help_text="Of the code that was judged.")
    tests_hash = models.CharField(max_length=64, help_text="Of the tests and limits used.")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    message = models.TextField(blank=True)
    note = models.TextField(blank=True, help_text="How the code block was chosen.")
    language = models.CharField(max_length=20, blank=True)
    passed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list, blank=True, help_text="One object per test.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="Empty when the pipeline asked for it.",
    )
    claimed_by = models.CharField(max_length=120, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JudgeRunQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "id"], name="judgerun_status"),
            models.Index(fields=["revision", "-id"], name="judgerun_revision"),
            models.Index(fields=["problem", "-id"], name="judgerun_problem"),
        ]

    def __str__(self) -> str:
        what = f"revision {self.revision_id}" if self.revision_id else "reference solution"
        return f"Judge run {self.pk} of {what} ({self.get_status_display().lower()})"

    @property
    def failed(self) -> int:
        return self.total - self.passed

    @property
    def is_finished(self) -> bool:
        return self.status == self.Status.DONE
