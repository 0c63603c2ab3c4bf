"""Cleaning what teachers type before it is stored, so the page shows what the model reads.

Prompts are sanitized when they are sent (:mod:`questionbank.services.generation.prompts`),
and before issue 14 that was the only place: a statement kept its bidi controls, so a
teacher's page could show "12 + 34" while the model read "12 + 43". Now every text that
goes into a prompt is cleaned by the same :func:`questionbank.sanitize.sanitize_text` when a
problem or a template is saved, whatever the door (teacher forms, the admin, imports, the
API all go through the services), and existing rows were cleaned by migration 0023.

Lengths are not capped here: the caps belong to sending (``QB_MAX_*``), and a long statement
is refused with a sentence when a job would send it.

The services set ``input_cleaned`` on the instance they return: ``{field: report}`` for the
fields that changed, which views turn into a message (:func:`questionbank.formatting.
tell_input_cleaned`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from questionbank.sanitize import sanitize_fields

logger = logging.getLogger(__name__)

# Problem and template fields a prompt can send. A problem's test cases are left as typed
# (the judge runs them byte for byte) and are cleaned in the prompt, with a report.
PROBLEM_PROMPT_FIELDS = ("title", "statement", "source")
TEMPLATE_PROMPT_FIELDS = ("system_prompt", "user_prompt")


def clean_prompt_fields(fields: dict, names: Iterable[str], *,
                        what: str | None) -> dict[str, dict]:
    """Replace each of ``names`` in ``fields`` by its sanitized text, in place.

    Returns the reports of the fields that changed, and logs them when ``what`` names the
    object being saved ("problem 12"; ``None`` for a comparison, which logs nothing).
    """
    present = {name: fields[name] for name in names
               if name in fields and isinstance(fields[name], str)}
    clean, reports = sanitize_fields(present, {})
    fields.update(clean)
    changed = {name: report for name, report in reports.items() if report["changed"]}
    for name, report in changed.items() if what else ():
        logger.info("%s: %s cleaned on save: %s removed, control tokens %s", what, name,
                    report["characters"], report["control_tokens"])
    return changed
