"""Worked solutions, their append-only revisions and their review history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy


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
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"
        REJECTED = "rejected", "Rejected"

    class Verdict(models.TextChoices):
        AGREES = "agrees", "Agrees with the reference"
        DISAGREES = "disagrees", "Disagrees with the reference"
        UNCHECKED = "unchecked", "Could not check"
        NOT_CHECKED = "not_checked", "Not checked"

    # Which states each state may move to (publish flow in services.solutions).
    TRANSITIONS = {
        Status.DRAFT: {Status.IN_REVIEW, Status.PUBLISHED, Status.REJECTED},
        Status.IN_REVIEW: {Status.DRAFT, Status.PUBLISHED, Status.REJECTED},
        Status.PUBLISHED: {Status.DRAFT},
        Status.REJECTED: {Status.DRAFT},
    }

    problem = models.ForeignKey(
        "questionbank.Problem", on_delete=models.CASCADE, related_name="solutions"
    )
    job = models.OneToOneField(
        "questionbank.GenerationJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="solution",
        help_text="The job that generated it; one job makes at most one solution.",
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    current_revision = models.ForeignKey(
        "questionbank.SolutionRevision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reasoning = models.TextField(blank=True, help_text="The model's <think> trace, kept apart.")
    # The current revision's checked answer, kept here for the lists and the queue.
    final_answer = models.TextField(blank=True)
    verdict = models.CharField(
        max_length=20, choices=Verdict.choices, default=Verdict.NOT_CHECKED, db_index=True
    )
    majority_share = models.FloatField(
        null=True, blank=True,
        help_text="Share of the problem's current candidates whose answer is equivalent.",
    )
    answer_group = models.PositiveSmallIntegerField(null=True, blank=True)
    is_best = models.BooleanField(
        default=False,
        help_text="The best candidate among all of the problem's current solutions (the "
        "first of the largest group of equivalent answers). It suggests; students see only "
        "the published solution.",
    )
    # Provenance.
    problem_version = models.PositiveIntegerField(null=True, blank=True)
    template = models.ForeignKey(
        "questionbank.PromptTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="solutions",
    )
    endpoint = models.ForeignKey(
        "questionbank.ModelEndpoint",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="solutions",
    )
    call_log = models.ForeignKey(
        "questionbank.CallLog",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    from_standin = models.BooleanField(default=False)
    rejection_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    edit_distance = models.FloatField(
        null=True,
        blank=True,
        editable=False,
        help_text="At the last publication: how much teachers changed the model's text "
        "(0 = untouched, 1 = rewritten), for the template quality figures.",
    )
    reply_truncated_from = models.PositiveIntegerField(
        null=True, blank=True,
        help_text=gettext_lazy("Length in characters of the model's reply when it was longer "
                               "than QB_MAX_REPLY_CHARS and cut; the call log has the reply "
                               "as received."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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

    def __str__(self) -> str:
        return f"Solution {self.pk} to {self.problem}"

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
                f"A {self.get_status_display().lower()} solution cannot be "
                f"{self.Status(target).label.lower()}."
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

    solution = models.ForeignKey(Solution, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    body = models.TextField()
    body_html = models.TextField(blank=True, help_text="Rendered once, when the revision is saved.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="solution_revisions",
        help_text="Empty when the model wrote it.",
    )
    note = models.CharField(max_length=300, blank=True)
    # The answer check of this text, kept with it so history shows what was checked when.
    final_answer = models.TextField(blank=True)
    final_answer_by_teacher = models.BooleanField(
        default=False, help_text="A teacher typed the final answer; otherwise it was taken "
        "from the text (the last \\boxed{…} or 'Final answer: …').",
    )
    verdict = models.CharField(
        max_length=20, choices=Solution.Verdict.choices, default=Solution.Verdict.NOT_CHECKED
    )
    reference_answer = models.TextField(
        blank=True, help_text="The problem's reference answer when this text was checked."
    )
    agreement = models.FloatField(
        null=True, blank=True,
        help_text="Share of the problem's candidates with an equivalent answer, last checked.",
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["solution_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["solution", "number"], name="revision_unique_number"),
        ]

    def __str__(self) -> str:
        return f"Revision {self.number} of solution {self.solution_id}"

    @property
    def author_label(self) -> str:
        return self.author.get_username() if self.author_id else "model"


class SolutionTransition(models.Model):
    """Append-only record of each review step: who moved a solution where, and why."""

    solution = models.ForeignKey(Solution, on_delete=models.CASCADE, related_name="transitions")
    source = models.CharField(max_length=20, choices=Solution.Status.choices)
    target = models.CharField(max_length=20, choices=Solution.Status.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["solution_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.solution_id}: {self.source} -> {self.target}"
