"""Pytest fixtures for the loopback model servers, shared by every test folder.

Loaded as a plugin (``pytest_plugins`` in tests/conftest.py, or by tests/webui/conftest.py
when that folder runs on its own without Django, as tests/compat/run.sh does), so each
session-scoped server starts at most once per run. No Django needed here.
"""

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

from tests.servers.fault_server import start_fault_server
from tests.servers.openai_server import start_server

ROOT = Path(__file__).resolve().parents[2]
STARTUP_DEADLINE = 180.0  # seconds; Gradio's import alone takes a while on a busy machine
AUTH = ("teacher", "s3cret-Pa55word")
OPENAI_API_KEY = "sk-test-SECRET-123"
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


def run_standins(specs_by_name: dict, log_dir: Path, **env: str):
    """Start one subprocess serving a Gradio stand-in per spec; yield name -> base URL.

    One process and one Gradio import for all of them; each answers ``/config`` (or 401
    behind a login) before this yields. The process is stopped when the generator closes.
    """
    ports = {name: free_port() for name in specs_by_name}
    specs = [dict(spec, port=ports[name]) for name, spec in specs_by_name.items()]
    log = log_dir / "gradio.log"
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(ROOT), **env)
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
def standins(tmp_path_factory):
    """name -> base URL of a real Gradio stand-in WEBUI (see STANDINS)."""
    yield from run_standins(STANDINS, tmp_path_factory.mktemp("standins"),
                            GRADIO_HEARTBEAT_INTERVAL="0.3")


@pytest.fixture(scope="session")
def openai_server():
    """``(server, base_url)`` of the OpenAI-compatible test server (key OPENAI_API_KEY)."""
    server, url = start_server(api_key=OPENAI_API_KEY)
    yield server, url
    server.stop()


@pytest.fixture
def fault_server():
    """A fresh fake Gradio 6.31 server per test (set ``.mode`` / ``.version``)."""
    server = start_fault_server()
    yield server
    server.stop()
