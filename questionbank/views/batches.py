"""Teacher pages for starting generation and following batches."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from questionbank import selectors
from questionbank.formatting import format_duration
from questionbank.forms import GenerateForm
from questionbank.models import GenerationBatch, GenerationJob, Problem
from questionbank.permissions import teacher_required
from questionbank.services import generation
from questionbank.validation import parse_int_list

# Partial text of a running call is cut to its last characters for the page and the poll.
PARTIAL_TAIL_CHARS = 1500
JOBS_PAGE_SIZE = 50


def _problem_ids(request) -> list[int]:
    source = request.POST if request.method == "POST" else request.GET
    # Anything but ids is refused with a sentence (InvalidInput -> 400 page).
    return parse_int_list(source.getlist("problems"), label="the problem list")


@teacher_required
def generate(request):
    """Choose template, servers and samples for one problem or a selection, then start."""
    ids = _problem_ids(request)
    problems = list(Problem.objects.filter(pk__in=ids).only("id", "title", "kind", "status"))
    kinds = {p.kind for p in problems}
    kind = kinds.pop() if len(kinds) == 1 else None
    if request.method == "POST":
        form = GenerateForm(request.POST, kind=kind)
        if form.is_valid():
            data = form.cleaned_data
            try:
                batch = generation.batch_create(
                    problems=list(data["problems"]), template=data["template"],
                    endpoints=list(data["endpoints"]), samples=data["samples"],
                    created_by=request.user, name=data["name"],
                )
            except (ValueError, ValidationError) as exc:
                text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                form.add_error(None, text)
            else:
                n = batch.jobs.count()
                messages.success(request, f"Generation started: {n} job{'s' if n != 1 else ''} "
                                          "queued. This page updates as answers arrive.")
                return redirect(batch)
    else:
        form = GenerateForm(kind=kind, initial={"problems": [p.pk for p in problems]})
    archived = [p for p in problems if p.status == Problem.Status.ARCHIVED]
    return render(request, "teacher/generate.html", {
        "form": form,
        "problems": problems,
        "archived": archived,
        "mixed_kinds": len({p.kind for p in problems}) > 1,
        "no_endpoints": not form.fields["endpoints"].queryset.exists(),
        "no_templates": not form.fields["template"].queryset.exists(),
    })


@teacher_required
def batch_list(request):
    page = Paginator(selectors.teacher_batch_list(), 25).get_page(request.GET.get("page"))
    return render(request, "teacher/batch_list.html", {"page": page, "query": ""})


def progress_payload(batch: GenerationBatch) -> dict:
    """The batch's progress as JSON-safe values, for the page and its poll."""
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
    return {
        "counts": counts,
        "total": total,
        "finished": finished,
        "percent": round(100 * finished / total) if total else 100,
        "done": finished >= total,
        "cancelled": batch.cancelled_at is not None,
        "eta": format_duration(eta, empty="") if eta else "",
        "running": running,
    }


@teacher_required
def batch_detail(request, pk: int):
    batch = get_object_or_404(
        GenerationBatch.objects.select_related("template", "created_by", "cancelled_by"), pk=pk
    )
    progress = progress_payload(batch)
    jobs = Paginator(selectors.batch_jobs(batch=batch), JOBS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "teacher/batch_detail.html", {
        "batch": batch,
        "progress": progress,
        "failed": selectors.batch_failed_jobs(batch=batch)[:100],
        "endpoints": batch.endpoints.all(),
        "page": jobs,
        "query": "",
        "poll_url": reverse("teacher:batch-progress", args=[batch.pk]),
    })


@teacher_required
def batch_progress_json(request, pk: int):
    batch = get_object_or_404(GenerationBatch, pk=pk)
    response = JsonResponse(progress_payload(batch))
    response["Cache-Control"] = "no-store"
    return response


@teacher_required
@require_POST
def batch_cancel_view(request, pk: int):
    batch = get_object_or_404(GenerationBatch, pk=pk)
    n = generation.batch_cancel(batch=batch, user=request.user)
    if n:
        messages.success(request, f"Cancelled {n} job{'s' if n != 1 else ''} that had not "
                                  "finished. Answers already generated are kept.")
    else:
        messages.info(request, "Nothing to cancel: every job of this batch had finished.")
    return redirect(batch)


@teacher_required
@require_POST
def batch_retry_view(request, pk: int):
    batch = get_object_or_404(GenerationBatch, pk=pk)
    n = generation.batch_retry_failed(batch=batch, user=request.user)
    if n:
        messages.success(request, f"{n} failed job{'s' if n != 1 else ''} queued again.")
    else:
        messages.info(request, "There were no failed jobs to retry.")
    return redirect(batch)
