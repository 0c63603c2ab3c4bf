"""Teacher pages: import problems from a file (upload -> preview -> confirm) and export.

Between preview and confirm the uploaded bytes wait in the cache (shared by every
process: the file cache or Redis) under a random token, for an hour. The token is also
recorded in the uploader's session, so nobody else can confirm it, and the file's
SHA-256 is checked again on confirm. Nothing is written to the database before confirm.

The preview carries two choices to the confirm: the language kept from multi-language
text (``?language=fi`` re-plans the preview; the confirm form posts it back) and, per
row that "looks like problem #N", whether to update #N instead of creating a problem.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from questionbank import selectors
from questionbank.forms import ExportForm, ImportForm
from questionbank.interchange import FileRefused
from questionbank.permissions import teacher_required
from questionbank.services.interchange import (
    export_problems,
    file_digest,
    import_apply,
    import_plan,
)
from questionbank.validation import parse_int

UPLOAD_TTL_SECONDS = 60 * 60
_SESSION_KEY = "qb_import_tokens"


def stash_upload(request, *, data: bytes, filename: str, format: str) -> str:
    """Keep an uploaded file until the preview is confirmed; returns its token."""
    token = secrets.token_urlsafe(24)
    cache.set(f"qb-import:{token}", {
        "data": data, "filename": filename, "format": format or None,
        "digest": file_digest(data), "user_id": request.user.pk,
    }, UPLOAD_TTL_SECONDS)
    tokens = [t for t in request.session.get(_SESSION_KEY, []) if t != token][-9:]
    request.session[_SESSION_KEY] = [*tokens, token]
    return token


def load_upload(request, token: str) -> dict | None:
    """The stashed upload, if this token belongs to this user's session and has not expired."""
    if token not in request.session.get(_SESSION_KEY, []):
        return None
    entry = cache.get(f"qb-import:{token}")
    if not entry or entry.get("user_id") != request.user.pk:
        return None
    if file_digest(entry["data"]) != entry["digest"]:
        return None
    return entry


def drop_upload(request, token: str) -> None:
    cache.delete(f"qb-import:{token}")
    request.session[_SESSION_KEY] = [
        t for t in request.session.get(_SESSION_KEY, []) if t != token
    ]


def handle_upload(request, form: ImportForm) -> str | None:
    """Parse once to refuse a bad file at once; stash a good one. Returns the token."""
    upload = form.cleaned_data["file"]
    data = upload.read()
    fmt = form.cleaned_data.get("format") or None
    try:
        import_plan(data=data, filename=upload.name, format=fmt)
    except FileRefused as exc:
        form.add_error("file", str(exc))
        return None
    return stash_upload(request, data=data, filename=upload.name, format=fmt)


@teacher_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        token = handle_upload(request, form)
        if token:
            return redirect("teacher:import-preview", token=token)
    return render(request, "teacher/import_upload.html", {"form": form})


def preview_choices(request) -> dict:
    """The preview's choices from the query string (GET) or the confirm form (POST):
    ``language`` and ``update_similar`` (row numbers), ignoring anything malformed."""
    source = request.POST if request.method == "POST" else request.GET
    language = (source.get("language") or "").strip().lower() or None
    if language and (len(language) > 16 or not language.replace("-", "").isalnum()):
        language = None
    rows = {parse_int(n) for n in source.getlist("update_similar")} - {None}
    return {"language": language, "update_similar": rows}


@teacher_required
@require_http_methods(["GET", "POST"])
def import_preview(request, token: str):
    entry = load_upload(request, token)
    if entry is None:
        messages.error(request, _("That upload has expired or was already imported. Upload the "
                                "file again."))
        return redirect("teacher:import")
    kwargs = {"data": entry["data"], "filename": entry["filename"], "format": entry["format"],
              **preview_choices(request)}
    if request.method == "POST":
        try:
            result = import_apply(user=request.user, expected_digest=entry["digest"], **kwargs)
        except FileRefused as exc:
            messages.error(request, str(exc))
            return redirect("teacher:import-preview", token=token)
        drop_upload(request, token)
        messages.success(request, _("Imported %(filename)s: %(summary)s")
                         % {"filename": entry["filename"], "summary": result.summary()})
        return redirect(reverse("teacher:problem-list"))
    try:
        plan = import_plan(**kwargs)
    except FileRefused as exc:  # e.g. the size limit was lowered meanwhile
        drop_upload(request, token)
        messages.error(request, str(exc))
        return redirect("teacher:import")
    return render(request, "teacher/import_preview.html", {"plan": plan, "token": token})


@teacher_required
@require_http_methods(["GET"])
def export_view(request):
    """The export form; with ``download`` set it returns the file."""
    data = request.GET.copy()
    if "ids" in data and len(data.getlist("ids")) > 1:  # ?ids=1&ids=2 from a bulk form
        data["ids"] = ",".join(data.getlist("ids"))
    bound = "download" in data or "format" in data
    form = ExportForm(data if bound else None, initial={"with_solutions": True})
    count = None
    if bound and form.is_valid():
        opts = form.cleaned_data
        problems = selectors.problems_for_export(
            ids=opts["ids"] or None, tag=opts["tag"].strip(), kind=opts["kind"],
            status=opts["status"], q=opts["q"].strip(), with_solutions=opts["with_solutions"],
        )
        if "download" in data:
            export = export_problems(problems=problems, format=opts["format"],
                                     with_solutions=opts["with_solutions"])
            if export.count == 0:
                messages.warning(request, _("No problem matches these choices, so there is "
                                          "nothing to export. Widen the filters."))
            else:
                response = HttpResponse(export.content, content_type=export.content_type)
                response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
                return response
        count = problems.count()
    return render(request, "teacher/export.html", {
        "form": form, "count": count, "tags": selectors.all_tags(),
    })


