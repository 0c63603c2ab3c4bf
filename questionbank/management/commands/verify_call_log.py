"""python manage.py verify_call_log — exit status 1 when the hash chain is broken."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from questionbank.services.calllogs import calllog_verify, parse_anchors


class Command(BaseCommand):
    help = ("Check the call log's keyed hash chain from the oldest kept row (or the newest "
            "purge checkpoint) and report the first edited row, the first gap, a forged "
            "checkpoint or chain head. With --anchors, also compare the chain heads logged "
            "outside the database. Exits with status 1 when the chain is broken.")

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=2000,
                            help="Rows read from the database at a time.")
        parser.add_argument("--anchors", action="append", default=[], metavar="FILE",
                            help="An application log (or a saved call_log_anchor output) "
                                 "holding 'call-log anchor {...}' lines; may be repeated.")

    def handle(self, *args, **opts):
        anchors = []
        for name in opts["anchors"]:
            try:
                with open(name, encoding="utf-8", errors="replace") as handle:
                    anchors.extend(parse_anchors(handle.read()))
            except OSError as exc:
                raise CommandError(f"Could not read {name}: {exc.strerror}.") from None
        if opts["anchors"] and not anchors:
            raise CommandError("No call-log anchor lines found in the anchor files.")
        report = calllog_verify(chunk_size=max(opts["chunk_size"], 1), anchors=anchors)
        if not report.ok:
            raise CommandError(f"{report} [{report.problem}]", returncode=1)
        suffix = f" {len(anchors)} anchors match." if anchors else ""
        self.stdout.write(str(report) + suffix)
