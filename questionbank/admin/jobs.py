from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from questionbank.formatting import format_duration
from questionbank.models import GenerationBatch, GenerationJob
from questionbank.selectors import batch_progress
from questionbank.services.generation import batch_cancel, batch_retry_failed

_ACTIVE = (GenerationJob.Status.QUEUED, GenerationJob.Status.RUNNING)


class ReadOnlyMixin:
    """Rows written only by services: viewable in the admin, never edited there."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GenerationJobInline(ReadOnlyMixin, admin.TabularInline):
    model = GenerationJob
    fields = ("problem", "sample_index", "endpoint", "status", "attempts", "last_error")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

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

    @admin.display(description="Progress")
    def progress_column(self, obj):
        return (f"{obj.n_jobs - obj.n_active}/{obj.n_jobs} done "
                f"({obj.n_ok} ok, {obj.n_failed} failed)")

    @admin.display(description="Progress")
    def progress(self, obj):
        p = batch_progress(obj)
        c = p["counts"]
        eta = f"about {format_duration(p['eta_seconds'])} left" if p["eta_seconds"] is not None \
            else ("finished" if p["finished"] else "no estimate yet (no call has finished)")
        return format_html(
            "{} of {} done — {} succeeded, {} failed, {} cancelled, {} running, {} queued; "
            "{}{}", p["done"], p["total"], c["succeeded"], c["failed"], c["cancelled"],
            c["running"], c["queued"], eta,
            format_html("<br>{}", "; ".join(p["paused"])) if p["paused"] else "")

    @admin.display(description="Running now")
    def running_jobs(self, obj):
        running = batch_progress(obj)["running"]
        if not running:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join(
            "", "<li>Job {} — {} #{} on {}, {} elapsed, attempt {}<pre>{}</pre></li>",
            ((r["id"], r["problem_title"], r["sample_index"] + 1, r["endpoint"],
              format_duration(r["elapsed_seconds"]), r["attempts"],
              r["partial_text"][-500:] or "(no text yet)") for r in running)))

    @admin.action(description="Cancel the selected batches (queued jobs never start)")
    def cancel_batches(self, request, queryset):
        n = sum(batch_cancel(batch=b, user=request.user) for b in queryset)
        self.message_user(request, f"{n} queued jobs cancelled; running ones will finish.",
                          messages.SUCCESS)

    @admin.action(description="Retry the failed jobs of the selected batches")
    def retry_failed_jobs(self, request, queryset):
        n = sum(batch_retry_failed(batch=b, user=request.user) for b in queryset)
        self.message_user(request, f"{n} failed jobs put back in the queue.",
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

    @admin.display(description="Elapsed")
    def elapsed(self, obj):
        if obj.started_at is None:
            return "—"
        end = obj.finished_at if obj.status != GenerationJob.Status.RUNNING else timezone.now()
        return format_duration((end - obj.started_at).total_seconds()) if end else "—"
