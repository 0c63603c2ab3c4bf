"""The admin for model servers: secrets write-only, "check now", and one health status."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from questionbank.models import CallLog, ModelEndpoint
from questionbank.services.endpoints import (
    endpoint_check,
    endpoint_create,
    endpoint_update,
    health_summary,
)

_FIELDS = ("name", "protocol", "base_url", "api_name", "model_name", "layout_override",
           "username", "password", "api_key", "connect_timeout", "read_timeout", "deadline",
           "max_concurrency", "stream", "penalty_style", "enabled")


class ModelEndpointForm(forms.ModelForm):
    """Secrets are write-only: never rendered back (the page says "set" or "not set");
    a value typed here replaces the stored one, blank keeps it."""

    password = forms.CharField(
        label=_("Replace password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Gradio login password. Leave blank to keep the stored one."),
    )
    api_key = forms.CharField(
        label=_("Replace API key"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Bearer key for OpenAI-compatible servers. Leave blank to keep the stored "
                    "one."),
    )
    clear_secrets = forms.BooleanField(
        label=_("Clear secrets"), required=False,
        help_text=_("Remove the stored password and API key.")
    )

    class Meta:
        model = ModelEndpoint
        fields = _FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The bound instance holds the secrets; make sure no widget can echo them.
        for name in ModelEndpoint.SECRET_FIELDS:
            self.initial.pop(name, None)
            if name in self.fields and self.instance.pk:
                stored = self.instance.has_secret(name)
                self.fields[name].help_text = format_lazy(
                    "{} {}", self.fields[name].help_text,
                    _("(one is set)") if stored else _("(not set)"))

    def clean(self):
        cleaned = super().clean()
        if not settings.QB_SECRETS_KEYS:
            for name in ModelEndpoint.SECRET_FIELDS:
                if cleaned.get(name):
                    self.add_error(name, _("Secrets are stored encrypted and QB_SECRETS_KEY is "
                                   "not set on this server; ask whoever runs it to set it "
                                   "(README.md, “Secrets at rest”), then save again."))
        return cleaned

    def _post_clean(self):
        # Keep stored secrets on the instance when the field was left blank.
        stored = {name: getattr(self.instance, name) for name in ModelEndpoint.SECRET_FIELDS}
        super()._post_clean()
        for name, value in stored.items():
            if not self.cleaned_data.get(name):
                setattr(self.instance, name, value)


@dataclass(frozen=True)
class HealthStatus:
    """One verdict on a server: ``level`` ok / warning / error / unknown, a short
    sentence, and ``detail`` (the last error in full, when there is one)."""

    level: str
    text: str
    detail: str = ""


def endpoint_health(endpoint: ModelEndpoint, *, last_call_at=None, last_call_outcome: str = "",
                    last_call_error: str = "", now=None) -> HealthStatus:
    """One status from everything known about a server, so the admin never shows two that
    disagree ("reachable" beside "paused"). In order: switched off; the breaker (paused,
    on trial, failing) since it decides whether jobs run; then the newer of the last
    health check and the last real call."""
    now = now or timezone.now()

    def ago(moment) -> str:
        return _("%(time)s ago") % {"time": timesince(moment, now, depth=1)}

    failures = endpoint.consecutive_failures
    if not endpoint.enabled:
        return HealthStatus("unknown", _("disabled: no jobs are sent to it"))
    if endpoint.paused_until and endpoint.paused_until > now:
        at = timezone.localtime(endpoint.paused_until).strftime("%H:%M:%S")
        return HealthStatus("error", ngettext(
            "paused after %(n)d failure in a row, next try at %(at)s",
            "paused after %(n)d failures in a row, next try at %(at)s", failures)
            % {"n": failures, "at": at}, endpoint.last_error)
    if failures >= settings.QB_BREAKER_THRESHOLD:
        return HealthStatus("warning", ngettext(
            "on trial after %(n)d failure in a row: the next call decides whether it pauses "
            "again",
            "on trial after %(n)d failures in a row: the next call decides whether it pauses "
            "again", failures) % {"n": failures})
    if failures:
        return HealthStatus("warning", ngettext(
            "failing: the last call failed", "failing: the last %(n)d calls failed", failures)
            % {"n": failures}, endpoint.last_error)
    check = endpoint.last_checked_at
    if last_call_at is not None and (check is None or last_call_at >= check):
        if last_call_outcome == CallLog.Outcome.SUCCESS:
            return HealthStatus("ok", _("working: last call succeeded %(ago)s")
                                % {"ago": ago(last_call_at)})
        # The breaker is closed, so the server answered: it refused this one input.
        return HealthStatus("warning", _("answering, but the last call (%(ago)s) ended in "
                                         "%(error)s") % {"ago": ago(last_call_at),
                                                         "error": last_call_error or _("an error")})
    if check is not None:
        if endpoint.last_check_ok:
            return HealthStatus("ok", _("reachable at the last check, %(ago)s")
                                % {"ago": ago(check)})
        return HealthStatus("error", _("unreachable at the last check, %(ago)s")
                            % {"ago": ago(check)})
    return HealthStatus("unknown", _("not used or checked yet: use “Check now”"))


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(admin.ModelAdmin):
    form = ModelEndpointForm
    list_display = ("name", "protocol", "base_url", "max_concurrency", "enabled", "health",
                    "server_version")
    list_filter = ("protocol", "enabled", "is_standin")
    search_fields = ("name", "base_url")
    change_form_template = "admin/questionbank/modelendpoint/change_form.html"
    actions = ("check_now",)
    readonly_fields = ("secrets_status", "health", "is_standin", "server_version",
                       "api_name_discovered", "layout_table", "discovered_at",
                       "consecutive_failures", "paused_until", "last_error", "last_checked_at",
                       "last_check_ok", "last_check_latency_ms")
    fieldsets = (
        (None, {"fields": ("name", "protocol", "base_url", "enabled", "is_standin")}),
        (_("Credentials (write-only)"), {"fields": ("username", "secrets_status", "password",
                                                 "api_key", "clear_secrets")}),
        (_("Calls"), {"fields": ("max_concurrency", "stream", "connect_timeout", "read_timeout",
                              "deadline")}),
        (_("OpenAI-compatible servers"), {"fields": ("penalty_style",)}),
        (_("Server interface"), {"fields": ("api_name", "model_name", "layout_override",
                                         "api_name_discovered", "layout_table",
                                         "server_version", "discovered_at")}),
        (_("Health"), {"fields": ("health", "last_checked_at", "last_check_ok",
                               "last_check_latency_ms", "consecutive_failures", "paused_until",
                               "last_error")}),
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        # A view-only form renders every listed field's value: list no secret at all.
        hidden = {*ModelEndpoint.SECRET_FIELDS, "clear_secrets"}
        return tuple(
            (title, {**opts, "fields": tuple(f for f in opts["fields"] if f not in hidden)})
            for title, opts in fieldsets
        )

    @admin.display(description=_("Stored secrets"))
    def secrets_status(self, obj):
        if obj is None or not obj.pk:
            return _("none yet")
        return " \u00b7 ".join(
            "{}: {}".format(label, _("set") if obj.has_secret(name) else _("not set"))
            for name, label in (("password", _("password")), ("api_key", _("API key")))
        )

    @admin.display(description=_("Discovered endpoint"))
    def api_name_discovered(self, obj):
        return obj.api_name or _("not discovered yet")

    @admin.display(description=_("Discovered parameter layout"))
    def layout_table(self, obj):
        layout = obj.parameter_layout or {}
        if not layout:
            return _("not discovered yet: use “Check now”")
        if not isinstance(layout, dict):  # stored by hand or by an older version
            return str(layout)
        rows = format_html_join(
            "", "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            ((ours, theirs) for ours, theirs in layout.items()),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("Our field"), _("Server parameter"), rows)

    def get_queryset(self, request):
        # The newest call per server: one index lookup each (calllog_endpoint).
        last = CallLog.objects.filter(endpoint=OuterRef("pk")).order_by("-id")
        return super().get_queryset(request).annotate(
            last_call_at=Subquery(last.values("created_at")[:1]),
            last_call_outcome=Subquery(last.values("outcome")[:1]),
            last_call_error=Subquery(last.values("error_class")[:1]),
        )

    @admin.display(description=_("Health"))
    def health(self, obj):
        status = endpoint_health(
            obj, last_call_at=getattr(obj, "last_call_at", None),
            last_call_outcome=getattr(obj, "last_call_outcome", "") or "",
            last_call_error=getattr(obj, "last_call_error", "") or "")
        if not status.detail:
            return format_html('<span class="qb-health qb-health-{}">{}</span>', status.level,
                               status.text)
        return format_html('<span class="qb-health qb-health-{}" title="{}">{}</span><br>'
                           '<small>{} {}</small>', status.level, status.detail, status.text,
                           _("Last error:"), status.detail[:120] + ("…" if len(status.detail) > 120
                                                                else ""))

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in _FIELDS if name in form.cleaned_data}
        if change:
            original = ModelEndpoint.objects.get(pk=obj.pk)
            saved = endpoint_update(
                endpoint=original, clear_secrets=form.cleaned_data.get("clear_secrets", False),
                **fields,
            )
            obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})
        else:
            saved = endpoint_create(**fields)
            obj.pk = saved.pk
            obj.created_at = saved.created_at

    # -- "check now": discovery + health, stored, reported in messages -------------------
    def _check_and_report(self, request, endpoint: ModelEndpoint) -> None:
        health = endpoint_check(endpoint=endpoint)
        line = f"{endpoint.name}: {health_summary(health)}"
        if not health.reachable or health.error:
            messages.error(request, line)
        else:
            messages.success(request, line)

    @admin.action(description=_("Check now: discover the server and test it"),
                  permissions=["change"])
    def check_now(self, request, queryset):
        # One server at a time, with the client's short health-check timeouts (a minute
        # at most each), so a slow server shows up as its own message.
        for endpoint in queryset.order_by("name"):
            self._check_and_report(request, endpoint)

    def get_urls(self):
        urls = [
            path("<int:pk>/check/", self.admin_site.admin_view(self.check_view),
                 name="questionbank_modelendpoint_check"),
        ]
        return urls + super().get_urls()

    def check_view(self, request, pk):
        return require_POST(self._check_view)(request, pk)

    def _check_view(self, request, pk):
        endpoint = get_object_or_404(ModelEndpoint, pk=pk)
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        self._check_and_report(request, endpoint)
        return redirect(reverse("admin:questionbank_modelendpoint_change", args=[endpoint.pk]))
