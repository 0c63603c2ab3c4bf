"""Servers for the client's tests: real Gradio stand-ins (one subprocess), the OpenAI
test server and the fault server (threads). No Django needed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # so `tests.servers` and `questionbank` import without Django
    sys.path.insert(0, str(ROOT))

from questionbank.webui import forget_sessions  # noqa: E402
from tests.servers.fault_server import start_fault_server  # noqa: E402
from tests.servers.openai_server import start_server  # noqa: E402

STARTUP_DEADLINE = 180.0  # seconds; Gradio's import alone takes a while on a busy machine
AUTH = ("teacher", "s3cret-Pa55word")
STANDINS = {
    "plain": {},
    "stream": {"stream": True, "delay": 0.6, "chunks": 6},
    "auth": {"auth": f"{AUTH[0]}:{AUTH[1]}"},
    "permuted": {"permuted": True},
    "fnname": {"fn_name": "generate_answer"},
    "shown": {"show_error": True},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def standins(tmp_path_factory):
    """name -> base URL of a real Gradio stand-in WEBUI (see STANDINS)."""
    ports = {name: free_port() for name in STANDINS}
    specs = [dict(spec, port=ports[name]) for name, spec in STANDINS.items()]
    log = tmp_path_factory.mktemp("standins") / "gradio.log"
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", GRADIO_HEARTBEAT_INTERVAL="0.3",
               PYTHONPATH=str(ROOT))
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.servers.gradio_standins", json.dumps(specs)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    deadline = time.monotonic() + STARTUP_DEADLINE
    try:
        for name, url in urls.items():
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"stand-in servers exited:\n{log.read_text()[-3000:]}")
                try:
                    if requests.get(f"{url}/config", timeout=2).status_code in (200, 401):
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"stand-in {name} not up in {STARTUP_DEADLINE}s:\n"
                                f"{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield urls
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def openai_server():
    server, url = start_server(api_key="sk-test-SECRET-123")
    yield server, url
    server.stop()


@pytest.fixture
def fault_server():
    """A fresh fake Gradio 6.31 server per test (set ``.mode`` / ``.version``)."""
    server = start_fault_server()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_sessions():
    """Pooled sessions are per process; tests must not share cookies or sockets."""
    forget_sessions()
    yield
    forget_sessions()
