"""Worked solutions, their append-only revisions and their review history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class IllegalTransition(Exception):
    """A solution was asked to move to a state it cannot reach from where it is."""


class SolutionQuerySet(models.QuerySet):
    def published(self):
        """The one filter that decides what students may read."""
        return self.filter(status=Solution.Status.PUBLISHED)

    def awaiting_review(self):
        return self.filter(status__in=[Solution.Status.DRAFT, Solution.Status.IN_REVIEW])

    def candidates(self):
        """A problem's current candidates: everything but the rejected."""
        return self.exclude(status=Solution.Status.REJECTED)


class Solution(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")

    class Verdict(models.TextChoices):
        AGREES = "agrees", _("Agrees with the reference")
        DISAGREES = "disagrees", _("Disagrees with the reference")
        UNCHECKED = "unchecked", _("Could not check")
        NOT_CHECKED = "not_checked", _("Not checked")

    # Which states each state may move to (publish flow in services.solutions).
    TRANSITIONS = {
        Status.DRAFT: {Status.IN_REVIEW, Status.PUBLISHED, Status.REJECTED},
        Status.IN_REVIEW: {Status.DRAFT, Status.PUBLISHED, Status.REJECTED},
        Status.PUBLISHED: {Status.DRAFT},
        Status.REJECTED: {Status.DRAFT},
    }

    problem = models.ForeignKey(
        "questionbank.Problem", verbose_name=_("problem"), on_delete=models.CASCADE,
        related_name="solutions"
    )
    job = models.OneToOneField(
        "questionbank.GenerationJob", verbose_name=_("job"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="solution",
        help_text=_("The job that generated it; one job makes at most one solution."),
    )
    status = models.CharField(_("status"),
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    current_revision = models.ForeignKey(
        "questionbank.SolutionRevision", verbose_name=_("current revision"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reasoning = models.TextField(_("reasoning"), blank=True,
                                 help_text=_("The model's <think> trace, kept apart."))
    # The current revision's checked answer, kept here for the lists and the queue.
    final_answer = models.TextField(_("final answer"), blank=True)
    verdict = models.CharField(_("verdict"),
        max_length=20, choices=Verdict.choices, default=Verdict.NOT_CHECKED, db_index=True
    )
    majority_share = models.FloatField(_("majority share"),
        null=True, blank=True,
        help_text=_("Share of the problem's current candidates whose answer is equivalent."),
    )
    answer_group = models.PositiveSmallIntegerField(_("answer group"), null=True, blank=True)
    is_best = models.BooleanField(_("is best"),
        default=False,
        help_text=_("The best candidate among all of the problem's current solutions (the "
        "first of the largest group of equivalent answers). It suggests; students see only "
        "the published solution."),
    )
    # Provenance.
    problem_version = models.PositiveIntegerField(_("problem version"), null=True, blank=True)
    template = models.ForeignKey(
        "questionbank.PromptTemplate", verbose_name=_("template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="solutions",
    )
    endpoint = models.ForeignKey(
        "questionbank.ModelEndpoint", verbose_name=_("endpoint"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="solutions",
    )
    call_log = models.ForeignKey(
        "questionbank.CallLog", verbose_name=_("call log"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    from_standin = models.BooleanField(_("from standin"), default=False)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("status changed by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    edit_distance = models.FloatField(_("edit distance"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("At the last publication: how much teachers changed the model's text "
        "(0 = untouched, 1 = rewritten), for the template quality figures."),
    )
    reply_truncated_from = models.PositiveIntegerField(
        _("reply truncated from"), null=True, blank=True,
        help_text=_("Length in characters of the model's reply when it was longer "
                    "than QB_MAX_REPLY_CHARS and cut; the call log has the reply "
                    "as received."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = SolutionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["problem", "status"]),
            models.Index(fields=["status", "verdict"]),
        ]
        constraints = [
            # Students see exactly one explanation per problem: the database says so.
            models.UniqueConstraint(
                fields=["problem"], condition=Q(status="published"),
                name="one_published_solution_per_problem",
            ),
        ]
        verbose_name = _("solution")
        verbose_name_plural = _("solutions")

    def __str__(self) -> str:
        return gettext("Solution %(number)s to %(problem)s") % {"number": self.pk,
                                                                 "problem": self.problem}

    def get_absolute_url(self) -> str:
        return reverse("teacher:solution-review", args=[self.pk])

    @property
    def is_stale(self) -> bool:
        """The problem's statement or reference answer changed after generation."""
        return self.problem_version is not None and self.problem_version < self.problem.version

    def can_move_to(self, target: str) -> bool:
        return target in self.TRANSITIONS.get(self.status, set())

    def move_to(self, target: str, *, user=None, reason: str = "") -> SolutionTransition:
        """Change state, refusing an illegal move, and record who did it and when."""
        if not self.can_move_to(target):
            raise IllegalTransition(
                gettext("A %(source)s solution cannot be %(target)s.")
                % {"source": self.get_status_display().lower(),
                   "target": self.Status(target).label.lower()}
            )
        source = self.status
        now = timezone.now()
        self.status = target
        self.status_changed_at = now
        self.status_changed_by = user
        fields = ["status", "status_changed_at", "status_changed_by", "updated_at"]
        if target == self.Status.PUBLISHED:
            self.published_at = now
            fields.append("published_at")
        if target == self.Status.REJECTED:
            self.rejection_reason = reason
            fields.append("rejection_reason")
        self.save(update_fields=fields)
        return SolutionTransition.objects.create(
            solution=self, source=source, target=target, user=user, reason=reason
        )


class SolutionRevision(models.Model):
    """Append-only: an edit adds a revision, a revert adds a copy of an older one."""

    solution = models.ForeignKey(Solution, verbose_name=_("solution"), on_delete=models.CASCADE,
                                 related_name="revisions")
    number = models.PositiveIntegerField(_("number"))
    body = models.TextField(_("body"))
    body_html = models.TextField(_("body html"), blank=True,
                                 help_text=_("Rendered once, when the revision is saved."))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="solution_revisions",
        help_text=_("Empty when the model wrote it."),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    # The answer check of this text, kept with it so history shows what was checked when.
    final_answer = models.TextField(_("final answer"), blank=True)
    final_answer_by_teacher = models.BooleanField(_("final answer by teacher"),
        default=False, help_text=_("A teacher typed the final answer; otherwise it was taken "
        "from the text (the last \\boxed{…} or 'Final answer: …').",
  )  )
    verdict = models.CharField(_("verdict"),
        max_length=20, choices=Solution.Verdict.choices, default=Solution.Verdict.NOT_CHECKED
    )
    reference_answer = models.TextField(_("reference answer"),
        blank=True, help_text=_("The problem's reference answer when this text was checked.")
    )
    agreement = models.FloatField(_("agreement"),
        null=True, blank=True,
        help_text=_("Share of the problem's candidates with an equivalent answer, last checked."),
    )
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["solution_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["solution", "number"], name="revision_unique_number"),
        ]
        verbose_name = _("solution revision")
        verbose_name_plural = _("solution revisions")

    def __str__(self) -> str:
        return gettext("Revision %(number)s of solution %(solution)s") % {
            "number": self.number, "solution": self.solution_id}

    @property
    def author_label(self) -> str:
        return self.author.get_username() if self.author_id else gettext("model")


class SolutionTransition(models.Model):
    """Append-only record of each review step: who moved a solution where, and why."""

    solution = models.ForeignKey(Solution, verbose_name=_("solution"), on_delete=models.CASCADE,
                                 related_name="transitions")
    source = models.CharField(_("source"), max_length=20, choices=Solution.Status.choices)
    target = models.CharField(_("target"), max_length=20, choices=Solution.Status.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["solution_id", "created_at", "id"]
        verbose_name = _("solution transition")
        verbose_name_plural = _("solution transitions")

    def __str__(self) -> str:
        return f"{self.solution_id}: {self.get_source_display()} -> {self.get_target_display()}"
