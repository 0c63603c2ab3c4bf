"""Teacher pages for problems."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from questionbank import selectors
from questionbank.forms import ProblemForm
from questionbank.models import Problem
from questionbank.permissions import teacher_required
from questionbank.services.problems import problem_create, problem_update


@teacher_required
def dashboard(request):
    return render(request, "teacher/dashboard.html", {
        "counts": selectors.dashboard_counts(),
        "batches": selectors.recent_batches(),
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
    })


@teacher_required
def problem_detail(request, pk: int):
    try:
        problem = selectors.teacher_problem_detail(pk=pk)
    except Problem.DoesNotExist:
        problem = get_object_or_404(Problem, pk=pk)
    return render(request, "teacher/problem_detail.html", {
        "problem": problem,
        "solutions": selectors.problem_solutions(problem=problem),
        "jobs": selectors.problem_jobs(problem=problem),
    })


@teacher_required
def problem_create_view(request):
    form = ProblemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        problem = problem_create(created_by=request.user, tags=form.cleaned_data["tags"],
                                 **form.service_fields())
        messages.success(request, f"Problem “{problem.title}” created.")
        return redirect(problem)
    return render(request, "teacher/problem_form.html", {"form": form, "problem": None})


@teacher_required
def problem_edit(request, pk: int):
    problem = get_object_or_404(Problem, pk=pk)
    form = ProblemForm(request.POST or None, instance=problem)
    if request.method == "POST" and form.is_valid():
        before = Problem.objects.get(pk=pk).version
        problem = problem_update(problem=Problem.objects.get(pk=pk),
                                 tags=form.cleaned_data["tags"], **form.service_fields())
        if problem.version != before:
            messages.info(request, f"Saved as version {problem.version}: solutions generated "
                                   "from earlier versions are now marked stale.")
        else:
            messages.success(request, "Problem saved.")
        return redirect(problem)
    return render(request, "teacher/problem_form.html", {"form": form, "problem": problem})
