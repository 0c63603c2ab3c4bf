"""Render and store the students' problem articles that are missing or out of date.

    python manage.py render_problem_pages [--problem ID ...]

Publishing renders a problem's article at once; anything else that changes a page (an
import, an edit, a tag renamed) leaves it to be rendered on its next view. Run this after
a large import or an upgrade so that no student waits for those first views. Safe to run
at any time, and again: current articles are skipped.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from questionbank import browse_cache


class Command(BaseCommand):
    help = "Render and store the students' problem articles that are missing or out of date."

    def add_arguments(self, parser):
        parser.add_argument("--problem", type=int, nargs="+", metavar="ID",
                            help="only these problems (default: every visible problem)")

    def handle(self, *args, problem=None, **options):
        todo = browse_cache.articles_out_of_date(problem)
        total = len(todo)
        for done, pk in enumerate(todo, 1):
            browse_cache.warm_article(pk)
            if options["verbosity"] and (done % 1000 == 0 or done == total):
                self.stdout.write(f"rendered {done} of {total}")
        if not total and options["verbosity"]:
            self.stdout.write("Every visible problem's article is up to date.")
