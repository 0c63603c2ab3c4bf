"""`make run`'s supervisor: it serves the site with the worker and the stand-in, and
Ctrl-C (SIGINT) stops all of them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pattern: str) -> list[str]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return [pid for pid in out.split() if pid != str(os.getpid())]


def test_devserver_serves_and_sigint_stops_every_child(tmp_path):
    site, standin = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QB_", "DATABASE_URL"))}
    env.update(QB_DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}",
               PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "devserver", "--addr", f"127.0.0.1:{site}",
         "--standin-port", str(standin), "--no-seed"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            output.append(line)
            if "is running at" in line:
                break
        assert any("is running at" in line for line in output), "".join(output)
        with urllib.request.urlopen(f"http://127.0.0.1:{site}/login/", timeout=10) as reply:
            assert reply.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{standin}/config", timeout=10) as reply:
            assert reply.status == 200
        assert _alive(f"runserver 127.0.0.1:{site}")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert proc.returncode == 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
            _alive(f"runserver 127.0.0.1:{site}") or _alive(f"--port {standin}")
        ):
            time.sleep(0.5)
        assert not _alive(f"runserver 127.0.0.1:{site}")
        assert not _alive(f"--port {standin}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pattern in (f"runserver 127.0.0.1:{site}", f"--port {standin}"):
            for pid in _alive(pattern):
                os.kill(int(pid), signal.SIGKILL)
