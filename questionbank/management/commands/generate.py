"""python manage.py generate — start a generation batch and follow it to the end."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from questionbank.models import GenerationBatch, ModelEndpoint, Problem, PromptTemplate
from questionbank.selectors import batch_progress
from questionbank.services.generation import batch_create


class Command(BaseCommand):
    help = ("Generate worked solutions for problems with a prompt template, through the queue "
            "(a qcluster must be running), and show progress until the batch ends.")

    def add_arguments(self, parser):
        parser.add_argument("--template", required=True,
                            help="Template name (its current version is used).")
        parser.add_argument("--endpoint", action="append", default=[],
                            help="Model server name; repeat for several. Default: every "
                                 "enabled one.")
        parser.add_argument("--samples", type=int, help="Answers per problem (default: the "
                                                        "template's).")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--problem", type=int, nargs="+", metavar="ID")
        which.add_argument("--tag", help="Every ready problem with this tag (name or slug).")
        which.add_argument("--all-ready", action="store_true", help="Every ready problem.")
        parser.add_argument("--name", default="", help="A name for the batch.")
        parser.add_argument("--no-wait", action="store_true",
                            help="Return as soon as the batch is queued.")
        parser.add_argument("--poll", type=float, default=1.0,
                            help="Seconds between progress updates.")

    def handle(self, *args, **opts):
        template = (PromptTemplate.objects.current().filter(name=opts["template"])
                    .order_by("-version").first())
        if template is None:
            names = ", ".join(PromptTemplate.objects.current().values_list("name", flat=True))
            raise CommandError(f"No template is called {opts['template']!r}. "
                               f"Templates: {names or 'none yet'}.")
        if opts["endpoint"]:
            endpoints = list(ModelEndpoint.objects.filter(name__in=opts["endpoint"]))
            missing = set(opts["endpoint"]) - {e.name for e in endpoints}
            if missing:
                raise CommandError(f"No model server is called {', '.join(sorted(missing))}; "
                                   "see the admin's model endpoints.")
        else:
            endpoints = list(ModelEndpoint.objects.enabled())
            if not endpoints:
                raise CommandError("No model server is enabled; add one in the admin.")
        if opts["problem"]:
            problems = list(Problem.objects.filter(pk__in=opts["problem"]))
            missing = set(opts["problem"]) - {p.pk for p in problems}
            if missing:
                raise CommandError(f"No problem has the id {', '.join(map(str, sorted(missing)))}.")
        elif opts["tag"]:
            problems = list(Problem.objects.ready().filter(tags__name__iexact=opts["tag"])
                            | Problem.objects.ready().filter(tags__slug=opts["tag"]))
            if not problems:
                raise CommandError(f"No ready problem has the tag {opts['tag']!r}.")
        else:
            problems = list(Problem.objects.ready())
            if not problems:
                raise CommandError("No problem is ready; mark problems as ready first.")
        try:
            batch = batch_create(problems=problems, template=template, endpoints=endpoints,
                                 samples=opts["samples"], name=opts["name"])
        except ValueError as err:
            raise CommandError(str(err)) from None
        self.stdout.write(f"{batch} queued: {batch.jobs.count()} jobs on "
                          f"{', '.join(e.name for e in endpoints)} (batch id {batch.pk}).")
        if opts["no_wait"]:
            return
        self._follow(batch, max(0.1, opts["poll"]))

    def _follow(self, batch: GenerationBatch, poll: float) -> None:
        tty = sys.stdout.isatty() and self.stdout._out is sys.stdout
        last = ""
        try:
            while True:
                p = batch_progress(batch)
                c = p["counts"]
                width = 30
                filled = int(width * p["done"] / p["total"]) if p["total"] else width
                eta = (f", about {int(p['eta_seconds'])} s left"
                       if p["eta_seconds"] is not None else "")
                paused = f" — {'; '.join(p['paused'])}" if p["paused"] else ""
                line = (f"[{'#' * filled}{'.' * (width - filled)}] {p['done']}/{p['total']} "
                        f"done: {c['succeeded']} ok, {c['failed']} failed, {c['cancelled']} "
                        f"cancelled, {c['running']} running, {c['queued']} queued{eta}{paused}")
                if line != last:
                    if tty:
                        self.stdout.write("\r" + line.ljust(len(last)), ending="")
                    else:
                        self.stdout.write(line)
                    last = line
                if p["finished"]:
                    break
                time.sleep(poll)
        except KeyboardInterrupt:
            self.stdout.write(f"\nStopped following; the batch goes on (id {batch.pk}).")
            return
        if tty:
            self.stdout.write("")
        if p["counts"]["failed"]:
            self.stdout.write(f"{p['counts']['failed']} jobs failed; see the batch page or "
                              "the admin for the reasons.")
