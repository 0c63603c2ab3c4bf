"""Teacher pages for prompt templates: list, create, edit (versioned), detail and preview."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from questionbank import selectors
from questionbank.formatting import tell_input_cleaned
from questionbank.forms import PromptTemplateForm, TemplatePreviewForm
from questionbank.models import Problem, PromptTemplate
from questionbank.permissions import teacher_required
from questionbank.sanitize import PLACEHOLDERS
from questionbank.services import generation
from questionbank.services.templates import template_create, template_update


def _recent_problems(template: PromptTemplate, limit: int = 30):
    qs = Problem.objects.only("id", "title").order_by("-id")
    if template.kind != PromptTemplate.Kind.ANY:
        qs = qs.filter(kind=template.kind)
    return qs[:limit]


@teacher_required
def template_list(request):
    filters = {name: request.GET.get(name, "").strip() for name in ("q", "kind")}
    page = Paginator(selectors.teacher_template_list(**filters), 25).get_page(
        request.GET.get("page")
    )
    quality = selectors.template_quality(lineages=[t.lineage for t in page])
    for template in page:
        template.quality = quality.get(template.lineage, selectors.TemplateQuality())
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "teacher/template_list.html", {
        "page": page, "filters": filters, "query": query.urlencode(),
        "kinds": PromptTemplate.Kind.choices,
    })


@teacher_required
def template_create_view(request):
    form = PromptTemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = template_create(created_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Template “%(name)s” created.") % {"name": template.name})
            tell_input_cleaned(request, template)
            return redirect(template)
    return render(request, "teacher/template_form.html", {
        "form": form, "template": None, "placeholders": PLACEHOLDERS,
    })


@teacher_required
def template_edit(request, pk: int):
    template = get_object_or_404(PromptTemplate, pk=pk)
    # The form validates a copy: the stored version is changed only through the service.
    form = PromptTemplateForm(request.POST or None,
                              instance=PromptTemplate.objects.get(pk=pk))
    used = template.is_used()
    if request.method == "POST" and form.is_valid():
        try:
            saved = template_update(template=template, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if saved.pk != template.pk:
                messages.info(
                    request,
                    _("Version %(old)s was used to generate solutions, so it is kept as it "
                      "was. Your edit is saved as version %(new)s, which new generation now "
                      "uses.") % {"old": template.version, "new": saved.version},
                )
            else:
                messages.success(request, _("Template saved."))
            tell_input_cleaned(request, saved)
            return redirect(saved)
    current = (
        template if template.is_current
        else PromptTemplate.objects.filter(lineage=template.lineage, is_current=True).first()
    )
    return render(request, "teacher/template_form.html", {
        "form": form, "template": template, "used": used, "current": current,
        "placeholders": PLACEHOLDERS,
    })


@teacher_required
def template_detail(request, pk: int):
    template = get_object_or_404(PromptTemplate.objects.select_related("created_by"), pk=pk)
    versions = list(selectors.template_versions(template=template))
    per_version = selectors.template_quality(template_ids=[v.pk for v in versions])
    for version in versions:
        version.quality = per_version.get(version.pk, selectors.TemplateQuality())
    quality = selectors.template_quality(lineages=[template.lineage]).get(
        template.lineage, selectors.TemplateQuality()
    )
    preview = None
    preview_form = TemplatePreviewForm(request.GET if "problem" in request.GET else None)
    if preview_form.is_bound and preview_form.is_valid():
        problem = preview_form.cleaned_data["problem"]
        preview = {
            "problem": problem,
            "result": generation.prompt_preview(template=template, problem=problem),
            "suits": template.suits(problem.kind),
        }
    current = next((v for v in versions if v.is_current), None)
    return render(request, "teacher/template_detail.html", {
        "template": template,
        "versions": versions,
        "quality": quality,
        "current": current,
        "preview_form": preview_form,
        "preview": preview,
        "recent_problems": _recent_problems(template),
        "savings": selectors.template_policy_savings(lineage=template.lineage),
    })
