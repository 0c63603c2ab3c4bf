"""Export problems (optionally with their published solutions) to a file or stdout.

    python manage.py export_problems --format moodle --with-solutions --output bank.xml
    python manage.py export_problems --format csv --tag Algebra/Quadratics > algebra.csv
    python manage.py export_problems --format json --ids 3 4 5

The file is built in memory (a few KB per problem); split very large banks with --tag
or --ids.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from questionbank import selectors
from questionbank.interchange import FORMATS
from questionbank.models import Problem
from questionbank.services.interchange import export_problems


class Command(BaseCommand):
    help = "Export problems as Moodle XML, GIFT, CSV or JSON, optionally with published solutions."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=list(FORMATS), default="moodle",
                            help="The output format (default: moodle).")
        parser.add_argument("--with-solutions", action="store_true",
                            help="Include each problem's published solution (the best one).")
        parser.add_argument("--tag", default="", help="Only problems with this tag (name or slug).")
        parser.add_argument("--status", choices=Problem.Status.values, default="",
                            help="Only problems in this status.")
        parser.add_argument("--ids", nargs="+", type=int, default=None, metavar="ID",
                            help="Only these problem numbers.")
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")

    def handle(self, *args, format="moodle", with_solutions=False, tag="", status="", ids=None,
               output=None, **options):
        problems = selectors.problems_for_export(ids=ids, tag=tag, status=status or "",
                                                 with_solutions=with_solutions)
        export = export_problems(problems=problems, format=format,
                                 with_solutions=with_solutions)
        if export.count == 0:
            raise CommandError("No problem matches; nothing was exported.")
        if output:
            try:
                Path(output).write_bytes(export.content)
            except OSError as exc:
                raise CommandError(f"Cannot write {output}: {exc.strerror}.") from None
            self.stderr.write(f"Exported {export.count} problem(s) to {output}.")
        else:
            stream = getattr(self.stdout, "_out", sys.stdout)
            if hasattr(stream, "buffer"):
                stream.flush()
                stream.buffer.write(export.content)
                stream.buffer.flush()
            else:
                stream.write(export.content.decode("utf-8"))
