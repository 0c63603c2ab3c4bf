from django.contrib import admin
from django.utils.html import format_html

from questionbank.models import Solution, SolutionRevision, SolutionTransition

from .jobs import ReadOnlyMixin


class SolutionRevisionInline(ReadOnlyMixin, admin.TabularInline):
    model = SolutionRevision
    fields = ("number", "author", "note", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


class SolutionTransitionInline(ReadOnlyMixin, admin.TabularInline):
    model = SolutionTransition
    fields = ("source", "target", "user", "reason", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Solution)
class SolutionAdmin(admin.ModelAdmin):
    list_display = ("id", "problem", "status", "verdict", "final_answer", "majority_share",
                    "is_best", "template", "created_at")
    list_filter = ("status", "verdict", "is_best", "from_standin", "template")
    search_fields = ("problem__title", "final_answer")
    list_select_related = ("problem", "template")
    readonly_fields = ("problem", "job", "status", "current_revision", "rendered", "reasoning",
                       "final_answer", "verdict", "majority_share", "answer_group", "is_best",
                       "problem_version", "template", "endpoint", "call_log", "from_standin",
                       "rejection_reason", "status_changed_at", "status_changed_by",
                       "published_at", "created_at", "updated_at")
    exclude = ()
    inlines = [SolutionRevisionInline, SolutionTransitionInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.display(description="Current text")
    def rendered(self, obj):
        rev = obj.current_revision
        return format_html('<div class="qb-rendered">{}</div>', rev.body_html) if rev else "-"


@admin.register(SolutionRevision)
class SolutionRevisionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("solution", "number", "author", "note", "created_at")
    search_fields = ("solution__problem__title", "note")
    list_select_related = ("solution__problem", "author")
    readonly_fields = ("solution", "number", "body", "rendered", "author", "note", "created_at")
    exclude = ("body_html",)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Rendered")
    def rendered(self, obj):
        return format_html('<div class="qb-rendered">{}</div>', obj.body_html)
