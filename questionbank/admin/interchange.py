"""Import and export in the admin: "Export selected as ..." actions on the problem list
and an import page (upload -> preview -> confirm) linked from the problem changelist.

``ProblemInterchangeMixin`` is mixed into ``ProblemAdmin`` (admin/problems.py). The
preview/confirm storage is the teacher page's (views/interchange.py); both call the same
services.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from questionbank import selectors
from questionbank.forms import ImportForm
from questionbank.interchange import FORMATS, FileRefused
from questionbank.services.interchange import export_problems, import_apply, import_plan
from questionbank.views.interchange import (
    drop_upload,
    handle_upload,
    load_upload,
    preview_choices,
)


def _export_action(fmt: str):
    def action(modeladmin, request, queryset):
        problems = selectors.problems_for_export(ids=list(queryset.values_list("pk", flat=True)),
                                                 with_solutions=True)
        export = export_problems(problems=problems, format=fmt, with_solutions=True)
        response = HttpResponse(export.content, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response

    action.__name__ = f"export_{fmt}"
    action.short_description = format_lazy(_("Export selected as {} (with published solutions)"),
                                           FORMATS[fmt])
    action.allowed_permissions = ("view",)
    return action


class ProblemInterchangeMixin:
    change_list_template = "admin/questionbank/problem/change_list.html"

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.has_view_permission(request):
            for fmt in FORMATS:
                func = _export_action(fmt)
                actions[func.__name__] = (func, func.__name__, func.short_description)
        return actions

    def get_urls(self):
        prefix = f"{self.model._meta.app_label}_{self.model._meta.model_name}"
        return [
            path("import/", self.admin_site.admin_view(self.import_view),
                 name=f"{prefix}_import"),
            path("import/<str:token>/", self.admin_site.admin_view(self.import_preview_view),
                 name=f"{prefix}_import_preview"),
            *super().get_urls(),
        ]

    def _context(self, request, **extra):
        return {**self.admin_site.each_context(request), "opts": self.model._meta,
                "title": _("Import problems"), **extra}

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            token = handle_upload(request, form)
            if token:
                return redirect("admin:questionbank_problem_import_preview", token=token)
        return TemplateResponse(request, "admin/questionbank/problem/import.html",
                                self._context(request, form=form))

    def import_preview_view(self, request, token):
        if not self.has_add_permission(request):
            raise PermissionDenied
        entry = load_upload(request, token)
        if entry is None:
            self.message_user(request, _("That upload has expired or was already imported. "
                                       "Upload the file again."), messages.ERROR)
            return redirect("admin:questionbank_problem_import")
        kwargs = {"data": entry["data"], "filename": entry["filename"],
                  "format": entry["format"], **preview_choices(request)}
        if request.method == "POST":
            try:
                result = import_apply(user=request.user, expected_digest=entry["digest"],
                                      **kwargs)
            except FileRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return redirect("admin:questionbank_problem_import_preview", token=token)
            drop_upload(request, token)
            self.message_user(request, _("Imported %(filename)s: %(summary)s")
                              % {"filename": entry["filename"], "summary": result.summary()},
                              messages.SUCCESS)
            return redirect(reverse("admin:questionbank_problem_changelist"))
        try:
            plan = import_plan(**kwargs)
        except FileRefused as exc:
            drop_upload(request, token)
            self.message_user(request, str(exc), messages.ERROR)
            return redirect("admin:questionbank_problem_import")
        return TemplateResponse(request, "admin/questionbank/problem/import.html",
                                self._context(request, plan=plan, token=token,
                                              title=_("Import preview")))

