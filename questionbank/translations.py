"""Words shown on the site that come from Django's admin, django-axes and django-q2, whose
own Simplified Chinese catalogues lack them (Django 5.2's admin index table headings; axes
ships no zh_Hans; django-q2's zh_Hans misses its newer field labels and help texts).
Listed here so that makemessages keeps them in locale/zh_Hans, which Django reads before
any app's catalogue (settings.LOCALE_PATHS). Not imported anywhere: makemessages reads the
file, and gettext looks the words up by their text."""

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
    # Field labels, filters and actions of axes' admin pages.
    gettext_noop("User Agent"), gettext_noop("IP Address"), gettext_noop("Username"),
    gettext_noop("HTTP Accept"), gettext_noop("Path"), gettext_noop("Attempt Time"),
    gettext_noop("Access lock out"), gettext_noop("GET Data"), gettext_noop("POST Data"),
    gettext_noop("Failed Logins"), gettext_noop("Expires At"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("Logout Time"), gettext_noop("Session key hash (sha256)"),
    gettext_noop("Locked Out"), gettext_noop("Form Data"), gettext_noop("Meta Data"),
    gettext_noop("Clean up expired attempts"), gettext_noop("Not set"),
    gettext_noop("Attempt Remaining"),
)
DJANGO_Q = (
    gettext_noop("Cluster"), gettext_noop("Cluster key"), gettext_noop("Cron"),
    gettext_noop("Cron expression"), gettext_noop("Function"), gettext_noop("Success"),
    gettext_noop("success"), gettext_noop("Arguments"), gettext_noop("Keyword arguments"),
    gettext_noop("Hook"),
    gettext_noop("Group"), gettext_noop("Intended date kwarg"),
    gettext_noop("Name of the target cluster"),
    gettext_noop("Optional label to identify this schedule in the admin."),
    gettext_noop("When this schedule runs next (stored in UTC)."),
    gettext_noop("e.g. module.tasks.function"), gettext_noop("e.g. module.tasks.result_function"),
    gettext_noop("How often this task should be enqueued."),
)
