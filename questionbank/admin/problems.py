from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from questionbank.admin.interchange import ProblemInterchangeMixin
from questionbank.formatting import tell_input_cleaned
from questionbank.models import Problem, Tag
from questionbank.services.problems import problem_create, problem_update, problems_set_status

_FIELDS = ("title", "kind", "statement", "reference_answer", "accepted_answers", "test_cases",
           "difficulty", "source", "language", "status", "external_id", "external_category",
           "external_type", "reference_solution", "judge_cpu_seconds", "judge_memory_mb")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "problem_count")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_problems=Count("problems"))

    @admin.display(description=_("Problems"), ordering="n_problems")
    def problem_count(self, obj):
        return obj.n_problems


@admin.register(Problem)
class ProblemAdmin(ProblemInterchangeMixin, admin.ModelAdmin):
    list_display = ("title", "kind", "difficulty", "status", "version", "tag_list", "updated_at")
    list_filter = ("kind", "status", "difficulty", "tags", "language")
    search_fields = ("title", "statement", "source", "external_id")
    filter_horizontal = ("tags",)
    readonly_fields = ("version", "created_by", "created_at", "updated_at", "statement_preview")
    list_select_related = ("created_by",)
    actions = ("mark_ready", "mark_draft", "mark_archived")
    list_per_page = 50
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("title", "kind", "status", "difficulty", "tags")}),
        (_("Statement"), {"fields": ("statement", "statement_preview", "reference_answer",
                                  "accepted_answers", "test_cases")}),
        (_("Code check (programming)"), {"fields": ("reference_solution", "judge_cpu_seconds",
                                                 "judge_memory_mb")}),
        (_("Origin"), {"fields": ("source", "language", "external_id", "external_category",
                               "external_type", "version", "created_by", "created_at",
                               "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    @admin.display(description=_("Tags"))
    def tag_list(self, obj):
        return ", ".join(t.name for t in obj.tags.all())

    @admin.display(description=_("Rendered statement"))
    def statement_preview(self, obj):
        if not obj.pk:
            return _("Shown after the first save.")
        # statement_html was sanitized by questionbank.rendering when it was stored.
        return format_html('<div class="qb-rendered">{}</div>', mark_safe(obj.statement_html))

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in _FIELDS if name in form.cleaned_data}
        for name in ("accepted_answers", "test_cases"):  # a cleared JSON box means "none"
            if name in fields and fields[name] is None:
                fields[name] = []
        if change:
            saved = problem_update(problem=obj, **fields)
        else:
            saved = problem_create(instance=obj, created_by=request.user, **fields)
        tell_input_cleaned(request, saved)

    def _set_status(self, request, queryset, status):
        n = problems_set_status(problems=queryset, status=status)
        self.message_user(request, _(
            "%(n)d problem(s) marked %(status)s.")
            % {"n": n, "status": Problem.Status(status).label.lower()})

    @admin.action(description=_("Mark selected problems ready"), permissions=["change"])
    def mark_ready(self, request, queryset):
        self._set_status(request, queryset, Problem.Status.READY)

    @admin.action(description=_("Mark selected problems draft"), permissions=["change"])
    def mark_draft(self, request, queryset):
        self._set_status(request, queryset, Problem.Status.DRAFT)

    @admin.action(description=_("Archive selected problems"), permissions=["change"])
    def mark_archived(self, request, queryset):
        self._set_status(request, queryset, Problem.Status.ARCHIVED)
