"""The client's tests need no Django. The servers they talk to (real Gradio stand-ins,
the OpenAI test server, the fault server) come from tests/servers/fixtures.py."""

from __future__ import annotations

import pytest

from questionbank.webui import forget_sessions
from tests.servers.fixtures import AUTH as AUTH  # re-exported for the contract tests
from tests.servers.fixtures import STANDINS as STANDINS

FIXTURES_PLUGIN = "tests.servers.fixtures"


def pytest_configure(config):
    # tests/conftest.py loads the fixtures as a plugin; tests/compat/run.sh runs this folder
    # alone (--confcutdir=tests/webui), so load them here then. Loading them only once
    # keeps one Gradio subprocess per run.
    if not config.pluginmanager.has_plugin(FIXTURES_PLUGIN):
        config.pluginmanager.import_plugin(FIXTURES_PLUGIN)


@pytest.fixture(autouse=True)
def _fresh_sessions():
    """Pooled sessions are per process; tests must not share cookies or sockets."""
    forget_sessions()
    yield
    forget_sessions()
