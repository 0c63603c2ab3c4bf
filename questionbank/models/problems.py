"""Problems and their tags."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from .solutions import Solution


class Tag(models.Model):
    """A flat label. Flat, not a tree: teachers filter by several tags at once, and
    Moodle's category paths import as one tag per path ("Algebra/Quadratics")."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_tag_slug(self.name)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("browse:tag", args=[self.slug])


def unique_tag_slug(name: str) -> str:
    base = slugify(name.replace("/", "-"))[:100] or "tag"
    slug, n = base, 2
    while Tag.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


class ProblemQuerySet(models.QuerySet):
    def ready(self):
        return self.filter(status=Problem.Status.READY)

    def published(self):
        """Problems a student may see: not archived, with a published solution (the ORM's
        form of the rule; raw SQL takes it from questionbank.db.published)."""
        return self.filter(
            models.Exists(
                Solution.objects.filter(
                    problem=models.OuterRef("pk"), status=Solution.Status.PUBLISHED
                )
            )
        ).exclude(status=Problem.Status.ARCHIVED)


class Problem(models.Model):
    class Kind(models.TextChoices):
        MATHS = "maths", _("Maths")
        PROGRAMMING = "programming", _("Programming")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        READY = "ready", _("Ready")
        ARCHIVED = "archived", _("Archived")

    class Difficulty(models.IntegerChoices):
        INTRODUCTORY = 1, _("Introductory")
        EASY = 2, _("Easy")
        MEDIUM = 3, _("Medium")
        HARD = 4, _("Hard")
        OLYMPIAD = 5, _("Olympiad")

    title = models.CharField(_("title"), max_length=300)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MATHS)
    statement = models.TextField(_("statement"),
                                 help_text=_("Markdown; maths in $...$ or $$...$$."))
    statement_html = models.TextField(_("statement html"), blank=True, editable=False)
    reference_answer = models.TextField(_("reference answer"),
        blank=True, help_text=_("The expected final answer, e.g. 42 or \\frac{1}{2}.")
    )
    test_cases = models.JSONField(_("test cases"),
        default=list,
        blank=True,
        help_text=_('Programming problems: a list of {"input": ..., "output": ...}.'),
    )
    reference_solution = models.TextField(_("reference solution"),
        blank=True,
        help_text=_("Programming problems: your own solution, to check the tests with. A "
        "Markdown code block (```python, ```c or ```cpp); text without one is read as "
        "Python 3. Students never see it."),
    )
    judge_cpu_seconds = models.FloatField(
        _("CPU time limit (seconds)"),
        default=2.0,
        validators=[MinValueValidator(0.1), MaxValueValidator(30)],
        help_text=_("Per test, when the code is checked."),
    )
    judge_memory_mb = models.PositiveIntegerField(
        _("Memory limit (MB)"),
        default=256,
        validators=[MinValueValidator(16), MaxValueValidator(4096)],
        help_text=_("Per test, when the code is checked."),
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="problems")
    difficulty = models.PositiveSmallIntegerField(_("difficulty"),
        choices=Difficulty.choices, default=Difficulty.MEDIUM
    )
    source = models.CharField(_("source"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=16, default="en",
                                help_text=_("ISO code, e.g. en."))
    status = models.CharField(_("status"),
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    external_id = models.CharField(_("external id"), max_length=200, blank=True, db_index=True)
    # Where the problem came from in Moodle: its category path ("Algebra/Quadratics";
    # Moodle's idnumbers are unique only within one category, so imports match on
    # category + external id) and its question type ("description" exports back as one).
    external_category = models.CharField(_("external category"), max_length=500, blank=True)
    external_type = models.CharField(_("external type"), max_length=20, blank=True)
    accepted_answers = models.JSONField(_("accepted answers"),
        default=list,
        blank=True,
        help_text=_("Other answers accepted as correct besides the reference answer "
        '(e.g. ["4", "four"]); the answer check accepts any of them.'),
    )
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True, db_index=True,
                                    editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="problems_created",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ProblemQuerySet.as_manager()

    # Fields whose change makes earlier generated solutions stale.
    VERSIONED_FIELDS = ("statement", "reference_answer")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["kind", "status"]),
            models.Index(fields=["difficulty"]),
            models.Index(fields=["-created_at", "-id"], name="problem_newest"),
        ]
        verbose_name = _("problem")
        verbose_name_plural = _("problems")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("teacher:problem-detail", args=[self.pk])

    def compute_content_hash(self) -> str:
        """A fingerprint of what the problem asks, used to skip duplicates on import."""
        text = "\x1f".join([self.kind, self.title.strip(), self.statement.strip()])
        return hashlib.sha256(text.encode()).hexdigest()
