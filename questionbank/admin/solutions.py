from collections import defaultdict

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from questionbank.models import (
    ModelEndpoint,
    PromptTemplate,
    Solution,
    SolutionRevision,
    SolutionTransition,
)
from questionbank.rendering import render_markdown
from questionbank.services.generation import batch_create
from questionbank.services.solutions import publish_concerns, solutions_transition
from questionbank.stored_text import translate_stored

from .jobs import ReadOnlyMixin


class SolutionRevisionInline(ReadOnlyMixin, admin.TabularInline):
    """Append-only: shown, never edited; each row's text rendered in a collapsed box."""

    model = SolutionRevision
    fields = ("number", "author", "revision_note", "final_answer", "final_answer_by_teacher",
              "verdict", "agreement", "checked_at", "created_at", "rendered")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")

    @admin.display(description=_("note"))
    def revision_note(self, obj):
        return translate_stored(obj.note)

    @admin.display(description=_("Text"))
    def rendered(self, obj):
        return format_html(
            '<details><summary>{}</summary><div class="qb-rendered">{}</div></details>',
            _("Show"), mark_safe(obj.body_html),  # stored output of questionbank.rendering
        )


class SolutionTransitionInline(ReadOnlyMixin, admin.TabularInline):
    model = SolutionTransition
    fields = ("source", "target", "user", "transition_reason", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description=_("reason"))
    def transition_reason(self, obj):
        return translate_stored(obj.reason)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(Solution)
class SolutionAdmin(admin.ModelAdmin):
    list_display = ("id", "problem", "status", "verdict", "final_answer", "majority_share",
                    "is_best", "template", "from_standin", "created_at", "review_link")
    list_filter = ("status", "verdict", "is_best", "from_standin", "template")
    search_fields = ("problem__title", "final_answer")
    list_select_related = ("problem", "template")
    readonly_fields = ("problem", "review_link", "job", "status", "current_revision",
                       "rendered", "rendered_statement", "rendered_reasoning", "final_answer",
                       "verdict", "majority_share", "answer_group", "is_best",
                       "problem_version", "template", "endpoint", "call_log", "from_standin",
                       "rejection_reason", "status_changed_at", "status_changed_by",
                       "published_at", "edit_distance", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("problem", "review_link", "status", "rejection_reason",
                           "status_changed_at", "status_changed_by", "published_at")}),
        (_("Answer"), {"fields": ("final_answer", "verdict", "majority_share", "answer_group",
                               "is_best")}),
        (_("Text"), {"fields": ("rendered", "rendered_reasoning", "rendered_statement",
                             "current_revision", "edit_distance")}),
        (_("Provenance"), {"fields": ("job", "template", "endpoint", "call_log",
                                   "problem_version", "from_standin", "created_at",
                                   "updated_at")}),
    )
    exclude = ()
    inlines = [SolutionRevisionInline, SolutionTransitionInline]
    actions = ("publish", "send_to_review", "unpublish", "reject", "regenerate")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(
            "current_revision", "problem", "template", "endpoint", "status_changed_by"
        )

    @admin.display(description=_("Review page"))
    def review_link(self, obj):
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(),
                           _("Open in the review pages"))

    @admin.display(description=_("Current text"))
    def rendered(self, obj):
        rev = obj.current_revision
        return (
            format_html('<div class="qb-rendered">{}</div>', mark_safe(rev.body_html))
            if rev else "-"
        )

    @admin.display(description=_("Problem statement"))
    def rendered_statement(self, obj):
        return format_html('<details><summary>{}</summary><div class="qb-rendered">{}</div>'
                           "</details>", _("Show"), mark_safe(obj.problem.statement_html))

    @admin.display(description=_("Reasoning trace"))
    def rendered_reasoning(self, obj):
        if not obj.reasoning:
            return "-"
        return format_html('<details><summary>{}</summary><div class="qb-rendered">{}</div>'
                           "</details>", _("Show"), mark_safe(render_markdown(obj.reasoning)))

    # --- Actions: the same services as the review pages ---------------------------------

    # What a bulk step did, for the message after it (verb: the step's key).
    DONE = {
        "published": _("%(n)d solution(s) published."),
        "sent to review": _("%(n)d solution(s) sent to review."),
        "unpublished": _("%(n)d solution(s) unpublished."),
        "rejected": _("%(n)d solution(s) rejected."),
    }

    def _transition(self, request, queryset, target, reason="", verb="", confirmed=False):
        result = solutions_transition(solutions=list(queryset), target=target,
                                      user=request.user, reason=reason, confirmed=confirmed)
        if result.moved:
            n = len(result.moved)
            self.message_user(request, self.DONE[verb] % {"n": n}, messages.SUCCESS)
        for solution, why in result.refused:
            self.message_user(request, _("Solution %(number)s: %(why)s")
                              % {"number": solution.pk, "why": why}, messages.WARNING)
        for solution, concerns in result.held:
            self.message_user(request, _("Solution %(number)s was not published: %(why)s")
                              % {"number": solution.pk,
                                 "why": " ".join(str(c.message) for c in concerns)},
                              messages.WARNING)

    @admin.action(description=_("Publish selected solutions…"), permissions=["change"])
    def publish(self, request, queryset):
        """Publishes at once when nothing needs a second look; otherwise an intermediate
        page names each solution's reasons and publishes only after a confirmation."""
        queryset = queryset.select_related("problem")
        if "apply" in request.POST:
            self._transition(request, queryset, Solution.Status.PUBLISHED, verb="published",
                             confirmed=True)
            return None
        flagged = [(s, publish_concerns(s)) for s in queryset
                   if s.can_move_to(Solution.Status.PUBLISHED)]
        flagged = [(s, concerns) for s, concerns in flagged if concerns]
        if not flagged:
            self._transition(request, queryset, Solution.Status.PUBLISHED, verb="published")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Publish solutions"),
            "opts": self.model._meta,
            "queryset": queryset,
            "flagged": flagged,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/questionbank/solution/publish.html", context)

    @admin.action(description=_("Send selected solutions to review"), permissions=["change"])
    def send_to_review(self, request, queryset):
        self._transition(request, queryset, Solution.Status.IN_REVIEW, verb="sent to review")

    @admin.action(description=_("Unpublish selected solutions (back to draft)"),
                  permissions=["change"])
    def unpublish(self, request, queryset):
        others = queryset.exclude(status=Solution.Status.PUBLISHED).count()
        if others:
            self.message_user(request, _(
                "%(n)d selected solution(s) were not published and were left as they are.")
                % {"n": others}, messages.WARNING)
        self._transition(request, queryset.filter(status=Solution.Status.PUBLISHED),
                         Solution.Status.DRAFT, verb="unpublished")

    @admin.action(description=_("Reject selected solutions…"), permissions=["change"])
    def reject(self, request, queryset):
        """Asks for the reason on an intermediate page, then rejects."""
        reason = request.POST.get("reason", "").strip()
        if "apply" in request.POST:
            if reason:
                self._transition(request, queryset, Solution.Status.REJECTED, reason=reason,
                                 verb="rejected")
                return None
            error = _("Say why the solutions are rejected, so the next reviewer knows.")
        else:
            error = ""
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reject solutions"),
            "opts": self.model._meta,
            "queryset": queryset.select_related("problem"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "reason": reason,
            "error": error,
        }
        return TemplateResponse(request, "admin/questionbank/solution/reject.html", context)

    @admin.action(description=_("Regenerate: new answers for the problems of the selected"),
                  permissions=["change"])
    def regenerate(self, request, queryset):
        """One batch per template, with its current version, on the solutions' servers."""
        groups = defaultdict(lambda: {"problems": {}, "endpoints": set()})
        skipped = 0
        for solution in queryset.select_related("problem", "template", "endpoint"):
            if solution.template is None:
                skipped += 1
                continue
            group = groups[solution.template.lineage]
            group["problems"][solution.problem_id] = solution.problem
            if solution.endpoint_id and solution.endpoint.enabled:
                group["endpoints"].add(solution.endpoint)
        if skipped:
            self.message_user(request, _(
                "%(n)d solution(s) have no template (written by hand or the template was "
                "deleted) and were skipped.") % {"n": skipped}, messages.WARNING)
        created = []
        for lineage, group in groups.items():
            template = PromptTemplate.objects.current().filter(lineage=lineage).first()
            endpoints = list(group["endpoints"]) or list(ModelEndpoint.objects.enabled())
            try:
                batch = batch_create(problems=list(group["problems"].values()),
                                     template=template, endpoints=endpoints,
                                     created_by=request.user,
                                     name=gettext("Regenerated from the admin"))
            except (ValueError, ValidationError) as exc:
                self.message_user(request, f"{template}: {exc}", messages.ERROR)
            else:
                created.append(batch)
        if created:
            links = format_html_join(", ", '<a href="{}">{}</a>',
                                     ((b.get_absolute_url(), b) for b in created))
            self.message_user(request, format_html(_("Generation started: {}."), links),
                              messages.SUCCESS)


@admin.register(SolutionRevision)
class SolutionRevisionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("solution", "number", "author", "note", "created_at")
    search_fields = ("solution__problem__title", "note")
    list_select_related = ("solution__problem", "author")
    readonly_fields = ("solution", "number", "body", "rendered", "author", "note", "created_at")
    exclude = ("body_html",)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Rendered"))
    def rendered(self, obj):
        return format_html('<div class="qb-rendered">{}</div>', mark_safe(obj.body_html))
