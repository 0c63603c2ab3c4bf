"""Writing prompt templates: a template that has been used is never changed in place."""

from __future__ import annotations

from django.db import transaction

from questionbank.models import PromptTemplate
from questionbank.services.cleaning import TEMPLATE_PROMPT_FIELDS, clean_prompt_fields

_EDITABLE = (
    "name", "kind", "description", "system_prompt", "user_prompt", "temperature",
    "top_p", "max_new_tokens", "repetition_penalty", "samples", "sampling_policy",
    "agree_with_reference", "confidence_threshold", "min_samples",
)


@transaction.atomic
def template_create(
    *, created_by=None, instance: PromptTemplate | None = None, **fields
) -> PromptTemplate:
    """Create version 1 of a new template; unknown placeholders raise ValidationError.

    The prompts are cleaned first (:mod:`questionbank.services.cleaning`); what was removed
    is in the returned template's ``input_cleaned``.
    """
    template = instance or PromptTemplate()
    for name in TEMPLATE_PROMPT_FIELDS:  # an instance may carry them instead of ``fields``
        if name not in fields and isinstance(getattr(template, name), str):
            fields[name] = getattr(template, name)
    cleaned = clean_prompt_fields(fields, TEMPLATE_PROMPT_FIELDS, what="new template")
    template.created_by = created_by
    for name, value in fields.items():
        setattr(template, name, value)
    template.full_clean()
    template.save()
    template.input_cleaned = cleaned
    return template


@transaction.atomic
def template_update(*, template: PromptTemplate, user=None, **fields) -> PromptTemplate:
    """Apply an edit and return the version that now holds it.

    Unused versions are edited in place. A version that generation jobs have used
    stays as it was (solutions point at it) and the edit becomes the next version,
    which is then the current one. The prompts are cleaned before they are compared; what
    was removed is in the returned template's ``input_cleaned``.
    """
    unknown = set(fields) - set(_EDITABLE)
    if unknown:
        raise TypeError(f"template_update() got unexpected fields: {sorted(unknown)}")
    cleaned = clean_prompt_fields(fields, TEMPLATE_PROMPT_FIELDS,
                                  what=f"template {template.pk}")
    locked = PromptTemplate.objects.select_for_update().get(pk=template.pk)
    locked.input_cleaned = cleaned
    changed = {k: v for k, v in fields.items() if getattr(locked, k) != v}
    if not changed:
        return locked
    if not locked.is_used():
        for name, value in changed.items():
            setattr(locked, name, value)
        locked.full_clean()
        locked.save(update_fields=list(changed))
        return locked
    latest = (
        PromptTemplate.objects.select_for_update()
        .filter(lineage=locked.lineage)
        .order_by("-version")
        .first()
    )
    values = {name: getattr(locked, name) for name in _EDITABLE} | changed
    new = PromptTemplate(
        lineage=locked.lineage, version=latest.version + 1, created_by=user, **values
    )
    PromptTemplate.objects.filter(lineage=locked.lineage, is_current=True).update(is_current=False)
    new.full_clean()
    new.save()
    new.input_cleaned = cleaned
    return new
