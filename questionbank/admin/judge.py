from django.contrib import admin

from questionbank.models import JudgeRun

from .jobs import ReadOnlyMixin


@admin.register(JudgeRun)
class JudgeRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Written only by the judge service: read here, never edited."""

    list_display = ("id", "problem", "revision", "status", "outcome", "passed", "total",
                    "language", "requested_by", "created_at", "finished_at")
    list_filter = ("status", "outcome", "language")
    search_fields = ("problem__title", "message")
    list_select_related = ("problem", "revision", "requested_by")
    raw_id_fields = ("problem", "revision", "requested_by")
    list_per_page = 50
    show_full_result_count = False
