"""python manage.py verify_call_log — exit status 1 when the hash chain is broken."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from questionbank.services.calllogs import calllog_verify


class Command(BaseCommand):
    help = ("Check the call log's hash chain from the oldest kept row (or the newest purge "
            "checkpoint) and report the first edited row or the first gap. Exits with status "
            "1 when the chain is broken.")

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=2000,
                            help="Rows read from the database at a time.")

    def handle(self, *args, **opts):
        report = calllog_verify(chunk_size=max(opts["chunk_size"], 1))
        if not report.ok:
            raise CommandError(str(report), returncode=1)
        self.stdout.write(str(report))
