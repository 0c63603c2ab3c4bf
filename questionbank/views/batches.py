"""Teacher pages for starting generation and following batches."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from questionbank import selectors
from questionbank.formatting import format_duration
from questionbank.forms import GenerateForm, ProblemBulkForm
from questionbank.models import GenerationBatch, GenerationJob, Problem
from questionbank.permissions import teacher_required
from questionbank.services import generation
from questionbank.validation import parse_int_list

# Partial text of a running call is cut to its last characters for the page and the poll.
PARTIAL_TAIL_CHARS = 1500
JOBS_PAGE_SIZE = 50


def _problem_ids(request) -> list[int]:
    source = request.POST if request.method == "POST" else request.GET
    if request.method == "GET" and source.get("matching"):
        # "Select all N matching" on the problem list: the list's filters, not N ids.
        return selectors.teacher_problem_ids(
            **{name: source.get(name, "").strip() for name in ProblemBulkForm.FILTERS})
    # Anything but ids is refused with a sentence (InvalidInput -> 400 page).
    return parse_int_list(source.getlist("problems"), label=_("the problem list"))


@teacher_required
def generate(request):
    """Choose template(s), servers and samples for one problem or a selection, then start.

    A mixed maths + programming selection gets one template choice per kind."""
    ids = _problem_ids(request)
    problems = list(Problem.objects.filter(pk__in=ids).only("id", "title", "kind", "status")
                    .order_by("pk"))
    kinds: dict[str, int] = {}
    for p in problems:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    if request.method == "POST":
        form = GenerateForm(request.POST, kinds=kinds)
        if form.is_valid():
            data = form.cleaned_data
            try:
                batch = generation.batch_create(
                    problems=list(data["problems"]), endpoints=list(data["endpoints"]),
                    samples=data["samples"], created_by=request.user, name=data["name"],
                    **form.batch_templates(),
                )
            except (ValueError, ValidationError) as exc:
                text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                form.add_error(None, text)
            else:
                n = batch.jobs.count()
                messages.success(request, ngettext(
                    "Generation started: %(n)d job queued. This page updates as answers arrive.",
                    "Generation started: %(n)d jobs queued. This page updates as answers "
                    "arrive.", n) % {"n": n})
                return redirect(batch)
    else:
        form = GenerateForm(kinds=kinds, initial={"problems": [p.pk for p in problems]})
    archived = [p for p in problems if p.status == Problem.Status.ARCHIVED]
    return render(request, "teacher/generate.html", {
        "form": form,
        "problems": problems,
        "archived": archived,
        "kinds": [(Problem.Kind(k).label.lower(), n) for k, n in sorted(kinds.items())],
        "mixed_kinds": len(kinds) > 1,
        "no_endpoints": not form.fields["endpoints"].queryset.exists(),
        "no_templates": not form.has_templates(),
    })


@teacher_required
def batch_list(request):
    page = Paginator(selectors.teacher_batch_list(), 25).get_page(request.GET.get("page"))
    return render(request, "teacher/batch_list.html", {"page": page, "query": ""})


def progress_payload(batch: GenerationBatch, waiting: selectors.BatchWaiting) -> dict:
    """The batch's progress as JSON-safe values, for the page and its poll; ``waiting``
    is ``selectors.batch_waiting`` for the batch."""
    raw = selectors.batch_progress(batch)
    counts = {status: int(raw.get("counts", {}).get(status, 0))
              for status in GenerationJob.Status.values}
    total = int(raw.get("total", sum(counts.values())))
    finished = sum(counts[s] for s in GenerationJob.FINISHED)
    running = []
    for job in raw.get("running", []):
        text = job.get("partial_text") or ""
        running.append({
            "id": job.get("id"),
            "problem": str(job.get("problem_title") or job.get("problem") or ""),
            "elapsed": format_duration(job.get("elapsed_seconds"), empty=""),
            "partial_text": text[-PARTIAL_TAIL_CHARS:],
            "truncated": len(text) > PARTIAL_TAIL_CHARS,
            "endpoint": str(job.get("endpoint_name") or job.get("endpoint") or ""),
        })
    eta = raw.get("eta_seconds")
    done = finished >= total
    return {
        "counts": counts,
        "total": total,
        "finished": finished,
        "percent": round(100 * finished / total) if total else 100,
        "done": done,
        "cancelled": batch.cancelled_at is not None,
        # Nothing of this batch is running: a countdown would be a guess that never moves.
        "waiting": waiting.is_waiting and not done,
        "eta": format_duration(eta, empty="") if eta and not waiting.is_waiting else "",
        "retrying": waiting.retrying,
        "running": running,
        "servers": [_server_json(server) for server in waiting.servers],
    }


def _server_json(server: selectors.ServerState) -> dict:
    return {
        "name": server.name, "enabled": server.enabled, "paused": server.is_paused,
        "retry_at": server.paused_until.isoformat() if server.paused_until else None,
        "failures": server.failures, "last_error": server.last_error,
        "busy": server.busy, "slots": server.slots,
    }


def _job_json(job: GenerationJob) -> dict:
    return {
        "id": job.pk, "problem": job.problem.title, "status": job.status,
        "attempts": job.attempts, "max_attempts": job.max_attempts,
        "endpoint": job.endpoint.name if job.endpoint else "",
        "next_attempt_at": job.next_attempt_at.isoformat() if job.next_attempt_at else None,
        "error_class": job.error_class, "error": job.last_error,
    }


def _live_context(request, batch: GenerationBatch) -> dict:
    """What the page's live parts show: the same for the page and for its poll."""
    waiting = selectors.batch_waiting(batch=batch)
    page = Paginator(selectors.batch_jobs(batch=batch), JOBS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return {
        "batch": batch,
        "progress": progress_payload(batch, waiting),
        "waiting": waiting,
        "failed": selectors.batch_failed_jobs(batch=batch)[:100],
        "sampling": selectors.batch_sampling(batch=batch),
        "page": page,
        "now": timezone.now(),
    }


@teacher_required
def batch_detail(request, pk: int):
    batch = get_object_or_404(
        GenerationBatch.objects.select_related("template", "created_by", "cancelled_by"), pk=pk
    )
    context = _live_context(request, batch)
    poll_url = reverse("teacher:batch-progress", args=[batch.pk])
    if context["page"].number > 1:
        poll_url += f"?page={context['page'].number}"
    return render(request, "teacher/batch_detail.html", {
        **context,
        "endpoints": batch.endpoints.all(),
        "templates": selectors.batch_templates(batch=batch),
        "query": "",
        "poll_url": poll_url,
    })


@teacher_required
def batch_progress_json(request, pk: int):
    """The poll behind static/js/batch.js: counts, running calls, why jobs wait, and the
    job rows of the page being looked at, as data and as HTML rendered by the page's own
    templates (so a live page and a reloaded one cannot differ)."""
    batch = get_object_or_404(GenerationBatch, pk=pk)
    context = _live_context(request, batch)
    data = context["progress"]
    data["jobs"] = [_job_json(job) for job in context["page"]]
    data["page"] = context["page"].number
    data["html"] = {
        "status": render_to_string("teacher/batch_status.html", context, request),
        "jobs": render_to_string("teacher/batch_jobs.html", context, request),
    }
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    return response


@teacher_required
@require_POST
def batch_cancel_view(request, pk: int):
    batch = get_object_or_404(GenerationBatch, pk=pk)
    n = generation.batch_cancel(batch=batch, user=request.user)
    if n:
        messages.success(request, ngettext(
            "Cancelled %(n)d job that had not finished. Answers already generated are kept.",
            "Cancelled %(n)d jobs that had not finished. Answers already generated are kept.",
            n) % {"n": n})
    else:
        messages.info(request, _("Nothing to cancel: every job of this batch had finished."))
    return redirect(batch)


@teacher_required
@require_POST
def batch_retry_view(request, pk: int):
    batch = get_object_or_404(GenerationBatch, pk=pk)
    n = generation.batch_retry_failed(batch=batch, user=request.user)
    if n:
        messages.success(request, ngettext("%(n)d failed job queued again.",
                                           "%(n)d failed jobs queued again.", n) % {"n": n})
    else:
        messages.info(request, _("There were no failed jobs to retry."))
    return redirect(batch)
