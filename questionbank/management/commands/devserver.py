"""`make run`: migrate, seed the demo, and run the site, the worker and the stand-in WEBUI.

Each child runs in its own session, so Ctrl-C reaches only this process, which then
stops the children in order: the worker's main process gets SIGTERM (never its whole
process group, see shared/docs/django-q2-notes.md) and a grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

STOP_GRACE_SECONDS = 20


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the site, the django-q2 worker and (without QB_WEBUI_URL) the stand-in WEBUI."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("QB_RUN_ADDR", "127.0.0.1:8000"),
                            help="host:port for the site (default 127.0.0.1:8000).")
        parser.add_argument("--standin-port", type=int,
                            default=int(os.environ.get("QB_STANDIN_PORT", "7860")),
                            help="Port of the stand-in WEBUI (default 7860).")
        parser.add_argument("--no-seed", action="store_true", help="Skip seed_demo.")

    def handle(self, *args, addr, standin_port, no_seed, **options):
        self.children: list[tuple[str, subprocess.Popen]] = []
        # Handled explicitly: a shell that starts us in the background ignores SIGINT,
        # and SIGTERM/SIGHUP must stop the children too, not orphan them.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _interrupt)
        try:
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write("Database is up to date.")
            standin_url = ""
            if not settings.QB_WEBUI_URL:
                standin_url = f"http://127.0.0.1:{standin_port}"
                self._start("stand-in WEBUI", [
                    "-m", "questionbank.webui.standin", "--host", "127.0.0.1",
                    "--port", str(standin_port),
                    # Streams its answer over a few seconds, so progress and partial
                    # text can be seen as they would be with the real model.
                    "--stream", "--delay", "4",
                ])
                self._wait_for(f"{standin_url}/config", "the stand-in WEBUI", timeout=90)
            if not no_seed:
                seed_args = ["--standin-url", standin_url] if standin_url else []
                call_command("seed_demo", *seed_args, stdout=self.stdout)
            manage = str(settings.BASE_DIR / "manage.py")
            self._start("worker", [manage, "qcluster"])
            self._start("site", [manage, "runserver", addr, "--noreload"])
            self._wait_for(f"http://{addr}/login/", "the site", timeout=60)
            self.stdout.write(self.style.SUCCESS(
                f"\nThe question bank is running at http://{addr}/ (admin: http://{addr}/admin/)."
            ))
            if standin_url:
                self.stdout.write(self.style.WARNING(
                    f"Model: the stand-in WEBUI at {standin_url} (no model; answers are canned). "
                    "Set QB_WEBUI_URL to use a real VibeThinker WEBUI."
                ))
            self.stdout.write("Press Ctrl-C to stop the site, the worker and the stand-in.\n")
            while True:
                for name, proc in self.children:
                    if proc.poll() is not None:
                        raise CommandError(f"The {name} stopped (exit code {proc.returncode}); "
                                           "see its output above. Stopping the rest.")
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            self._stop_all()

    def _start(self, name: str, args: list[str]) -> None:
        cmd = [sys.executable, *args]
        proc = subprocess.Popen(cmd, start_new_session=True, env=os.environ.copy())
        self.children.append((name, proc))

    def _wait_for(self, url: str, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.children:
                if proc.poll() is not None:
                    raise CommandError(f"The {name} failed to start (exit code {proc.returncode}).")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answered
            except OSError:
                time.sleep(0.3)
        raise CommandError(f"{what} did not answer at {url} within {timeout:.0f} s.")

    def _stop_all(self) -> None:
        for _name, proc in reversed(self.children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, proc in reversed(self.children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"The {name} did not stop in {STOP_GRACE_SECONDS} s; killing it.")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
