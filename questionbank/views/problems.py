"""Teacher pages for problems."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from questionbank import selectors
from questionbank.formatting import flash_form_errors, safe_next, tell_input_cleaned
from questionbank.forms import ProblemBulkForm, ProblemForm
from questionbank.models import GenerationJob, Problem, Solution
from questionbank.permissions import teacher_required
from questionbank.services.problems import (
    problem_create,
    problem_update,
    problems_add_tags,
    problems_set_status,
)


@teacher_required
def dashboard(request):
    return render(request, "teacher/dashboard.html", {
        "counts": selectors.dashboard_counts(),
        "batches": selectors.recent_batches(),
        "to_review": selectors.dashboard_review(),
        "running": selectors.dashboard_jobs(status=GenerationJob.Status.RUNNING),
        "failed": selectors.dashboard_jobs(status=GenerationJob.Status.FAILED),
        "paused": selectors.paused_endpoints(),
        "low_share": selectors.LOW_MAJORITY_SHARE,
    })


@teacher_required
def problem_list(request):
    filters = {name: request.GET.get(name, "").strip()
               for name in ("q", "kind", "status", "tag", "difficulty")}
    qs = selectors.teacher_problem_list(**filters)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "teacher/problem_list.html", {
        "page": page,
        "filters": filters,
        "query": query.urlencode(),
        "kinds": Problem.Kind.choices,
        "statuses": Problem.Status.choices,
        "difficulties": Problem.Difficulty.choices,
        "tags": selectors.all_tags(),
        "bulk_actions": ProblemBulkForm.ACTIONS,
    })


@teacher_required
@require_POST
def problem_bulk(request):
    """Bulk actions on ticked problems, or on all matching the list's filters: generate,
    change status, add tags."""
    back = safe_next(request, reverse("teacher:problem-list"))
    form = ProblemBulkForm(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect(back)
    action = form.cleaned_data["action"]
    filters = form.filters()
    if form.cleaned_data["all_matching"]:
        if action == "generate":
            query = urlencode({"matching": "1", **{k: v for k, v in filters.items() if v}})
            return redirect(f"{reverse('teacher:generate')}?{query}")
        problems = list(Problem.objects.filter(pk__in=selectors.teacher_problem_ids(**filters)))
    else:
        problems = list(form.cleaned_data["problems"])
    n = len(problems)
    if not n:
        messages.info(request, _("No problem matches these filters any more; nothing was done."))
        return redirect(back)
    if action == "generate":
        ids = ",".join(str(pk) for pk in sorted(p.pk for p in problems))
        return redirect(f"{reverse('teacher:generate')}?problems={ids}")
    if action == "tag":
        problems_add_tags(problems=problems, names=form.cleaned_data["tags"])
        messages.success(request, ngettext("Tagged %(n)d problem with %(tags)s.",
                                           "Tagged %(n)d problems with %(tags)s.", n)
                         % {"n": n, "tags": ", ".join(form.cleaned_data["tags"])})
    else:
        status = action.split(":", 1)[1]
        changed = problems_set_status(problems=problems, status=status)
        label = Problem.Status(status).label.lower()
        if changed < n:
            text = ngettext("%(changed)d of %(n)d problem marked %(label)s (the others already "
                            "were).", "%(changed)d of %(n)d problems marked %(label)s (the "
                            "others already were).", n)
        else:
            text = ngettext("%(changed)d of %(n)d problem marked %(label)s.",
                            "%(changed)d of %(n)d problems marked %(label)s.", n)
        messages.success(request, text % {"changed": changed, "n": n, "label": label})
    return redirect(back)


@teacher_required
def problem_detail(request, pk: int):
    try:
        problem = selectors.teacher_problem_detail(pk=pk)
    except Problem.DoesNotExist:
        problem = get_object_or_404(Problem, pk=pk)
    solutions = list(selectors.problem_solutions(problem=problem))
    return render(request, "teacher/problem_detail.html", {
        "problem": problem,
        "solutions": solutions,
        "shown": next((s for s in solutions if s.status == Solution.Status.PUBLISHED), None),
        "jobs": selectors.problem_jobs(problem=problem),
        "generate_url": f"{reverse('teacher:generate')}?problems={problem.pk}",
    })


def _with_preview(form: ProblemForm) -> ProblemForm:
    """Point the statement box at the live preview pane (static/js/preview.js)."""
    form.fields["statement"].widget.attrs.update({
        "data-preview-source": "#statement-preview",
        "data-preview-url": reverse("teacher:preview"),
    })
    return form


@teacher_required
def problem_create_view(request):
    form = _with_preview(ProblemForm(request.POST or None))
    if request.method == "POST" and form.is_valid():
        problem = problem_create(created_by=request.user, tags=form.cleaned_data["tags"],
                                 **form.service_fields())
        messages.success(request, _("Problem “%(title)s” created.") % {"title": problem.title})
        tell_input_cleaned(request, problem)
        return redirect(problem)
    return render(request, "teacher/problem_form.html", {"form": form, "problem": None})


@teacher_required
def problem_edit(request, pk: int):
    problem = get_object_or_404(Problem, pk=pk)
    form = _with_preview(ProblemForm(request.POST or None, instance=problem))
    if request.method == "POST" and form.is_valid():
        before = Problem.objects.get(pk=pk).version
        problem = problem_update(problem=Problem.objects.get(pk=pk),
                                 tags=form.cleaned_data["tags"], **form.service_fields())
        if problem.version != before:
            messages.info(request, _("Saved as version %(version)s: solutions generated from "
                                     "earlier versions are now marked stale.")
                          % {"version": problem.version})
        else:
            messages.success(request, _("Problem saved."))
        tell_input_cleaned(request, problem)
        return redirect(problem)
    return render(request, "teacher/problem_form.html", {"form": form, "problem": problem})
