"""Prompt templates, versioned: a used template is never changed in place."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from questionbank.sanitize import unknown_placeholders


class PromptTemplateQuerySet(models.QuerySet):
    def current(self):
        return self.filter(is_current=True)


class PromptTemplate(models.Model):
    """One version of a prompt template.

    All versions of one template share ``lineage``; exactly one is current. Editing a
    version that generation jobs have used creates the next version (services.templates),
    so every solution can point at the exact prompt that produced it.
    """

    class Kind(models.TextChoices):
        ANY = "any", _("Any problem")
        MATHS = "maths", _("Maths")
        PROGRAMMING = "programming", _("Programming")

    class SamplingPolicy(models.TextChoices):
        FIXED = "fixed", _("Fixed: every sample")
        ADAPTIVE = "adaptive", _("Adaptive: stop when the answer is settled")

    lineage = models.UUIDField(_("lineage"), default=uuid.uuid4, editable=False, db_index=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    is_current = models.BooleanField(_("is current"), default=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.ANY)
    description = models.TextField(_("description"), blank=True)
    system_prompt = models.TextField(_("system prompt"),
        blank=True,
        help_text=_("Leave empty to send none, as VibeThinker's model card does."),
    )
    user_prompt = models.TextField(_("user prompt"),
        help_text=_("Placeholders in braces, e.g. {title} and {statement}."),
    )
    temperature = models.FloatField(_("temperature"),
        default=0.6,
        validators=[MinValueValidator(0.0), MaxValueValidator(2.0)],
        help_text=_("0.6 for code, 1.0 for maths (the model card's advice)."),
    )
    top_p = models.FloatField(_("top p"),
        default=0.95, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    max_new_tokens = models.PositiveIntegerField(_("max new tokens"),
        default=16384,
        validators=[MinValueValidator(16), MaxValueValidator(40960)],
        help_text=_("Up to 40,960. Reasoning traces are long: thousands of tokens is normal."),
    )
    repetition_penalty = models.FloatField(_("repetition penalty"),
        default=1.0, validators=[MinValueValidator(0.5), MaxValueValidator(2.0)]
    )
    samples = models.PositiveSmallIntegerField(_("samples"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(16)],
        help_text=_("Answers per problem; with several, answers are checked by majority vote."),
    )
    sampling_policy = models.CharField(
        _("sampling policy"), max_length=20, choices=SamplingPolicy.choices,
        default=SamplingPolicy.FIXED,
        help_text=_("Fixed: every problem gets all its samples. Adaptive: samples per "
                    "problem are a maximum; sampling stops once the answer is settled."),
    )
    agree_with_reference = models.PositiveSmallIntegerField(
        _("agreeing samples needed"), default=2,
        validators=[MinValueValidator(1), MaxValueValidator(16)],
        help_text=_("Adaptive, with a reference answer: stop once this many samples agree "
                    "with it."),
    )
    confidence_threshold = models.FloatField(
        _("confidence threshold"), default=0.95,
        validators=[MinValueValidator(0.5), MaxValueValidator(0.999)],
        help_text=_("Adaptive, without a reference answer: stop once the majority answer "
                    "stays the majority with this probability."),
    )
    min_samples = models.PositiveSmallIntegerField(
        _("minimum samples"), default=3,
        validators=[MinValueValidator(1), MaxValueValidator(16)],
        help_text=_("Adaptive, without a reference answer: never stop before this many "
                    "answers."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="templates_created",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = PromptTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["lineage", "version"],
                                    name="template_lineage_version"),
            models.UniqueConstraint(
                fields=["lineage"],
                condition=models.Q(is_current=True),
                name="template_one_current_version",
            ),
        ]
        verbose_name = _("prompt template")
        verbose_name_plural = _("prompt templates")

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"

    def get_absolute_url(self) -> str:
        return reverse("teacher:template-detail", args=[self.pk])

    def clean(self):
        errors = {}
        for field in ("system_prompt", "user_prompt"):
            unknown = unknown_placeholders(getattr(self, field) or "")
            if unknown:
                names = ", ".join("{" + name + "}" for name in unknown)
                errors[field] = ngettext(
                    "Unknown placeholder %(names)s. Use only the placeholders listed under "
                    "the field.",
                    "Unknown placeholders %(names)s. Use only the placeholders listed under "
                    "the field.", len(unknown)) % {"names": names}
        if errors:
            raise ValidationError(errors)

    def is_used(self) -> bool:
        return self.jobs.exists()

    @property
    def is_adaptive(self) -> bool:
        return self.sampling_policy == self.SamplingPolicy.ADAPTIVE

    def suits(self, problem_kind: str) -> bool:
        return self.kind == self.Kind.ANY or self.kind == problem_kind
