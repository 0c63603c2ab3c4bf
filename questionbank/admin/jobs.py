from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from questionbank.formatting import format_duration
from questionbank.models import GenerationBatch, GenerationJob
from questionbank.selectors import batch_progress
from questionbank.services.generation import batch_cancel, batch_retry_failed
from questionbank.stored_text import translate_stored

_ACTIVE = (GenerationJob.Status.QUEUED, GenerationJob.Status.RUNNING)


class ReadOnlyMixin:
    """Rows written only by services: viewable in the admin, never edited there."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GenerationJobInline(ReadOnlyMixin, admin.TabularInline):
    model = GenerationJob
    fields = ("problem", "sample_index", "endpoint", "status", "attempts", "error")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    @admin.display(description=_("last error"))
    def error(self, obj):
        return translate_stored(obj.last_error)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("problem", "endpoint")


@admin.register(GenerationBatch)
class GenerationBatchAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("__str__", "template", "samples", "progress_column", "created_by",
                    "created_at", "cancelled_at", "finished_at")
    list_filter = ("template", "created_at")
    search_fields = ("name", "template__name")
    list_select_related = ("template", "created_by")
    readonly_fields = ("progress", "running_jobs")
    fields = ("name", "template", "endpoints", "samples", "created_by", "created_at",
              "cancelled_at", "cancelled_by", "finished_at", "progress", "running_jobs")
    inlines = [GenerationJobInline]
    actions = ["cancel_batches", "retry_failed_jobs"]

    def get_queryset(self, request):
        jobs = "jobs__status"
        return super().get_queryset(request).annotate(
            n_jobs=Count("jobs"),
            n_ok=Count("jobs", filter=Q(**{jobs: GenerationJob.Status.SUCCEEDED})),
            n_failed=Count("jobs", filter=Q(**{jobs: GenerationJob.Status.FAILED})),
            n_active=Count("jobs", filter=Q(**{f"{jobs}__in": _ACTIVE})),
        )

    @admin.display(description=_("Progress"))
    def progress_column(self, obj):
        return _("%(done)s/%(total)s done (%(ok)s ok, %(failed)s failed)") % {
            "done": obj.n_jobs - obj.n_active, "total": obj.n_jobs, "ok": obj.n_ok,
            "failed": obj.n_failed}

    @admin.display(description=_("Progress"))
    def progress(self, obj):
        p = batch_progress(obj)
        c = p["counts"]
        if p["eta_seconds"] is not None:
            eta = _("about %(time)s left") % {"time": format_duration(p["eta_seconds"])}
        else:
            eta = _("finished") if p["finished"] else _("no estimate yet (no call has finished)")
        return format_html(
            "{}; {}{}", _("%(done)s of %(total)s done — %(succeeded)s succeeded, %(failed)s "
                          "failed, %(cancelled)s cancelled, %(running)s running, %(queued)s "
                          "queued") % {"done": p["done"], "total": p["total"], **c}, eta,
            format_html("<br>{}", "; ".join(p["paused"])) if p["paused"] else "")

    @admin.display(description=_("Running now"))
    def running_jobs(self, obj):
        running = batch_progress(obj)["running"]
        if not running:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join(
            "", "<li>{}<pre>{}</pre></li>",
            ((_("Job %(job)s — %(problem)s #%(sample)s on %(endpoint)s, %(elapsed)s elapsed, "
                "attempt %(attempt)s") % {
                "job": r["id"], "problem": r["problem_title"], "sample": r["sample_index"] + 1,
                "endpoint": r["endpoint"], "elapsed": format_duration(r["elapsed_seconds"]),
                "attempt": r["attempts"]},
              r["partial_text"][-500:] or _("(no text yet)")) for r in running)))

    @admin.action(description=_("Cancel the selected batches (queued jobs never start)"))
    def cancel_batches(self, request, queryset):
        n = sum(batch_cancel(batch=b, user=request.user) for b in queryset)
        self.message_user(request, ngettext("%(n)d queued job cancelled; running ones will finish.",
                                   "%(n)d queued jobs cancelled; running ones will finish.", n)
                          % {"n": n},
                          messages.SUCCESS)

    @admin.action(description=_("Retry the failed jobs of the selected batches"))
    def retry_failed_jobs(self, request, queryset):
        n = sum(batch_retry_failed(batch=b, user=request.user) for b in queryset)
        self.message_user(request, ngettext("%(n)d failed job put back in the queue.",
                                   "%(n)d failed jobs put back in the queue.", n) % {"n": n},
                          messages.SUCCESS if n else messages.WARNING)


@admin.register(GenerationJob)
class GenerationJobAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "problem", "batch", "endpoint", "status", "attempts", "elapsed",
                    "error_class", "created_at", "finished_at")
    list_filter = ("status", "endpoint", "error_class")
    search_fields = ("problem__title", "last_error")
    list_select_related = ("problem", "batch", "endpoint")
    show_full_result_count = False
    readonly_fields = ("elapsed", "partial_text")

    @admin.display(description=_("Elapsed"))
    def elapsed(self, obj):
        if obj.started_at is None:
            return "—"
        end = obj.finished_at if obj.status != GenerationJob.Status.RUNNING else timezone.now()
        return format_duration((end - obj.started_at).total_seconds()) if end else "—"
