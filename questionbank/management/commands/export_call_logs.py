"""python manage.py export_call_logs --since 7d --format jsonl --output calls.jsonl"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from questionbank import selectors
from questionbank.models import CallLog
from questionbank.services.calllog_export import EXPORT_FORMATS, calllog_export

from ._calllog_args import parse_moment


class Command(BaseCommand):
    help = ("Export call-log rows (every column, oldest first) as CSV or JSON Lines, to "
            "standard output or a file. Streams: memory stays flat at millions of rows.")

    def add_arguments(self, parser):
        parser.add_argument("--since", help="From this date/time (YYYY-MM-DD[THH:MM]) or "
                            "this long ago (7d, 12h).")
        parser.add_argument("--until", help="Up to (not including) this date/time or time ago.")
        parser.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")
        parser.add_argument("--endpoint", default="", help="Endpoint id or name.")
        parser.add_argument("--outcome", default="", choices=["", *CallLog.Outcome.values])
        parser.add_argument("--error-class", default="", help="e.g. TimedOut")
        parser.add_argument("--template", default="", help="Template id or part of its name.")
        parser.add_argument("--batch", default="", help="Batch id.")
        parser.add_argument("--user", default="", help="Username or user id.")
        parser.add_argument("--problem", default="", help="Problem id.")
        parser.add_argument("--job", default="", help="Job id.")
        parser.add_argument("--search", default="", help="Text in the problem title or error.")
        parser.add_argument("--chunk-size", type=int, default=500,
                            help="Rows fetched from the database at a time.")

    def handle(self, *args, **opts):
        since = parse_moment(opts["since"], name="since") if opts["since"] else None
        until = parse_moment(opts["until"], name="until") if opts["until"] else None
        if since and until and until <= since:
            raise CommandError("--until must be after --since.")
        queryset = selectors.calllog_filter(
            since=since, until=until, endpoint=opts["endpoint"], outcome=opts["outcome"],
            error_class=opts["error_class"], template=opts["template"], batch=opts["batch"],
            user=opts["user"], problem=opts["problem"], job=opts["job"],
            search=opts["search"],
        )
        tally: dict = {}
        chunks = calllog_export(queryset=queryset, fmt=opts["format"],
                                chunk_size=max(opts["chunk_size"], 1), tally=tally)
        if opts["output"]:
            try:
                with open(opts["output"], "w", encoding="utf-8", newline="") as out:
                    for chunk in chunks:
                        out.write(chunk)
            except OSError as exc:
                raise CommandError(f"Could not write {opts['output']}: {exc.strerror}.") from None
            self.stderr.write(f"Exported {tally['rows']} call-log rows to {opts['output']}.")
        else:
            stream = getattr(self.stdout, "_out", sys.stdout)
            for chunk in chunks:
                stream.write(chunk)
            stream.flush()
            self.stderr.write(f"Exported {tally['rows']} call-log rows.")
