"""``manage.py messages``: update the translation catalogues from the source, and compile.

What ``make messages`` runs (README.md, "Languages"). It runs Django's ``makemessages``
for the page strings (``django``) and the scripts' strings (``djangojs``, static/js) with
the options below, then ``compilemessages``; both need GNU gettext (``apt-get install
gettext``). New source strings arrive in locale/zh_Hans/LC_MESSAGES/*.po with an empty
translation, changed ones marked fuzzy: translate them, then run it again to compile.
tests/test_i18n.py runs the same update into a copy to check the catalogues are current.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

LOCALES = ["zh_Hans"]
DOMAINS = ("django", "djangojs")
# Folders whose strings are not the site's: tests, benchmarks, mutation testing, build output.
IGNORE = ["tests", "bench", "mutation", "staticfiles", "docs", "node_modules"]
MAKEMESSAGES_OPTIONS = {
    "locale": LOCALES, "ignore_patterns": IGNORE, "add_location": "file", "no_obsolete": True,
}


def catalogue_paths(locale_dir: Path) -> list[Path]:
    return [locale_dir / locale / "LC_MESSAGES" / f"{domain}.po"
            for locale in LOCALES for domain in DOMAINS]


class Command(BaseCommand):
    help = "Update locale/*/LC_MESSAGES/*.po from the source (makemessages) and compile them."

    def add_arguments(self, parser):
        parser.add_argument("--no-compile", action="store_true",
                            help="Update the .po files only.")

    def handle(self, *args, no_compile=False, verbosity=1, **options):
        for domain in DOMAINS:
            call_command("makemessages", domain=domain, verbosity=verbosity,
                         **MAKEMESSAGES_OPTIONS)
        # The date xgettext stamps on every run would make each update a diff.
        for path in catalogue_paths(Path(settings.LOCALE_PATHS[0])):
            text = path.read_text(encoding="utf-8")
            path.write_text(re.sub(r'^"POT-Creation-Date: [^"]*"\n', "", text, flags=re.M),
                            encoding="utf-8")
        if not no_compile:
            call_command("compilemessages", locale=LOCALES, verbosity=verbosity)
