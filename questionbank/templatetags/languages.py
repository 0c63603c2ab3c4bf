"""``{% other_languages as choices %}``: the languages the page is not in, as (code, name)
pairs named in their own language exactly as settings.LANGUAGES spells them ("English",
"简体中文"). Django's ``get_available_languages`` would translate the names ("英语")."""

from django import template
from django.conf import settings
from django.utils.translation import get_language

register = template.Library()


@register.simple_tag
def other_languages():
    current = get_language()
    return [(code, name) for code, name in settings.LANGUAGES if code != current]
