"""Words shown on the site that come from Django's admin and from django-axes, whose own
Simplified Chinese catalogues lack them (Django 5.2's admin index table headings; axes
ships no zh_Hans). Listed here so that makemessages keeps them in locale/zh_Hans, which
Django reads before any app's catalogue (settings.LOCALE_PATHS). Not imported anywhere:
makemessages reads the file, and gettext looks the words up by their text."""

from django.utils.translation import gettext_noop

DJANGO_ADMIN = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
)
AXES = (
    gettext_noop("access failure"), gettext_noop("access failures"),
    gettext_noop("access attempt"), gettext_noop("access attempts"),
    gettext_noop("Access Attempt"),
    gettext_noop("access attempt expiration"), gettext_noop("access attempt expirations"),
    gettext_noop("access log"), gettext_noop("access logs"),
)
