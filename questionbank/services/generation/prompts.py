"""Prompts: every field a job sends is sanitized, the template rendered, the result
sanitized again. Never raises for bad input: the reason is a sentence in ``error``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings

from questionbank.models import GenerationJob, Problem, PromptTemplate
from questionbank.sanitize import (
    SanitizationError,
    detect_non_english,
    render_prompt,
    sanitize_fields,
    sanitize_prompt,
    template_placeholders,
)
from questionbank.webui import GenerationRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromptPreview:
    """What would be sent for one problem through one template.

    ``error`` is a sentence for the teacher when the prompt cannot be sent (then
    ``system`` and ``user`` are empty); ``warnings`` are sentences too (non-English text).
    ``report`` is the sanitization report stored with each call.
    """

    system: str = ""
    user: str = ""
    report: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str = ""


def _field_caps() -> dict[str, int]:
    return {
        "title": settings.QB_MAX_TITLE_CHARS,
        "statement": settings.QB_MAX_STATEMENT_CHARS,
        "source": settings.QB_MAX_TITLE_CHARS,
        "tags": settings.QB_MAX_TITLE_CHARS * 4,
        "test_cases": settings.QB_MAX_STATEMENT_CHARS,
    }


def _format_test_cases(cases) -> str:
    if not isinstance(cases, list):
        return ""
    blocks = []
    for n, case in enumerate(cases, 1):
        if not isinstance(case, dict):
            continue
        blocks.append(
            f"Example {n}\nInput:\n{case.get('input', '')}\nExpected output:\n"
            f"{case.get('output', '')}"
        )
    return "\n\n".join(blocks)


def _problem_values(problem: Problem, tag_names: list[str] | None = None) -> dict[str, str]:
    if tag_names is None:
        tag_names = [t.name for t in problem.tags.all()]
    programming = problem.kind == Problem.Kind.PROGRAMMING
    return {
        "title": problem.title,
        "statement": problem.statement,
        "kind": problem.get_kind_display().lower(),
        "difficulty": problem.get_difficulty_display(),
        "tags": ", ".join(tag_names),
        "language": problem.language,
        "source": problem.source,
        "test_cases": _format_test_cases(problem.test_cases) if programming else "",
    }


def render_job_prompt(*, template: PromptTemplate, problem: Problem,
                      tag_names: list[str] | None = None) -> PromptPreview:
    """Sanitize every field that goes into the prompt, render the template, sanitize the
    result. Never raises for bad input: the reason is in ``error``."""
    if tag_names is None and "tags" not in template_placeholders(
            f"{template.system_prompt}\n{template.user_prompt}"):
        tag_names = []  # not used: spare the query
    warnings = []
    warning = detect_non_english(f"{problem.title}\n{problem.statement}")
    if warning:
        warnings.append(warning)
    try:
        values, field_reports = sanitize_fields(_problem_values(problem, tag_names), _field_caps())
        system = render_prompt(template.system_prompt or "", values)
        user = render_prompt(template.user_prompt, values)
        cap = settings.QB_MAX_PROMPT_CHARS
        system, user, prompt_report = sanitize_prompt(system, user, {"system": cap, "user": cap})
    except SanitizationError as err:
        return PromptPreview(warnings=warnings, error=str(err),
                             report={"rejected": {"field": err.field, "length": err.length,
                                                  "max_length": err.max_length}})
    except KeyError as err:  # a known placeholder without a value: a bug here, not the user's
        logger.exception("prompt rendering failed for template %s", template.pk)
        return PromptPreview(warnings=warnings, error=(
            f"The template uses a placeholder this version cannot fill ({err}); "
            "remove it from the template or tell the administrator."))
    changed = sorted(
        name for name, rep in {**field_reports, **prompt_report}.items() if rep.get("changed")
    )
    report = {"fields": field_reports, "prompt": prompt_report, "changed": changed}
    return PromptPreview(system=system, user=user, report=report, warnings=warnings)


def prompt_preview(*, template: PromptTemplate, problem: Problem) -> PromptPreview:
    """The prompt exactly as a job would send it (for the template editor's preview)."""
    return render_job_prompt(template=template, problem=problem)


def generation_request(job: GenerationJob, prompt: PromptPreview) -> GenerationRequest | None:
    """The client's request for a job's rendered prompt (None when it cannot be sent)."""
    if prompt.error:
        return None
    return GenerationRequest(
        system_prompt=prompt.system, user_input=prompt.user,
        temperature=job.template.temperature, top_p=job.template.top_p,
        max_new_tokens=job.template.max_new_tokens,
        repetition_penalty=job.template.repetition_penalty,
    )
