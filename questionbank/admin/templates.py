from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from questionbank.formatting import tell_input_cleaned
from questionbank.models import PromptTemplate
from questionbank.sanitize import PLACEHOLDERS
from questionbank.services.templates import template_create, template_update

_FIELDS = ("name", "kind", "description", "system_prompt", "user_prompt", "temperature",
           "top_p", "max_new_tokens", "repetition_penalty", "samples", "sampling_policy",
           "agree_with_reference", "confidence_threshold", "min_samples")


class CurrentVersionFilter(admin.SimpleListFilter):
    title = _("version")
    parameter_name = "versions"

    def lookups(self, request, model_admin):
        return (("all", _("All versions")),)

    def queryset(self, request, queryset):
        return queryset if self.value() == "all" else queryset.filter(is_current=True)

    def choices(self, changelist):
        yield {"selected": self.value() is None, "display": _("Current only"),
               "query_string": changelist.get_query_string(remove=[self.parameter_name])}
        yield {"selected": self.value() == "all", "display": _("All versions"),
               "query_string": changelist.get_query_string({self.parameter_name: "all"})}


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "is_current", "kind", "temperature", "top_p",
                    "max_new_tokens", "samples", "sampling_policy", "created_at")
    list_filter = (CurrentVersionFilter, "kind", "sampling_policy")
    search_fields = ("name", "description", "user_prompt")
    readonly_fields = ("version", "is_current", "lineage", "created_by", "created_at",
                       "placeholders_help")
    fieldsets = (
        (None, {"fields": ("name", "kind", "description")}),
        ("Prompt", {"fields": ("system_prompt", "user_prompt", "placeholders_help")}),
        ("Sampling", {"fields": ("temperature", "top_p", "max_new_tokens", "repetition_penalty",
                                 "samples")}),
        (_("Adaptive sampling"), {"fields": ("sampling_policy", "agree_with_reference",
                                             "confidence_threshold", "min_samples")}),
        ("Version", {"fields": ("version", "is_current", "lineage", "created_by", "created_at")}),
    )

    @admin.display(description=_("Placeholders you can use"))
    def placeholders_help(self, obj):
        return ", ".join("{" + name + "}" for name in PLACEHOLDERS)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in _FIELDS if name in form.cleaned_data}
        if not change:
            tell_input_cleaned(request, template_create(instance=obj, created_by=request.user,
                                                        **fields))
            return
        original = PromptTemplate.objects.get(pk=obj.pk)
        saved = template_update(template=original, user=request.user, **fields)
        tell_input_cleaned(request, saved)
        if saved.pk != obj.pk:
            request._qb_new_template_version = saved
            messages.info(
                request,
                _("Version %(old)s was used by generation jobs, so it is kept as it was; your "
                  "edit is saved as version %(new)s.") % {"old": original.version,
                                                          "new": saved.version},
            )

    def response_change(self, request, obj):
        saved = getattr(request, "_qb_new_template_version", None)
        if saved is not None and "_continue" in request.POST:
            return HttpResponseRedirect(
                reverse("admin:questionbank_prompttemplate_change", args=[saved.pk])
            )
        return super().response_change(request, obj)
