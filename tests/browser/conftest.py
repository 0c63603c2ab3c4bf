"""Real processes for browser tests: the site (runserver), a django-q2 worker (qcluster) and
the Gradio stand-in WEBUI, all on the test database, plus headless Chromium."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    """The test database (already created by pytest-django) as a DATABASE_URL."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Process:
    """A child process in its own session, stopped by SIGTERM to its main process only."""

    def __init__(self, name: str, args: list[str], log: Path, env: dict):
        self.name, self.log = name, log
        self._out = open(log, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env,
                                     stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_for_url(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"The {self.name} exited early:\n{self.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answered
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        pytest.fail(f"The {self.name} did not answer at {url} in {timeout} s:\n{self.tail()}")

    def stop(self, grace: float = 20) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(grace)
        # The worker's children may outlive its main process by a moment, holding database
        # connections; the group is this process's own session, so only they are affected.
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(10)
        self._out.close()


@pytest.fixture
def app_stack(transactional_db, tmp_path):
    """Start the stand-in, the worker and the site; yield their URLs; stop them in order."""
    env = dict(os.environ, DATABASE_URL=_database_url(), QB_DEBUG="1", QB_HTTPS="0",
               QB_TASKS_SYNC="0", GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    env.pop("QB_TEST_SQLITE", None)
    standin_port, site_port = free_port(), free_port()
    started: list[Process] = []
    try:
        standin = Process("stand-in WEBUI", [
            "-m", "questionbank.webui.standin", "--host", "127.0.0.1", "--port",
            str(standin_port), "--stream", "--delay", "3"], tmp_path / "standin.log", env)
        started.append(standin)
        worker = Process("worker", ["manage.py", "qcluster"], tmp_path / "worker.log", env)
        started.append(worker)
        site = Process("site", ["manage.py", "runserver", f"127.0.0.1:{site_port}",
                                "--noreload"], tmp_path / "site.log", env)
        started.append(site)
        standin.wait_for_url(f"http://127.0.0.1:{standin_port}/config", timeout=120)
        site.wait_for_url(f"http://127.0.0.1:{site_port}/login/", timeout=60)
        yield {"site": f"http://127.0.0.1:{site_port}",
               "standin": f"http://127.0.0.1:{standin_port}",
               "logs": {p.name: p for p in started}}
    finally:
        for process in reversed(started):
            process.stop()


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are still plain synchronous code, between browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # Under Playwright's loop Django keeps a separate connection for this context;
            # close it here, or PostgreSQL cannot drop the test database afterwards.
            from django.db import connections

            connections.close_all()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def _fast_passwords():
    """Overrides the suite's MD5 hashing: the site runs in its own process with the
    project's settings (PBKDF2 only), so the users these tests log in with need hashes it
    can check."""
