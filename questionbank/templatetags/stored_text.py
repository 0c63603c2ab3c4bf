"""``{{ job.last_error|stored_text }}``: a sentence stored in English, in the page's
language when it is one questionbank.stored_text knows. ``{{ revision.body_html|stored_html }}``:
rendered (trusted, already sanitized) HTML with such sentences among its paragraphs
translated, marked safe."""

from django import template
from django.utils.safestring import mark_safe

from questionbank.stored_text import translate_stored, translate_stored_html

register = template.Library()


@register.filter(name="stored_text")
def stored_text(value):
    return translate_stored(value)


@register.filter(name="stored_html")
def stored_html(value):
    return mark_safe(translate_stored_html(value or ""))  # sanitized when it was saved
