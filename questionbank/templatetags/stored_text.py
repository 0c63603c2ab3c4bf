"""``{{ job.last_error|stored_text }}``: a sentence stored in English, in the page's
language when it is one questionbank.stored_text knows."""

from django import template

from questionbank.stored_text import translate_stored

register = template.Library()


@register.filter(name="stored_text")
def stored_text(value):
    return translate_stored(value)
