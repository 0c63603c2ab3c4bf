"""Fixtures for the JSON API tests: a user and a token per role, and a small bank."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache, caches
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from questionbank.services.api_tokens import token_create
from questionbank.services.generation import batch_create
from questionbank.services.problems import problems_set_status
from tests.browse_helpers import published_problem, with_solution
from tests.factories import (
    UserFactory,
    make_admin,
    make_call_log,
    make_endpoint,
    make_problem,
    make_student,
    make_teacher,
    make_template,
)

ROLES = ("anonymous", "student", "teacher", "other_teacher", "auditor", "admin")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in a cache; each test starts with none."""
    caches["api-throttle"].clear()
    cache.clear()
    yield
    caches["api-throttle"].clear()


def make_auditor(username: str = "auditor"):
    user = UserFactory(username=username, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="audit_calllog"))
    return user


@pytest.fixture
def users(db) -> dict:
    return {
        "anonymous": None,
        "student": make_student("api-student"),
        "teacher": make_teacher("api-teacher"),
        "other_teacher": make_teacher("api-other-teacher"),
        "auditor": make_auditor("api-auditor"),
        "admin": make_admin("api-admin"),
    }


class ApiClient:
    """Django's test client with a token: ``api.get("/api/v1/...")`` -> response."""

    def __init__(self, token: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path, data=None, **extra):
        return self.client.get(path, data, headers={**self.headers, **extra.pop("headers", {})},
                               **extra)

    def post(self, path, data=None, **extra):
        kwargs = {"content_type": "application/json"} if "content_type" not in extra and not (
            extra.get("multipart")) else {}
        extra.pop("multipart", None)
        return self.client.post(path, data if data is not None else {},
                                headers={**self.headers, **extra.pop("headers", {})},
                                **kwargs, **extra)

    def patch(self, path, data=None, **extra):
        return self.client.patch(path, data or {}, content_type="application/json",
                                 headers={**self.headers, **extra.pop("headers", {})}, **extra)


@pytest.fixture
def tokens(users) -> dict:
    return {role: (token_create(user=user, name=f"{role} tests")[1] if user else None)
            for role, user in users.items()}


@pytest.fixture
def api(tokens):
    """role -> ApiClient authenticated with that role's token."""
    return {role: ApiClient(token) for role, token in tokens.items()}


@pytest.fixture
def bank(users) -> dict:
    """Published and unpublished problems, a template, an endpoint, a batch with calls."""
    teacher = users["teacher"]
    published = published_problem(title="Published sum", tags=["algebra"])
    draft_only = make_problem(title="Draft only", created_by=teacher)
    draft_solution = with_solution(draft_only, "draft", body="Draft text: 7.", final_answer="7")
    published_solution = published.solutions.get(status="published")
    archived = published_problem(title="Archived one")
    problems_set_status(problems=[archived], status="archived")
    template = make_template()
    endpoint = make_endpoint(name="api-standin", is_standin=True)
    batch = batch_create(problems=[draft_only], template=template, endpoints=[endpoint],
                         samples=1, created_by=teacher, name="api batch")
    job = batch.jobs.get()
    call = make_call_log(job=job)
    return {
        "published": published, "published_solution": published_solution,
        "draft_only": draft_only, "draft_solution": draft_solution, "archived": archived,
        "template": template, "endpoint": endpoint, "batch": batch, "job": job, "call": call,
    }


@contextmanager
def wsgi_app():
    """Django's WSGI app in this thread, on the test's database connection (as Django's
    test client does, the connection is not closed around each request; the test client
    itself connects the closing again after each of its requests, so use none inside)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)
