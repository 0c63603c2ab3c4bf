from django.contrib import admin

from questionbank.models import CallLog


@admin.register(CallLog)
class CallLogAdmin(admin.ModelAdmin):
    """Append-only: nobody adds, changes or deletes a row here."""

    list_display = ("id", "created_at", "endpoint_name", "outcome", "error_class", "latency_ms",
                    "completion_tokens", "problem", "template", "user")
    list_filter = ("outcome", "error_class", "endpoint")
    list_select_related = ("problem", "template", "user")
    search_fields = ("problem__title", "error_message")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and (
            request.user.is_superuser or request.user.has_perm("questionbank.audit_calllog")
        )

    def has_module_permission(self, request):
        return True
