"""python manage.py rebuild_call_log_stats — recompute the pre-aggregated statistics."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from questionbank.services.calllog_stats import calllog_stats_rebuild


class Command(BaseCommand):
    help = ("Recompute the call-log statistics buckets (per hour, day and week) from the rows: "
            "once after migration 0022, or after rows were written by other means. New "
            "calls keep them current by themselves.")

    def handle(self, *args, **opts):
        buckets = calllog_stats_rebuild()
        self.stdout.write(f"Wrote {buckets} statistics buckets.")
