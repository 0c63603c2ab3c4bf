"""Admin registrations, one module per domain."""

from django.contrib import admin

from . import api, calllogs, endpoints, jobs, judge, problems, solutions, templates  # noqa: F401

admin.site.site_header = "Question bank administration"
admin.site.site_title = "Question bank admin"
admin.site.index_title = "Manage the question bank"
