"""Shared fixtures. Servers the tests talk to live in tests/servers/."""

from __future__ import annotations

import pytest

from tests import factories

# The loopback model servers (Gradio stand-ins, OpenAI test server, fault server).
pytest_plugins = ["tests.servers.fixtures"]


@pytest.fixture
def teacher(db):
    return factories.make_teacher("teacher")


@pytest.fixture
def student(db):
    return factories.make_student("student")


@pytest.fixture
def admin_user(db):
    return factories.make_admin("admin")


@pytest.fixture
def teacher_client(client, teacher):
    client.force_login(teacher)
    return client


@pytest.fixture
def student_client(client, student):
    client.force_login(student)
    return client


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


# --- Real Gradio stand-ins for the generation pipeline (one subprocess, started lazily) ---

PIPELINE_STANDIN_AUTH = ("teacher", "pipeline-S3cret-pw")
PIPELINE_STANDINS = {
    # Gradio's default: one call at a time.
    "plain": {},
    # Four at a time, so a limit below that is ours, not the server's.
    "wide": {"concurrency": 4},
    # Streams its answer in chunks over the delay.
    "stream": {"stream": True, "delay": 3.0, "chunks": 12, "concurrency": 4},
    "auth": {"auth": f"{PIPELINE_STANDIN_AUTH[0]}:{PIPELINE_STANDIN_AUTH[1]}"},
}


@pytest.fixture(scope="session")
def pipeline_standins(tmp_path_factory):
    """name -> base URL of a real Gradio stand-in WEBUI (see PIPELINE_STANDINS)."""
    import json
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import requests

    root = Path(__file__).resolve().parents[1]

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    ports = {name: free_port() for name in PIPELINE_STANDINS}
    specs = [dict(spec, port=ports[name]) for name, spec in PIPELINE_STANDINS.items()]
    log = tmp_path_factory.mktemp("pipeline-standins") / "gradio.log"
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(root))
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.servers.gradio_standins", json.dumps(specs)],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    deadline = time.monotonic() + 180
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
                    pytest.fail(f"stand-in {name} not up in time:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield urls
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
