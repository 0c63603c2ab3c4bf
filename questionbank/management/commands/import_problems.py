"""Import problems from a Moodle XML, GIFT, CSV or JSON file.

    python manage.py import_problems questions.xml --dry-run     # the plan, nothing written
    python manage.py import_problems questions.xml --user alice  # feedback -> alice's drafts
    python manage.py import_problems bank.csv --format csv --strict
    python manage.py import_problems bank.xml --language fi          # multilang: keep Finnish
    python manage.py import_problems bank.xml --update-similar       # see "looks like #N"

All or nothing: the rows are written in one transaction. Rows with errors are listed
and left out (``--strict``: any error refuses the whole file). Running it twice changes
nothing the second time. Exit status 1 when the file is refused, 0 otherwise.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from questionbank.interchange import FORMATS, FileRefused, size_message
from questionbank.services.interchange import ERROR, SKIP, import_apply, import_plan


class Command(BaseCommand):
    help = "Import problems from a Moodle XML, GIFT, CSV or JSON file (see docs/import-formats.md)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The file to import.")
        parser.add_argument("--format", choices=list(FORMATS),
                            help="The file's format; by default from its extension or content.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Show what would be created, updated and skipped; write nothing.")
        parser.add_argument("--strict", action="store_true",
                            help="Refuse the whole file when any row has an error.")
        parser.add_argument("--language", help="The language to keep from multi-language "
                            "text (default: the site's, else the file's first).")
        parser.add_argument("--update-similar", action="store_true",
                            help="A row that looks like an existing problem (same title and "
                            "category, different text) updates it instead of creating a new "
                            "one.")
        parser.add_argument("--user", help="Username of the teacher the problems and the draft "
                            "solutions (general feedback) are credited to. Without it, feedback "
                            "is not imported.")

    def handle(self, *args, file, format=None, dry_run=False, strict=False, user=None,
               language=None, update_similar=False, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file.")
        size = path.stat().st_size
        if size > settings.QB_IMPORT_MAX_BYTES:
            raise CommandError(f"{file}: {size_message(size, settings.QB_IMPORT_MAX_BYTES)}")
        account = None
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"There is no user called {user!r}.")
        data = path.read_bytes()
        choices = {"language": language}
        try:
            plan = import_plan(data=data, filename=path.name, format=format,
                               with_solutions=account is not None, **choices)
            if update_similar and plan.similar:
                choices["update_similar"] = [row.number for row in plan.similar]
                plan = import_plan(data=data, filename=path.name, format=format,
                                   with_solutions=account is not None, **choices)
        except FileRefused as exc:
            raise CommandError(f"{file}: {exc}") from None
        self._print_plan(plan)
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
            return
        if strict and plan.errors:
            raise CommandError(f"{len(plan.errors)} row(s) have errors; nothing was imported "
                               "(--strict).")
        try:
            result = import_apply(data=data, filename=path.name, format=format, user=account,
                                  strict=strict, **choices)
        except FileRefused as exc:
            raise CommandError(f"{file}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(result.summary()))

    def _print_plan(self, plan):
        language = f", language kept: {plan.language}" if plan.language else ""
        self.stdout.write(f"{plan.filename}: {plan.format_label}, read as "
                          f"{plan.encoding_label}{language}.")
        for note in plan.notes:
            self.stdout.write(self.style.WARNING(f"Note: {note}"))
        for row in plan.rows:
            line = f"{row.label}: {row.action}"
            if row.title:
                line += f" “{row.title}”"
            if row.changes:
                line += f" #{row.problem_id} (changes: {', '.join(row.change_labels)})"
            if row.reason:
                line += f": {row.reason}"
            style = self.style.ERROR if row.action == ERROR else (
                self.style.NOTICE if row.action == SKIP else (lambda s: s))
            self.stdout.write(style(line))
            for warning in row.warnings:
                self.stdout.write(self.style.WARNING(f"    {warning}"))
            if row.similar_id and not row.updates_similar:
                self.stdout.write(self.style.WARNING(
                    f"    looks like problem #{row.similar_id} (same title and category, "
                    "different text); --update-similar updates it instead of creating one."))
        counts = plan.counts
        self.stdout.write(f"To create: {counts['create']}, to update: {counts['update']}, "
                          f"unchanged: {counts['skip']}, errors: {counts['error']}.")
