"""Generate form, batch page, progress JSON, cancel and retry, and the problem bulk actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from questionbank.models import GenerationBatch, GenerationJob, Problem
from questionbank.services.endpoints import endpoint_update
from tests import factories
from tests.review_helpers import make_job

pytestmark = pytest.mark.django_db


def test_generate_form_offers_enabled_endpoints_and_shows_paused_ones(teacher_client):
    ok = factories.make_endpoint(name="gpu-one")
    paused = factories.make_endpoint(name="gpu-two")
    ModelEndpoint = type(paused)
    ModelEndpoint.objects.filter(pk=paused.pk).update(
        paused_until=timezone.now() + timedelta(minutes=5), consecutive_failures=3)
    off = factories.make_endpoint(name="gpu-off")
    endpoint_update(endpoint=off, enabled=False)
    factories.make_template(name="Maths only", kind="maths")
    factories.make_template(name="Code only", kind="programming")
    problem = factories.make_problem()
    page = teacher_client.get(reverse("teacher:generate"), {"problems": problem.pk})
    body = page.content.decode()
    assert "gpu-one" in body and "gpu-two — paused: 3 failures, retrying at" in body
    assert "gpu-off" not in body
    assert "Maths only" in body and "Code only" not in body
    assert ok.pk in [e.pk for e in page.context["form"].fields["endpoints"].queryset]


def test_generate_creates_a_batch(teacher_client, teacher):
    endpoint = factories.make_endpoint()
    template = factories.make_template(samples=2)
    p1, p2 = factories.make_problem(), factories.make_problem()
    response = teacher_client.post(reverse("teacher:generate"), {
        "problems": [p1.pk, p2.pk], "template": template.pk, "endpoints": [endpoint.pk],
        "samples": "", "name": "Week 3"})
    batch = GenerationBatch.objects.get()
    assert response["Location"] == batch.get_absolute_url()
    assert (batch.name, batch.samples, batch.created_by) == ("Week 3", 2, teacher)
    assert batch.jobs.count() == 4


def test_generate_errors_are_sentences(teacher_client):
    endpoint = factories.make_endpoint()
    template = factories.make_template()
    archived = factories.make_problem(status=Problem.Status.ARCHIVED)
    url = reverse("teacher:generate")
    body = teacher_client.post(url, {"problems": [archived.pk], "template": template.pk,
                                     "endpoints": [endpoint.pk]}).content.decode()
    assert "archived" in body and "unarchive them or leave them out" in body
    body = teacher_client.post(url, {"problems": [archived.pk], "template": template.pk}
                               ).content.decode()
    assert "Tick at least one model server." in body
    body = teacher_client.post(url, {"problems": [archived.pk], "template": template.pk,
                                     "endpoints": [endpoint.pk], "samples": 40}).content.decode()
    assert "At most 16 answers per problem" in body
    assert not GenerationBatch.objects.exists()
    body = teacher_client.get(url).content.decode()
    assert "No problem is selected" in body


def test_generate_without_endpoints_or_templates_says_what_to_do(teacher_client):
    problem = factories.make_problem()
    body = teacher_client.get(reverse("teacher:generate"), {"problems": problem.pk}
                              ).content.decode()
    assert "No model server is enabled" in body and "Create a template" in body


def _job_in(batch, status, **fields):
    job = batch.jobs.first()
    GenerationJob.objects.filter(pk=job.pk).update(status=status, **fields)
    return job


def test_batch_page_and_progress_json(teacher_client, teacher):
    job = make_job(user=teacher)
    batch = job.batch
    url = reverse("teacher:batch-detail", args=[batch.pk])
    page = teacher_client.get(url)
    assert page.context["progress"]["counts"]["queued"] == 1
    assert "Cancel the rest" in page.content.decode()
    now = timezone.now()
    GenerationJob.objects.filter(pk=job.pk).update(
        status="running", started_at=now - timedelta(seconds=75), partial_text="Let me think")
    data = teacher_client.get(reverse("teacher:batch-progress", args=[batch.pk])).json()
    assert data["counts"]["running"] == 1 and data["total"] == 1 and not data["done"]
    assert data["running"][0]["partial_text"] == "Let me think"
    assert data["running"][0]["elapsed"].startswith("1 min")
    GenerationJob.objects.filter(pk=job.pk).update(
        status="failed", finished_at=now, last_error="The model server did not answer within "
        "15 minutes. Try again later.")
    page = teacher_client.get(url)
    body = page.content.decode()
    assert "did not answer within 15 minutes" in body and "Retry 1 failed" in body
    assert "Cancel the rest" not in body
    data = teacher_client.get(reverse("teacher:batch-progress", args=[batch.pk])).json()
    assert data["done"] and data["percent"] == 100


def test_retry_and_cancel(teacher_client, teacher):
    job = make_job(user=teacher)
    batch = job.batch
    GenerationJob.objects.filter(pk=job.pk).update(status="failed", last_error="boom")
    response = teacher_client.post(reverse("teacher:batch-retry", args=[batch.pk]), follow=True)
    assert "1 failed job queued again." in response.content.decode()
    assert GenerationJob.objects.get(pk=job.pk).status == "queued"
    response = teacher_client.post(reverse("teacher:batch-cancel", args=[batch.pk]), follow=True)
    assert "Cancelled 1 job" in response.content.decode()
    assert GenerationJob.objects.get(pk=job.pk).status == "cancelled"
    response = teacher_client.post(reverse("teacher:batch-cancel", args=[batch.pk]), follow=True)
    assert "Nothing to cancel" in response.content.decode()
    response = teacher_client.post(reverse("teacher:batch-retry", args=[batch.pk]), follow=True)
    assert "no failed jobs to retry" in response.content.decode()


def test_batch_list_and_dashboard(teacher_client, teacher):
    job = make_job(user=teacher)
    endpoint = job.batch.endpoints.get()
    type(endpoint).objects.filter(pk=endpoint.pk).update(
        paused_until=timezone.now() + timedelta(minutes=5), consecutive_failures=2,
        last_error="Connection refused")
    GenerationJob.objects.filter(pk=job.pk).update(status="running",
                                                   started_at=timezone.now())
    body = teacher_client.get(reverse("teacher:batch-list")).content.decode()
    assert str(job.batch) in body and "1 running" in body
    body = teacher_client.get(reverse("teacher:dashboard")).content.decode()
    assert "is paused: 2 failures, retrying at" in body
    assert job.problem.title in body


# --- Problem list bulk actions ----------------------------------------------------------------


def test_bulk_status_tag_and_generate(teacher_client):
    p1 = factories.make_problem(status="draft")
    p2 = factories.make_problem(status="ready")
    url = reverse("teacher:problem-bulk")
    response = teacher_client.post(url, {"action": "status:ready", "problems": [p1.pk, p2.pk]},
                                   follow=True)
    assert "1 of 2 problems marked ready (the others already were)." in (
        response.content.decode())
    assert Problem.objects.get(pk=p1.pk).status == "ready"
    teacher_client.post(url, {"action": "tag", "problems": [p1.pk, p2.pk],
                              "tags": "Algebra, AIME"})
    assert sorted(p1.tags.values_list("name", flat=True)) == ["AIME", "Algebra"]
    response = teacher_client.post(url, {"action": "tag", "problems": [p1.pk]}, follow=True)
    assert "Type the tags to add" in response.content.decode()
    response = teacher_client.post(url, {"action": "generate", "problems": [p1.pk, p2.pk]})
    assert response["Location"] == f"{reverse('teacher:generate')}?problems={p1.pk},{p2.pk}"
    response = teacher_client.post(url, {"action": "status:ready"}, follow=True)
    assert "Tick at least one problem first." in response.content.decode()


def test_problem_detail_has_generate_and_preview_wiring(teacher_client):
    problem = factories.make_problem()
    body = teacher_client.get(problem.get_absolute_url()).content.decode()
    assert f"{reverse('teacher:generate')}?problems={problem.pk}" in body
    body = teacher_client.get(reverse("teacher:problem-edit", args=[problem.pk])
                              ).content.decode()
    assert 'data-preview-source="#statement-preview"' in body
    assert 'id="statement-preview"' in body and "js/preview.js" in body


def test_batch_page_links_each_attempted_job_to_its_calls_for_its_owner(client, teacher):
    from tests.factories import make_teacher

    job = make_job(user=teacher)
    GenerationJob.objects.filter(pk=job.pk).update(attempts=2, status="failed", last_error="x")
    calls_url = reverse("teacher:job-calls", args=[job.pk])
    page_url = reverse("teacher:batch-detail", args=[job.batch_id])
    client.force_login(teacher)
    assert f'href="{calls_url}"' in client.get(page_url).content.decode()
    client.force_login(make_teacher("colleague"))
    assert f'href="{calls_url}"' not in client.get(page_url).content.decode()
