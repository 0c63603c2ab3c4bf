"""Template filters for maths outside rendered Markdown: ``{% load maths %}``."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from questionbank.rendering import render_answer

register = template.Library()


@register.filter
def answer_math(value) -> SafeString:
    """A final or reference answer (``6\\sqrt{3}``) rendered as maths, never raw TeX:
    ``{{ problem.reference_answer|answer_math }}``."""
    return mark_safe(render_answer(value))  # render_answer's output is sanitized (nh3)
