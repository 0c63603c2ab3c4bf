"""Runs of the code judge: one row per judging of a solution revision's code (or of a
problem's reference solution), with the verdict of every test."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    class Outcome(models.TextChoices):
        PASSED = "passed", _("Passes all tests")
        FAILED = "failed", _("Fails tests")
        ERROR = "error", _("Could not run")
        UNAVAILABLE = "unavailable", _("Not available on this server")
        NO_TESTS = "no_tests", _("No tests to run")

    problem = models.ForeignKey(
        "questionbank.Problem", verbose_name=_("problem"), on_delete=models.CASCADE,
        related_name="judge_runs"
    )
    revision = models.ForeignKey(
        "questionbank.SolutionRevision", verbose_name=_("revision"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="judge_runs",
        help_text=_("Empty: the run checked the problem's reference solution."),
    )
    code_hash = models.CharField(_("code hash"), max_length=64,
                                 help_text=_("Of the code that was judged."))
    tests_hash = models.CharField(_("tests hash"), max_length=64,
                                  help_text=_("Of the tests and limits used."))
    status = models.CharField(_("status"),
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    message = models.TextField(_("message"), blank=True)
    note = models.TextField(_("note"), blank=True, help_text=_("How the code block was chosen."))
    language = models.CharField(_("language"), max_length=20, blank=True)
    passed = models.PositiveIntegerField(_("passed"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    results = models.JSONField(_("results"), default=list, blank=True,
                               help_text=_("One object per test."))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True, blank=True,
        on_delete=models.SET_NULL,
        related_name="+", help_text=_("Empty when the pipeline asked for it."),
    )
    claimed_by = models.CharField(_("claimed by"), max_length=120, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = JudgeRunQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "id"], name="judgerun_status"),
            models.Index(fields=["revision", "-id"], name="judgerun_revision"),
            models.Index(fields=["problem", "-id"], name="judgerun_problem"),
        ]
        verbose_name = _("judge run")
        verbose_name_plural = _("judge runs")

    def __str__(self) -> str:
        what = f"revision {self.revision_id}" if self.revision_id else "reference solution"
        return f"Judge run {self.pk} of {what} ({self.get_status_display().lower()})"

    @property
    def failed(self) -> int:
        return self.total - self.passed

    @property
    def is_finished(self) -> bool:
        return self.status == self.Status.DONE
