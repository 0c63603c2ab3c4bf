"""Generation batches and jobs. The job table, not the task queue, is the source of truth."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class GenerationBatch(models.Model):
    """Problems x one template x endpoints x samples, started together by one person."""

    name = models.CharField(_("name"), max_length=200, blank=True)
    template = models.ForeignKey(
        "questionbank.PromptTemplate", verbose_name=_("template"), on_delete=models.PROTECT,
        related_name="batches"
    )
    endpoints = models.ManyToManyField("questionbank.ModelEndpoint",
                                       verbose_name=_("endpoints"), related_name="batches")
    samples = models.PositiveSmallIntegerField(_("samples"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="batches",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("cancelled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("generation batches")
        verbose_name = _("generation batch")

    def __str__(self) -> str:
        return self.name or gettext("Batch %(number)s") % {"number": self.pk}

    def get_absolute_url(self) -> str:
        return reverse("teacher:batch-detail", args=[self.pk])


class GenerationJob(models.Model):
    """One call's worth of work: one problem, one sample, through one template."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        # Adaptive sampling settled the problem before this sample started: never a
        # failure, never retried.
        NOT_NEEDED = "not_needed", _("Not needed")

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.NOT_NEEDED)

    batch = models.ForeignKey(GenerationBatch, verbose_name=_("batch"),
                              on_delete=models.CASCADE, related_name="jobs")
    problem = models.ForeignKey(
        "questionbank.Problem", verbose_name=_("problem"), on_delete=models.CASCADE,
        related_name="jobs"
    )
    template = models.ForeignKey(
        "questionbank.PromptTemplate", verbose_name=_("template"), on_delete=models.PROTECT,
        related_name="jobs"
    )
    sample_index = models.PositiveSmallIntegerField(_("sample index"), default=0)
    problem_version = models.PositiveIntegerField(_("problem version"))
    endpoint = models.ForeignKey(
        "questionbank.ModelEndpoint", verbose_name=_("endpoint"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        help_text=_("The endpoint of the current or last attempt."),
    )
    status = models.CharField(_("status"),
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("max attempts"), default=5)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True,
                                            db_index=True)
    claimed_by = models.CharField(_("claimed by"), max_length=100, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    error_class = models.CharField(_("error class"), max_length=60, blank=True)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    partial_text = models.TextField(_("partial text"), blank=True)
    partial_updated_at = models.DateTimeField(_("partial updated at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="generation_jobs",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["batch_id", "id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["endpoint", "status"]),
            # The claim's breadth-first order over waiting jobs (claims.py).
            models.Index(fields=["batch", "sample_index", "id"], name="job_waiting_order",
                         condition=models.Q(status="queued")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "problem", "sample_index"], name="job_unique_sample"
            ),
        ]
        verbose_name = _("generation job")
        verbose_name_plural = _("generation jobs")

    def __str__(self) -> str:
        return gettext("Job %(number)s: problem %(problem)s #%(sample)s (%(status)s)") % {
            "number": self.pk, "problem": self.problem_id, "sample": self.sample_index + 1,
            "status": self.get_status_display()}

    def get_absolute_url(self) -> str:
        return reverse("teacher:batch-detail", args=[self.batch_id]) + f"#job-{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class SamplingStop(models.Model):
    """Why adaptive sampling stopped one problem of one batch (questionbank.sampling).

    Written once, when the stopping rule says no more samples are needed; a problem
    without one used its whole budget (or its batch is fixed or still running)."""

    class Reason(models.TextChoices):
        SETTLED = "settled", _("Settled")
        REFERENCE = "reference", _("Agrees with the reference")
        UNLIKELY = "unlikely", _("Needs attention")
        TESTS = "tests", _("Passes all tests")

    batch = models.ForeignKey(GenerationBatch, on_delete=models.CASCADE,
                              related_name="sampling_stops")
    problem = models.ForeignKey("questionbank.Problem", on_delete=models.CASCADE,
                                related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    agreeing = models.PositiveSmallIntegerField(
        default=0, help_text="Samples in the majority group (with a reference: agreeing).")
    answered = models.PositiveSmallIntegerField(default=0,
                                                help_text="Finished samples counted.")
    probability = models.FloatField(null=True, blank=True,
                                    help_text="The rule's posterior probability.")
    cancelled = models.PositiveSmallIntegerField(
        default=0, help_text="Waiting samples marked not needed.")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "problem"], name="sampling_stop_once"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}/{self.problem_id}: {self.reason}"
