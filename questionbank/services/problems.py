"""Writing problems and tags."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from questionbank.models import Problem, Tag
from questionbank.rendering import render_markdown
from questionbank.sanitize import sanitize_text
from questionbank.services.cleaning import PROBLEM_PROMPT_FIELDS, clean_prompt_fields

_EDITABLE = (
    "title", "kind", "statement", "reference_answer", "test_cases", "difficulty",
    "source", "language", "status", "external_id", "external_category", "external_type",
    "accepted_answers", "reference_solution", "judge_cpu_seconds", "judge_memory_mb",
)


def _render(text: str) -> str:
    return render_markdown(text)


def tags_get_or_create(*, names: Iterable[str]) -> list[Tag]:
    """Tags by name, created when missing; blank names are ignored."""
    tags = []
    for raw in names:
        # Tag names go into prompts too: cleaned like the fields (no report for a label).
        text = sanitize_text(str(raw), field="tag", max_length=None).text
        name = " ".join(text.split())[:100]
        if not name:
            continue
        tag = Tag.objects.filter(name__iexact=name).first()
        if tag is None:
            tag = Tag.objects.create(name=name)
        tags.append(tag)
    return tags


@transaction.atomic
def problem_create(
    *, created_by=None, tags: Iterable[str | Tag] = (), instance: Problem | None = None, **fields
) -> Problem:
    """Create a problem (version 1) with its rendered statement and content hash.

    ``instance`` lets a ModelForm (the admin) hand over the unsaved object it built. The
    fields a prompt sends are cleaned first (:mod:`questionbank.services.cleaning`); what
    was removed is in the returned problem's ``input_cleaned``.
    """
    unknown = set(fields) - set(_EDITABLE)
    if unknown:
        raise TypeError(f"problem_create() got unexpected fields: {sorted(unknown)}")
    problem = instance or Problem()
    for name in PROBLEM_PROMPT_FIELDS:  # an instance may carry them instead of ``fields``
        if name not in fields and isinstance(getattr(problem, name), str):
            fields[name] = getattr(problem, name)
    cleaned = clean_prompt_fields(fields, PROBLEM_PROMPT_FIELDS, what="new problem")
    problem.created_by = created_by
    for name, value in fields.items():
        setattr(problem, name, value)
    problem.statement_html = _render(problem.statement)
    problem.content_hash = problem.compute_content_hash()
    problem.full_clean(exclude=["tags"])
    problem.save()
    _set_tags(problem, tags)
    problem.input_cleaned = cleaned
    return problem


@transaction.atomic
def problem_update(
    *, problem: Problem, tags: Iterable[str | Tag] | None = None, **fields
) -> Problem:
    """Update a problem; its version goes up when the statement or reference answer changes.

    Solutions generated from an earlier version are then shown as stale to reviewers.
    The fields a prompt sends are cleaned before they are compared; what was removed is
    in the returned problem's ``input_cleaned``.
    """
    unknown = set(fields) - set(_EDITABLE)
    if unknown:
        raise TypeError(f"problem_update() got unexpected fields: {sorted(unknown)}")
    cleaned = clean_prompt_fields(fields, PROBLEM_PROMPT_FIELDS, what=f"problem {problem.pk}")
    current = Problem.objects.select_for_update().get(pk=problem.pk)
    changed = [name for name, value in fields.items() if getattr(current, name) != value]
    for name in changed:
        setattr(problem, name, fields[name])
    if any(name in Problem.VERSIONED_FIELDS for name in changed):
        problem.version = current.version + 1
        changed.append("version")
    if "statement" in changed:
        problem.statement_html = _render(problem.statement)
        changed.append("statement_html")
    if {"title", "statement", "kind"} & set(changed):
        problem.content_hash = problem.compute_content_hash()
        changed.append("content_hash")
    if changed:
        problem.full_clean(exclude=["tags"])
        problem.save(update_fields=[*changed, "updated_at"])
    if tags is not None:
        _set_tags(problem, tags)
    problem.input_cleaned = cleaned
    return problem


def problems_set_status(*, problems: Iterable[Problem], status: str) -> int:
    """Bulk status change (draft / ready / archived); returns how many rows changed."""
    if status not in Problem.Status.values:
        raise ValueError(f"Unknown problem status {status!r}.")
    ids = [p.pk for p in problems]
    return Problem.objects.filter(pk__in=ids).exclude(status=status).update(status=status)


@transaction.atomic
def problems_add_tags(*, problems: Iterable[Problem], names: Iterable[str]) -> int:
    tags = tags_get_or_create(names=names)
    through = Problem.tags.through
    rows = [
        through(problem_id=p.pk, tag_id=t.pk) for p in problems for t in tags
    ]
    through.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _set_tags(problem: Problem, tags: Iterable[str | Tag]) -> None:
    objs = [t for t in tags if isinstance(t, Tag)]
    objs += tags_get_or_create(names=[t for t in tags if not isinstance(t, Tag)])
    problem.tags.set(objs)
