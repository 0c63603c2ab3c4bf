"""Admin registrations, one module per domain."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import api, calllogs, endpoints, jobs, judge, problems, solutions, templates  # noqa: F401

admin.site.site_header = _("Question bank administration")
admin.site.site_title = _("Question bank admin")
admin.site.index_title = _("Manage the question bank")
