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
