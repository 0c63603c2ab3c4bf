"""python manage.py rerender_problems — render every problem's statement again."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from questionbank.services.problems import problems_rerender


class Command(BaseCommand):
    help = ("Render every problem's statement again from its Markdown (its HTML, and its "
            "formulas as search snippets show them): once after upgrading past migration "
            "0028, or after an upgrade that changed the renderer. Until then, search pages "
            "render the formulas of older problems on each request.")

    def handle(self, *args, **opts):
        changed = problems_rerender()
        self.stdout.write(f"Statements rendered again; changed: {changed}.")
