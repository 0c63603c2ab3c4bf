"""python manage.py purge_call_logs [--older-than 90d] [--dry-run]"""

from __future__ import annotations

import getpass

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from questionbank.services.calllogs import calllog_purge

from ._calllog_args import parse_duration


class Command(BaseCommand):
    help = ("Remove call-log rows older than a retention period and record a checkpoint so "
            "the tamper check still passes. A django-q2 schedule runs this daily.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", default=f"{settings.QB_CALL_LOG_RETENTION_DAYS}d",
            help="90d, 12h, 2w ... (default: QB_CALL_LOG_RETENTION_DAYS, "
                 f"{settings.QB_CALL_LOG_RETENTION_DAYS} days)."
        )
        parser.add_argument("--dry-run", action="store_true",
                            help="Say how many rows would go; remove nothing.")

    def handle(self, *args, **opts):
        cutoff = timezone.now() - parse_duration(opts["older_than"])
        try:
            who = f"purge_call_logs ({getpass.getuser()})"
        except (KeyError, OSError):
            who = "purge_call_logs"
        result = calllog_purge(older_than=cutoff, dry_run=opts["dry_run"], created_by=who)
        self.stdout.write(str(result))
