"""The append-only, hash-chained log of every call made to a model server."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class CallLog(models.Model):
    """One attempt at calling a model server, whatever its outcome.

    Rows are written once by ``services.calllogs.calllog_record`` and never updated.
    ``row_hash`` is an HMAC, keyed with a key kept outside the database
    (``questionbank/calllog_keys.py``), over the row's content and ``prev_hash``, the
    previous row's hash, so an edited or deleted row breaks the chain and nobody without the
    key can mend it (``manage.py verify_call_log``).
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        ERROR = "error", _("Error")

    created_at = models.DateTimeField(_("created at"), db_index=True)
    endpoint = models.ForeignKey(
        "questionbank.ModelEndpoint", verbose_name=_("endpoint"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call_logs",
    )
    endpoint_name = models.CharField(_("endpoint name"), max_length=100)
    protocol = models.CharField(_("protocol"), max_length=20)
    method = models.CharField(_("method"), max_length=10, default="POST")
    url = models.CharField(_("url"), max_length=1000)
    route = models.CharField(_("route"), max_length=30, blank=True)
    server_version = models.CharField(_("server version"), max_length=50, blank=True)
    request_headers = models.JSONField(_("request headers"), default=dict, blank=True)
    request_body = models.TextField(_("request body"), blank=True,
                                    help_text=_("As sent, with secrets redacted."))
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.TextField(_("response body"), blank=True,
                                     help_text=_("Capped; see response_size."))
    response_size = models.PositiveBigIntegerField(_("response size"), default=0)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, db_index=True)
    error_class = models.CharField(_("error class"), max_length=60, blank=True, db_index=True)
    error_message = models.TextField(_("error message"), blank=True)
    retryable = models.BooleanField(_("retryable"), null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency ms"), null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(_("prompt tokens"), null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(_("completion tokens"), null=True, blank=True)
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    sanitize_report = models.JSONField(_("sanitize report"), default=dict, blank=True)
    job = models.ForeignKey(
        "questionbank.GenerationJob", verbose_name=_("job"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call_logs",
    )
    batch = models.ForeignKey(
        "questionbank.GenerationBatch", verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call_logs",
    )
    problem = models.ForeignKey(
        "questionbank.Problem", verbose_name=_("problem"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call_logs",
    )
    problem_version = models.PositiveIntegerField(_("problem version"), null=True, blank=True)
    template = models.ForeignKey(
        "questionbank.PromptTemplate", verbose_name=_("template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call_logs",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call_logs",
    )
    prev_hash = models.CharField(_("prev hash"), max_length=64)
    row_hash = models.CharField(_("row hash"), max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("audit_calllog", _("Can audit model call logs"))]
        indexes = [
            models.Index(fields=["endpoint", "-id"], name="calllog_endpoint"),
            models.Index(fields=["outcome", "-id"], name="calllog_outcome"),
            models.Index(fields=["template", "-id"], name="calllog_template"),
            models.Index(fields=["batch", "-id"], name="calllog_batch"),
            models.Index(fields=["user", "-id"], name="calllog_user"),
            # The admin list filters by error class newest first (issue 7).
            models.Index(fields=["error_class", "-id"], name="calllog_error_class"),
        ]
        verbose_name = _("call log")
        verbose_name_plural = _("call logs")

    def __str__(self) -> str:
        return gettext("Call %(number)s to %(endpoint)s (%(outcome)s)") % {
            "number": self.pk, "endpoint": self.endpoint_name,
            "outcome": self.get_outcome_display()}

    def get_absolute_url(self) -> str:
        return reverse("admin:questionbank_calllog_change", args=[self.pk])


class CallLogChainHead(models.Model):
    """A single row holding the newest hash; writers lock it to extend the chain in order.

    ``mac`` authenticates ``(last_id, last_hash)`` with the chain key, so removing the
    newest rows and moving the head back to an earlier row is caught too; ``key_id`` names
    the key the chain was made with.
    """

    id = models.PositiveSmallIntegerField(_("id"), primary_key=True, default=1, editable=False)
    last_id = models.BigIntegerField(_("last id"), default=0)
    last_hash = models.CharField(_("last hash"), max_length=64)
    mac = models.CharField(_("MAC"), max_length=64, blank=True)
    key_id = models.CharField(_("key id"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("call-log chain head")
        verbose_name_plural = _("call-log chain heads")

    def __str__(self) -> str:
        return f"chain head at {self.last_id}"


class CallLogCheckpoint(models.Model):
    """Written by a purge: the hash of the last removed row, so the chain still verifies.

    ``mac`` authenticates the checkpoint with the chain key: a checkpoint inserted by hand
    to hide a deleted row is named as forged by the tamper check.
    """

    purged_through_id = models.BigIntegerField(_("purged through id"))
    last_hash = models.CharField(_("last hash"), max_length=64)
    rows_purged = models.PositiveBigIntegerField(_("rows purged"))
    older_than = models.DateTimeField(_("older than"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.CharField(_("created by"), max_length=150, blank=True)
    mac = models.CharField(_("MAC"), max_length=64, blank=True)

    class Meta:
        ordering = ["-purged_through_id"]
        verbose_name = _("call log checkpoint")
        verbose_name_plural = _("call log checkpoints")

    def __str__(self) -> str:
        return f"purged through {self.purged_through_id}"


class CallLogVerification(models.Model):
    """One run of the tamper check (a django-q2 task): its progress and its result."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        INTACT = "intact", _("Intact")
        BROKEN = "broken", _("Broken")
        FAILED = "failed", _("Failed")

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_total = models.PositiveBigIntegerField(default=0)
    rows_checked = models.PositiveBigIntegerField(default=0)
    first_broken_id = models.BigIntegerField(null=True, blank=True)
    problem = models.CharField(max_length=30, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("call-log verification")

    def __str__(self) -> str:
        return f"verification {self.pk} ({self.status})"

    @property
    def done(self) -> bool:
        return self.status in {self.Status.INTACT, self.Status.BROKEN, self.Status.FAILED}

    @property
    def percent(self) -> int:
        if self.done:
            return 100
        return min(99, int(100 * self.rows_checked / self.rows_total)) if self.rows_total else 0


class CallLogStat(models.Model):
    """Call-log figures pre-aggregated per hour, day and week (UTC), kept current by
    ``calllog_record`` in the transaction that writes the row, for the statistics page.

    One row per (span, start, dimension, key): ``dimension`` "all" (key ""), "endpoint"
    (the endpoint name) or "template" (the template id, "" for none). ``latencies`` is a
    histogram ``{bucket: count}`` (``services.calllog_stats.latency_bucket``),
    ``error_classes`` counts errors per class.
    """

    span = models.CharField(max_length=4)
    start = models.DateTimeField()
    dimension = models.CharField(max_length=8)
    key = models.CharField(max_length=100, blank=True)
    calls = models.PositiveBigIntegerField(default=0)
    errors = models.PositiveBigIntegerField(default=0)
    tokens = models.PositiveBigIntegerField(default=0)
    generation_ms = models.PositiveBigIntegerField(default=0)
    latencies = models.JSONField(default=dict)
    error_classes = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["span", "dimension", "start", "key"],
                                    name="calllogstat_bucket"),
        ]

    def __str__(self) -> str:
        return f"{self.span} {self.start:%Y-%m-%d %H:%M} {self.dimension} {self.key}"
