"""python manage.py call_log_anchor [--log] — print the call-log chain head as JSON."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from questionbank.services.calllogs import calllog_anchor, calllog_anchor_log


class Command(BaseCommand):
    help = ("Print the call log's chain head (newest row id and hash) as JSON, to keep "
            "outside the database; verify_call_log --anchors FILE compares it later. "
            "--log also writes it to the application log, as the hourly schedule does.")

    def add_arguments(self, parser):
        parser.add_argument("--log", action="store_true")

    def handle(self, *args, **opts):
        anchor = calllog_anchor_log() if opts["log"] else calllog_anchor()
        self.stdout.write(json.dumps(anchor, sort_keys=True))
