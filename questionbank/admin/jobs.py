from django.contrib import admin

from questionbank.models import GenerationBatch, GenerationJob


class ReadOnlyMixin:
    """Rows written only by services: viewable in the admin, never edited there."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GenerationJobInline(ReadOnlyMixin, admin.TabularInline):
    model = GenerationJob
    fields = ("problem", "sample_index", "endpoint", "status", "attempts", "last_error")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("problem", "endpoint")


@admin.register(GenerationBatch)
class GenerationBatchAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("__str__", "template", "samples", "created_by", "created_at", "cancelled_at")
    list_filter = ("template", "created_at")
    search_fields = ("name", "template__name")
    list_select_related = ("template", "created_by")
    inlines = [GenerationJobInline]


@admin.register(GenerationJob)
class GenerationJobAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "problem", "batch", "endpoint", "status", "attempts", "error_class",
                    "created_at", "finished_at")
    list_filter = ("status", "endpoint", "error_class")
    search_fields = ("problem__title", "last_error")
    list_select_related = ("problem", "batch", "endpoint")
    show_full_result_count = False
