"""Every admin list and add page answers for a superuser; secrets are never rendered."""

import pytest
from django.contrib import admin
from django.urls import reverse

from questionbank.models import ModelEndpoint
from tests.factories import make_endpoint, make_problem, make_template

REGISTERED = sorted(
    (m._meta.app_label, m._meta.model_name) for m in admin.site._registry
)


@pytest.mark.parametrize(("app", "model"), REGISTERED)
def test_changelist_answers(admin_client, app, model):
    make_problem()
    make_template()
    make_endpoint()
    response = admin_client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 200


# Append-only and service-written rows have no add page; written out here, not read from
# the admin under test.
NO_ADD_PAGE = {
    ("axes", "accessattempt"), ("axes", "accessfailurelog"), ("axes", "accesslog"),
    ("django_q", "failure"), ("django_q", "ormq"), ("django_q", "success"),
    ("questionbank", "apitoken"), ("questionbank", "calllog"),
    ("questionbank", "generationbatch"),
    ("questionbank", "generationjob"), ("questionbank", "judgerun"),
    ("questionbank", "solution"), ("questionbank", "solutionrevision"),
}


def test_every_model_without_an_add_page_is_registered():
    assert set(REGISTERED) >= NO_ADD_PAGE


@pytest.mark.parametrize(("app", "model"), REGISTERED)
def test_add_page_answers_or_is_refused_on_purpose(admin_client, app, model):
    response = admin_client.get(reverse(f"admin:{app}_{model}_add"))
    assert response.status_code == (403 if (app, model) in NO_ADD_PAGE else 200)


def test_endpoint_secrets_are_never_rendered(admin_client):
    endpoint = make_endpoint(password="s3cret-pass", api_key="sk-live-abcdef")
    url = reverse("admin:questionbank_modelendpoint_change", args=[endpoint.pk])
    page = admin_client.get(url).content.decode()
    assert "s3cret-pass" not in page and "sk-live-abcdef" not in page
    assert "password: set" in page and "API key: set" in page
    changelist = admin_client.get(reverse("admin:questionbank_modelendpoint_changelist"))
    assert "s3cret-pass" not in changelist.content.decode()
    assert "s3cret-pass" not in repr(endpoint)


def _endpoint_form_data(endpoint, **overrides):
    data = {
        "name": endpoint.name, "protocol": endpoint.protocol, "base_url": endpoint.base_url,
        "api_name": "", "model_name": "", "layout_override": "{}", "username": "",
        "password": "", "api_key": "", "connect_timeout": 10, "read_timeout": 900,
        "deadline": 3600, "max_concurrency": 1, "stream": "on", "enabled": "on",
        "penalty_style": "repetition_penalty",
    }
    data.update(overrides)
    return data


def test_blank_secret_keeps_the_stored_one(admin_client):
    endpoint = make_endpoint(password="keep-me")
    url = reverse("admin:questionbank_modelendpoint_change", args=[endpoint.pk])
    response = admin_client.post(url, _endpoint_form_data(endpoint, max_concurrency=2))
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint.refresh_from_db()
    assert endpoint.secret("password") == "keep-me" and endpoint.max_concurrency == 2


def test_secrets_can_be_replaced_and_cleared(admin_client):
    endpoint = make_endpoint(password="old")
    url = reverse("admin:questionbank_modelendpoint_change", args=[endpoint.pk])
    admin_client.post(url, _endpoint_form_data(endpoint, password="new"))
    endpoint.refresh_from_db()
    assert endpoint.secret("password") == "new"
    admin_client.post(url, _endpoint_form_data(endpoint, clear_secrets="on"))
    endpoint.refresh_from_db()
    assert endpoint.password == ""


def test_admin_add_problem_goes_through_the_service(admin_client):
    response = admin_client.post(reverse("admin:questionbank_problem_add"), {
        "title": "Admin-made", "kind": "maths", "status": "draft", "difficulty": 3,
        "statement": "Compute $1+1$.", "reference_answer": "2", "test_cases": "[]",
        "source": "", "language": "en", "external_id": "", "reference_solution": "",
        "judge_cpu_seconds": "2", "judge_memory_mb": "256",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    from questionbank.models import Problem

    problem = Problem.objects.get(title="Admin-made")
    assert problem.statement_html and problem.created_by.username == "admin"


def test_endpoint_defaults_are_sized_for_long_generations(db):
    endpoint = make_endpoint()
    assert endpoint.read_timeout >= 600 and endpoint.max_concurrency == 1
    assert ModelEndpoint.objects.get(pk=endpoint.pk).deadline >= 3600


def test_problem_change_page_shows_the_rendered_statement(admin_client):
    problem = make_problem(statement="A **bold** claim and <script>alert(1)</script>.")
    page = admin_client.get(
        reverse("admin:questionbank_problem_change", args=[problem.pk])
    ).content.decode()
    assert "<strong>bold</strong>" in page
    assert "<script>alert(1)</script>" not in page
