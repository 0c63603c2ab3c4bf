"""A teacher sees the calls of their own jobs, and nobody else's."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from questionbank.models import CallLog
from tests import factories


@pytest.fixture
def own_call(teacher):
    return factories.make_call_log(owner=teacher, error_message="",
                                   request_body={"data": ["Secret <b>prompt</b> text"]},
                                   response_body='{"data": ["<script>alert(1)</script>"]}')


def _url(row):
    return reverse("teacher:job-calls", args=[row.job_id])


def test_teacher_sees_calls_of_own_job(teacher_client, own_call):
    retry = factories.make_call_log(job=own_call.job, attempt=2, outcome=CallLog.Outcome.ERROR,
                                    error_class="TimedOut",
                                    error_message="No answer within 600 seconds.")
    response = teacher_client.get(_url(own_call))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Attempt 1" in html and "Attempt 2" in html
    assert "No answer within 600 seconds." in html and retry.error_class in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "sk-secret" not in html


def test_other_teacher_gets_404(client, own_call):
    client.force_login(factories.make_teacher("someone-else"))
    assert client.get(_url(own_call)).status_code == 404
    assert client.get(reverse("teacher:job-calls", args=[987654])).status_code == 404


def test_admin_sees_any_job(admin_client, own_call):
    assert admin_client.get(_url(own_call)).status_code == 200


def test_auditor_who_is_a_teacher_sees_any_job(client, own_call):
    auditor = factories.make_teacher("auditing-teacher")
    auditor.user_permissions.add(Permission.objects.get(codename="audit_calllog"))
    client.force_login(auditor)
    assert client.get(_url(own_call)).status_code == 200


def test_student_is_refused_and_anonymous_must_log_in(client, student, own_call):
    anonymous = client.get(_url(own_call))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    client.force_login(student)
    assert client.get(_url(own_call)).status_code == 403


def test_job_without_calls_and_edge_bodies(teacher_client, teacher):
    call = factories.make_call_log(owner=teacher, response_body="", request_body="")
    job = call.job
    factories.make_call_log(job=job, attempt=2,
                            response_body="x" * (2 * 1024 * 1024) + "\ufffd")
    html = teacher_client.get(_url(call)).content.decode()
    assert "Nothing came back." in html and "Only the beginning is shown." in html
    from questionbank.services.generation import batch_create

    batch = batch_create(problems=[factories.make_problem()], template=factories.make_template(),
                         endpoints=[factories.make_endpoint()], samples=1, created_by=teacher)
    empty = teacher_client.get(reverse("teacher:job-calls", args=[batch.jobs.get().pk]))
    assert empty.status_code == 200
    assert "No calls have been made for this job yet" in empty.content.decode()
