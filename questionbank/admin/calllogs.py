"""The call log in the admin: read-only, fast at millions of rows, with export,
statistics and the tamper check.

Who sees it: superusers and staff with ``questionbank.audit_calllog`` (``can_audit_calls``).
Nobody adds, changes or deletes a row here; there is no "delete selected" action.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from questionbank import selectors
from questionbank.models import CallLog, CallLogVerification
from questionbank.permissions import can_audit_calls
from questionbank.services.calllog_export import calllog_export
from questionbank.services.calllogs import calllog_anchor, calllog_verification_start
from questionbank.validation import parse_int, parse_moment
from questionbank.views import calllogs as views

_CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


def export_response(queryset, fmt: str) -> StreamingHttpResponse:
    """A streamed download of ``queryset`` as CSV or JSON Lines (constant memory)."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        calllog_export(queryset=queryset, fmt=fmt), content_type=_CONTENT_TYPES[fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="call-logs-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


# --- Paging without counting a million rows -------------------------------------------------


class CallLogPaginator(Paginator):
    """Counts exactly up to ``selectors.CALLLOG_COUNT_CAP`` rows, then estimates."""

    is_estimate = False

    @cached_property
    def count(self):
        count, self.is_estimate = selectors.calllog_count(self.object_list)
        return count

    def page(self, number):
        """Ids first, then the rows: a deep page skips index entries, not joined rows."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:bottom + self.per_page])
        rows = list(self.object_list.filter(pk__in=ids)) if ids else []
        return self._get_page(rows, number, self)


class CallLogChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        # The listed columns only: request/response bodies stay on disk.
        return selectors.calllog_list(super().get_queryset(request, exclude_parameters))


# --- Filters: none of them loads a big table into a dropdown --------------------------------


class InputFilter(admin.ListFilter):
    """A text box instead of a list of choices, for foreign keys with many rows."""

    parameter_name = ""
    placeholder = ""
    help_text = ""
    template = "admin/questionbank/calllog/input_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.value = ""
        if self.parameter_name in params:
            self.value = params.pop(self.parameter_name)[-1].strip()
            self.used_parameters[self.parameter_name] = self.value

    def has_output(self):
        return True

    def expected_parameters(self):
        return [self.parameter_name]

    def choices(self, changelist):
        keep = [(k, v) for k, v in changelist.params.items()
                if k not in (self.parameter_name, PAGE_VAR)]
        yield {
            "name": self.parameter_name,
            "value": self.value,
            "placeholder": self.placeholder,
            "help_text": self.help_text,
            "hidden": keep,
            "clear_url": changelist.get_query_string(remove=[self.parameter_name, PAGE_VAR]),
        }

    def queryset(self, request, queryset):
        if not self.value:
            return queryset
        return selectors.calllog_filter(queryset, **{self.filter_argument: self.value})

    filter_argument = ""


class TemplateFilter(InputFilter):
    title = _("template")
    parameter_name = filter_argument = "template"
    placeholder = _("id or name")
    help_text = _("A name matches every version.")


class BatchFilter(InputFilter):
    title = _("batch")
    parameter_name = filter_argument = "batch"
    placeholder = _("batch id")


class UserFilter(InputFilter):
    title = _("user")
    parameter_name = filter_argument = "user"
    placeholder = _("username or id")


class ProblemFilter(InputFilter):
    title = _("problem")
    parameter_name = filter_argument = "problem"
    placeholder = _("problem id")


class JobFilter(InputFilter):
    title = _("job")
    parameter_name = filter_argument = "job"
    placeholder = _("job id")


class ErrorClassFilter(admin.SimpleListFilter):
    title = _("error class")
    parameter_name = "error_class"

    def lookups(self, request, model_admin):
        return [(name, name) for name in selectors.calllog_error_classes()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(error_class=self.value())
        return queryset


class DateRangeFilter(admin.ListFilter):
    """From / to boxes (``since`` inclusive, ``until`` inclusive of that whole day)."""

    title = _("date")
    template = "admin/questionbank/calllog/date_filter.html"
    QUICK = ((_("Last 24 hours"), timedelta(days=1)), (_("Last 7 days"), timedelta(days=7)),
             (_("Last 30 days"), timedelta(days=30)))

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.values = {}
        for name in ("since", "until"):
            if name in params:
                self.values[name] = params.pop(name)[-1].strip()
                self.used_parameters[name] = self.values[name]
        self.since = self.until = None
        self.errors = []
        for name, end in (("since", False), ("until", True)):
            try:
                setattr(self, name, parse_moment(self.values.get(name, ""), end=end))
            except ValidationError as exc:
                self.errors.append(exc.messages[0])

    def has_output(self):
        return True

    def expected_parameters(self):
        return ["since", "until"]

    def choices(self, changelist):
        now = timezone.localtime()
        keep = [(k, v) for k, v in changelist.params.items()
                if k not in ("since", "until", PAGE_VAR)]
        quick = [
            {"label": label,
             "url": changelist.get_query_string(
                 {"since": (now - delta).strftime("%Y-%m-%d %H:%M")}, remove=["until", PAGE_VAR])}
            for label, delta in self.QUICK
        ]
        yield {
            "since": self.values.get("since", ""),
            "until": self.values.get("until", ""),
            "errors": self.errors,
            "hidden": keep,
            "quick": quick,
            "clear_url": changelist.get_query_string(remove=["since", "until", PAGE_VAR]),
        }

    def queryset(self, request, queryset):
        return selectors.calllog_filter(queryset, since=self.since, until=self.until)


# --- The admin --------------------------------------------------------------------------------


@admin.register(CallLog)
class CallLogAdmin(admin.ModelAdmin):
    """Append-only: nobody adds, changes or deletes a row here."""

    list_display = ("id", "time", "endpoint_label", "result", "latency", "tokens", "problem_link",
                    "template_link", "user_link")
    list_display_links = ("id", "time")
    list_filter = (
        ("endpoint", admin.RelatedFieldListFilter),  # few rows: a list is fine
        "outcome",
        ErrorClassFilter,
        DateRangeFilter,
        TemplateFilter,
        BatchFilter,
        UserFilter,
        ProblemFilter,
        JobFilter,
    )
    list_select_related = ("problem", "template", "user")
    search_fields = ("problem__title", "error_message")  # see get_search_results
    search_help_text = _("Searches problem titles and error messages.")
    sortable_by = ("id",)
    ordering = ("-id",)
    list_per_page = 50
    list_max_show_all = 200
    paginator = CallLogPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ("export_selected_csv", "export_selected_jsonl")
    change_list_template = "admin/questionbank/calllog/change_list.html"

    # Permissions: only auditors and superusers, and only to look.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and can_audit_calls(request.user)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def get_model_perms(self, request):
        return {"add": False, "change": False, "delete": False,
                "view": self.has_view_permission(request)}

    # The list.
    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "last_verification":
                         CallLogVerification.objects.order_by("-id").first()}
        return super().changelist_view(request, extra_context)

    def get_changelist(self, request, **kwargs):
        return CallLogChangeList

    def get_search_results(self, request, queryset, search_term):
        return selectors.calllog_search(queryset, search_term), False

    @admin.display(description=_("time"), ordering="id")
    def time(self, obj):
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description=_("endpoint"))
    def endpoint_label(self, obj):
        return obj.endpoint_name or "—"

    @admin.display(description=_("status / error"))
    def result(self, obj):
        return format_html('<span class="qb-result {}">{}</span>', obj.outcome,
                           views.result_label(obj))

    @admin.display(description=_("latency"))
    def latency(self, obj):
        return views.format_ms(obj.latency_ms)

    @admin.display(description=_("tokens (in / out)"))
    def tokens(self, obj):
        if obj.prompt_tokens is None and obj.completion_tokens is None:
            return "—"
        return f"{obj.prompt_tokens if obj.prompt_tokens is not None else '?'} / " \
               f"{obj.completion_tokens if obj.completion_tokens is not None else '?'}"

    @admin.display(description=_("problem"))
    def problem_link(self, obj):
        return Truncator(obj.problem.title).chars(60) if obj.problem_id else "—"

    @admin.display(description=_("template"))
    def template_link(self, obj):
        return str(obj.template) if obj.template_id else "—"

    @admin.display(description=_("user"))
    def user_link(self, obj):
        return obj.user.get_username() if obj.user_id else "—"

    # Export: the selected rows (an action) or the whole filtered list (a button).
    @admin.action(description=_("Export selected calls as CSV"))
    def export_selected_csv(self, request, queryset):
        return export_response(queryset, "csv")

    @admin.action(description=_("Export selected calls as JSON Lines"))
    def export_selected_jsonl(self, request, queryset):
        return export_response(queryset, "jsonl")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("statistics/", wrap(self.statistics_view), name="questionbank_calllog_stats"),
            path("verify/", wrap(self.verify_view), name="questionbank_calllog_verify"),
            path("verify/anchor.json", wrap(self.anchor_view),
                 name="questionbank_calllog_anchor"),
            path("export/<str:fmt>/", wrap(self.export_view), name="questionbank_calllog_export"),
            path("<path:object_id>/raw/<str:part>/", wrap(self.raw_view),
                 name="questionbank_calllog_raw"),
            *super().get_urls(),
        ]

    def _require_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied(_("Only auditors and administrators may read the call log."))

    def _context(self, request, title: str) -> dict:
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title}

    def export_view(self, request, fmt: str):
        """The changelist's current filters and search, streamed as a file."""
        self._require_view(request)
        if fmt not in _CONTENT_TYPES:
            raise Http404(_("Export formats are csv and jsonl."))
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return redirect("admin:questionbank_calllog_changelist")
        return export_response(changelist.get_queryset(request), fmt)

    def statistics_view(self, request):
        self._require_view(request)
        return views.statistics(request, context=self._context(request, _("Call statistics")))

    def verify_view(self, request):
        """The last tamper check (run as a background task), its progress and result;
        POST starts one. Also the chain head to keep outside the database."""
        self._require_view(request)
        if request.method == "POST":
            calllog_verification_start(requested_by=request.user.get_username())
            messages.info(request, _("The tamper check has started; this page follows it."))
            return redirect("admin:questionbank_calllog_verify")
        context = self._context(request, _("Tamper check"))
        last = CallLogVerification.objects.order_by("-id").first()
        context.update(verification=last, anchor=calllog_anchor(),
                       checkpoints=views.recent_checkpoints())
        if last is not None and last.first_broken_id and CallLog.objects.filter(
                pk=last.first_broken_id).exists():
            context["broken_url"] = reverse("admin:questionbank_calllog_change",
                                            args=[last.first_broken_id])
        return TemplateResponse(request, "admin/questionbank/calllog/verify.html", context)

    def anchor_view(self, request):
        """The chain head as a JSON file, for an auditor to keep and compare later
        (``verify_call_log --anchors FILE``)."""
        self._require_view(request)
        anchor = calllog_anchor()
        response = JsonResponse(anchor, json_dumps_params={"sort_keys": True})
        response["Content-Disposition"] = (
            f'attachment; filename="call-log-anchor-{anchor["id"]}.json"')
        response["Cache-Control"] = "no-store"
        return response

    def raw_view(self, request, object_id, part: str):
        """One body as plain text, whole (the detail page shows a capped, pretty copy)."""
        self._require_view(request)
        if part not in ("request", "response"):
            raise Http404(_("Only the request and response bodies can be downloaded."))
        field = f"{part}_body"
        row = CallLog.objects.filter(pk=_int_or_404(unquote(object_id))).only("id", field).first()
        if row is None:
            raise Http404(_("No call with that number."))
        response = HttpResponse(getattr(row, field), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="call-{row.pk}-{part}.txt"'
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The detail page: pretty bodies, redacted headers, links and the hash chain."""
        self._require_view(request)
        try:
            row = selectors.calllog_detail(pk=_int_or_404(unquote(object_id)))
        except CallLog.DoesNotExist:
            raise Http404(_("No call with that number; it may have been purged.")) from None
        context = self._context(request, _("Call %(number)s") % {"number": row.pk})
        context.update(views.call_detail_context(row, admin=True))
        return TemplateResponse(request, "admin/questionbank/calllog/detail.html", context)


def _int_or_404(value) -> int:
    number = parse_int(value)
    if number is None:
        raise Http404(_("No call with that number."))
    return number
