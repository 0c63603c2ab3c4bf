"""Teacher pages for reviewing, editing and publishing worked solutions."""

from __future__ import annotations

import contextlib
import hashlib

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from questionbank import selectors
from questionbank.formatting import flash_form_errors, safe_next
from questionbank.forms import GenerateForm, RejectForm, SolutionBulkForm, SolutionEditForm
from questionbank.models import IllegalTransition, Problem, Solution, SolutionRevision
from questionbank.permissions import can_audit_calls, teacher_required
from questionbank.rendering import render_markdown
from questionbank.services.solutions import (
    EditConflict,
    PublishNeedsConfirmation,
    publish_concerns,
    published_solution_id,
    solution_add_revision,
    solution_revert,
    solution_transition,
    solutions_transition,
)
from questionbank.stored_text import translate_stored_html
from questionbank.textdiff import line_diff
from questionbank.validation import parse_int
from questionbank.views.calllogs import result_label

QUEUE_PAGE_SIZE = 25
# Live previews of longer texts are refused: nobody types that much into one box.
MAX_PREVIEW_CHARS = 200_000

# What the button that moves a solution from its state to a target says.
ACTION_LABELS = {
    Solution.Status.IN_REVIEW: gettext_lazy("Send to review"),
    Solution.Status.PUBLISHED: gettext_lazy("Publish"),
    Solution.Status.REJECTED: gettext_lazy("Reject…"),
}


def _action_label(solution: Solution, target: str) -> str:
    if target == Solution.Status.DRAFT:
        return {
            Solution.Status.PUBLISHED: _("Unpublish"),
            Solution.Status.REJECTED: _("Reopen as draft"),
        }.get(solution.status, _("Back to draft"))
    return ACTION_LABELS[target]


def _get_solution(pk: int) -> Solution:
    try:
        return selectors.solution_for_review(pk=pk)
    except Solution.DoesNotExist:
        raise Http404(_("No such solution.")) from None


# --- Live preview ---------------------------------------------------------------------------


@teacher_required
@require_POST
def markdown_preview(request):
    """Rendered HTML of posted Markdown, for the editors' live previews (CSRF-protected)."""
    text = request.POST.get("text", "")
    if len(text) > MAX_PREVIEW_CHARS:
        return HttpResponseBadRequest(
            _("This text is too long to preview live; save it to see it rendered."),
            content_type="text/plain; charset=utf-8",
        )
    # The note where a long reply was cut is in the text in English: shown translated.
    response = HttpResponse(translate_stored_html(render_markdown(text)),
                            content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


# --- Review queue ---------------------------------------------------------------------------

_QUEUE_FILTERS = ("q", "status", "kind", "tag", "template", "verdict")


@teacher_required
def review_queue(request):
    filters = {name: request.GET.get(name, "").strip() for name in _QUEUE_FILTERS}
    page = Paginator(selectors.review_queue(**filters), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "teacher/review_queue.html", {
        "page": page,
        "filters": filters,
        "query": query.urlencode(),
        "statuses": [(Solution.Status.DRAFT, Solution.Status.DRAFT.label),
                     (Solution.Status.IN_REVIEW, Solution.Status.IN_REVIEW.label)],
        "kinds": Problem.Kind.choices,
        "verdicts": Solution.Verdict.choices,
        "tags": selectors.all_tags(),
        "templates": selectors.templates_for_generation(),
        "bulk_actions": SolutionBulkForm.ACTIONS,
        "low_share": selectors.LOW_MAJORITY_SHARE,
    })


@teacher_required
@require_POST
def review_bulk(request):
    """Bulk moves from the review queue. Publishing publishes only the safe ones and shows
    the rest with their reasons, with a second, explicit step to publish them anyway."""
    back = safe_next(request, reverse("teacher:review-queue"))
    form = SolutionBulkForm(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect(back)
    action = form.cleaned_data["action"]
    confirmed = action == Solution.Status.PUBLISHED and form.cleaned_data["confirmed"]
    result = solutions_transition(
        solutions=form.cleaned_data["solutions"].select_related("problem"), target=action,
        user=request.user, reason=form.cleaned_data["reason"], confirmed=confirmed,
    )
    if result.moved:
        n = len(result.moved)
        done = {
            "published": ngettext("%(n)d solution published.", "%(n)d solutions published.", n),
            "in_review": ngettext("%(n)d solution sent to review.",
                                  "%(n)d solutions sent to review.", n),
            "rejected": ngettext("%(n)d solution rejected.", "%(n)d solutions rejected.", n),
        }
        messages.success(request, done[action] % {"n": n})
    if action == Solution.Status.PUBLISHED and (result.held or result.refused):
        return render(request, "teacher/bulk_publish_result.html", {
            "result": result, "back": back, "confirmed": confirmed,
            "n_held": len(result.held) + len(result.refused),
        })
    for solution, reason in result.refused:
        messages.warning(request, _("Solution %(number)s (%(problem)s): %(reason)s") % {
            "number": solution.pk, "problem": solution.problem, "reason": reason})
    return redirect(back)


# --- Review page ----------------------------------------------------------------------------


def _rendered_reasoning(text: str) -> str:
    """The reasoning trace rendered once per distinct text (it can be thousands of lines)."""
    if not text:
        return ""
    key = "qb:reasoning:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    html = cache.get(key)
    if html is None:
        html = render_markdown(text)
        cache.set(key, html, 7 * 24 * 3600)
    return html


def _call_links(request, solution: Solution) -> dict:
    """Where the calls behind a solution can be read, for this user."""
    links = {"admin": [], "job_calls": None}
    if can_audit_calls(request.user):
        links["admin"] = [
            (row, reverse("admin:questionbank_calllog_change", args=[row.pk]), result_label(row))
            for row in selectors.solution_call_logs(solution=solution)
        ]
    if solution.job_id:
        # The per-job call view comes from the audit pages; without them, no link.
        with contextlib.suppress(NoReverseMatch):
            links["job_calls"] = reverse("teacher:job-calls", args=[solution.job_id])
    return links


@teacher_required
def solution_review(request, pk: int):
    solution = _get_solution(pk)
    problem = solution.problem
    candidates = list(selectors.solution_candidates(solution=solution))
    next_in_queue = selectors.review_queue_next(after=solution.pk)
    regenerate = GenerateForm(
        kind=problem.kind,
        initial={"problems": [problem.pk],
                 "template": solution.template_id if solution.template_id else None},
    )
    transitions = [
        (target, _action_label(solution, target))
        for target in (Solution.Status.IN_REVIEW, Solution.Status.PUBLISHED,
                       Solution.Status.DRAFT, Solution.Status.REJECTED)
        if solution.can_move_to(target)
    ]
    can_publish = solution.can_move_to(Solution.Status.PUBLISHED)
    return render(request, "teacher/solution_review.html", {
        "concerns": publish_concerns(solution) if can_publish else [],
        "shown_id": published_solution_id(problem_id=problem.pk),
        "solution": solution,
        "problem": problem,
        "revision": solution.current_revision,
        "reasoning_html": _rendered_reasoning(solution.reasoning),
        "candidates": candidates,
        "transitions": transitions,
        "reject_form": RejectForm(),
        "history": selectors.solution_transitions(solution=solution)[:20],
        "call_links": _call_links(request, solution),
        "regenerate_form": regenerate,
        "next_in_queue": next_in_queue,
        "sampling": selectors.problem_sampling(solution=solution),
        "current_template": (
            solution.template if solution.template_id and solution.template.is_current
            else None
        ),
    })


@teacher_required
@require_POST
def solution_transition_view(request, pk: int):
    solution = get_object_or_404(Solution.objects.select_related("problem"), pk=pk)
    target = request.POST.get("target", "")
    if target not in Solution.Status.values:
        messages.error(request, _("That is not a step a solution can take. Use the buttons on "
                                "the review page."))
        return redirect(solution)
    try:
        solution_transition(solution=solution, target=target, user=request.user,
                            reason=request.POST.get("reason", ""),
                            confirm=request.POST.getlist("confirm"))
    except PublishNeedsConfirmation as exc:
        # Nothing was published: the teacher sees each reason and confirms them explicitly.
        return render(request, "teacher/publish_confirm.html", {
            "solution": solution, "problem": solution.problem, "concerns": exc.concerns,
            "then": request.POST.get("then", ""),
        })
    except IllegalTransition as exc:
        messages.error(request, _("%(error)s Someone may have changed it meanwhile: the page "
                                  "now shows its current state.") % {"error": exc})
        return redirect(solution)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect(solution)
    done = {
        Solution.Status.PUBLISHED: _("Published: students can now read this solution."),
        Solution.Status.IN_REVIEW: _("Sent to review."),
        Solution.Status.REJECTED: _("Rejected. The reason is kept in its history."),
        Solution.Status.DRAFT: _("Moved back to draft: students no longer see it."),
    }
    messages.success(request, done[target])
    if request.POST.get("then") == "next":
        following = selectors.review_queue_next(after=solution.pk)
        if following is not None:
            return redirect("teacher:solution-review", pk=following)
        messages.info(request, _("The review queue is empty."))
        return redirect("teacher:review-queue")
    return redirect(solution)


@teacher_required
def solution_compare(request, pk: int, other: int):
    """Two candidates for one problem, side by side, with the diff of their texts."""
    solution = _get_solution(pk)
    other_solution = get_object_or_404(
        Solution.objects.select_related("current_revision", "template", "endpoint"),
        pk=other, problem_id=solution.problem_id,
    )
    a = solution.current_revision.body if solution.current_revision_id else ""
    b = other_solution.current_revision.body if other_solution.current_revision_id else ""
    return render(request, "teacher/solution_compare.html", {
        "solution": solution,
        "other": other_solution,
        "problem": solution.problem,
        "diff": line_diff(a, b),
    })


# --- Editing --------------------------------------------------------------------------------


@teacher_required
def solution_edit(request, pk: int):
    solution = _get_solution(pk)
    current = solution.current_revision
    conflict = None
    if request.method == "POST":
        form = SolutionEditForm(request.POST)
        if form.is_valid():
            body = form.cleaned_data["body"]
            typed = form.cleaned_data["final_answer"]
            unchanged_answer = typed == (current.final_answer if current is not None and
                                         current.final_answer_by_teacher else "")
            if current is not None and body == current.body and unchanged_answer and (
                form.cleaned_data["base_revision"] == current.number
            ):
                messages.info(request, _("Nothing changed, so no new revision was saved."))
                return redirect(solution)
            try:
                revision = solution_add_revision(
                    solution=solution, body=body, author=request.user,
                    note=form.cleaned_data["note"],
                    base_revision=form.cleaned_data["base_revision"],
                    final_answer=typed,
                )
            except EditConflict as exc:
                conflict = exc
                # The teacher's text stays in the editor; saving again builds on theirs.
                form = SolutionEditForm(initial={
                    "body": body, "note": form.cleaned_data["note"],
                    "base_revision": exc.current.number, "final_answer": typed,
                })
                current = exc.current
            else:
                messages.success(request, _saved_message(revision))
                return redirect(solution)
    else:
        form = SolutionEditForm(initial={
            "body": current.body if current else "",
            "base_revision": current.number if current else 1,
            "final_answer": current.final_answer if current and current.final_answer_by_teacher
            else "",
        })
    context = {"solution": solution, "problem": solution.problem, "form": form,
               "current": current, "conflict": conflict}
    if conflict is not None:
        context["conflict_diff"] = line_diff(conflict.current.body, conflict.attempted_body)
    return render(request, "teacher/solution_edit.html", context, status=409 if conflict else 200)


def _saved_message(revision: SolutionRevision) -> str:
    """What was saved and what the new text's answer check says."""
    answer = revision.final_answer or _("none found")
    source = _("as you typed it") if revision.final_answer_by_teacher else _("taken from the text")
    return _("Saved as revision %(number)s. Final answer: %(answer)s (%(source)s); check: "
             "%(check)s.") % {"number": revision.number, "answer": answer, "source": source,
                              "check": revision.get_verdict_display().lower()}


@teacher_required
def solution_history(request, pk: int):
    """Every revision, and the diff between any two (default: the model's and the latest)."""
    solution = _get_solution(pk)
    revisions = list(selectors.solution_revisions(solution=solution))
    by_number = {r.number: r for r in revisions}
    diff = old = new = None
    if revisions:
        def pick(name, default):
            value = request.GET.get(name, "")
            return by_number.get(parse_int(value)) if value else default

        old = pick("a", revisions[-1])
        new = pick("b", revisions[0])
        if old is None or new is None:
            messages.error(request, _("That revision does not exist; showing the first and the "
                                    "latest instead."))
            old, new = revisions[-1], revisions[0]
        diff = line_diff(old.body, new.body)
    return render(request, "teacher/solution_history.html", {
        "solution": solution, "problem": solution.problem, "revisions": revisions,
        "old": old, "new": new, "diff": diff,
    })


@teacher_required
@require_POST
def solution_revert_view(request, pk: int):
    solution = get_object_or_404(Solution, pk=pk)
    number = parse_int(request.POST.get("number", ""))
    if number is None:
        messages.error(request, _("Choose a revision to go back to."))
        return redirect("teacher:solution-history", pk=pk)
    try:
        revision = solution_revert(solution=solution, to_number=number, author=request.user)
    except SolutionRevision.DoesNotExist:
        messages.error(request, _("Revision %(number)s does not exist.") % {"number": number})
        return redirect("teacher:solution-history", pk=pk)
    messages.success(request, _("Reverted: revision %(new)s is a copy of revision %(old)s. "
                                "Nothing was deleted.") % {"new": revision.number,
                                                           "old": number})
    return redirect(solution)
