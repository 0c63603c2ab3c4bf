"""Batch and job progress in the admin, and the cancel / retry actions."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from questionbank.models import GenerationJob
from questionbank.services.generation import batch_create
from tests.factories import make_endpoint, make_problem, make_template


def test_batch_pages_show_progress_and_actions_use_the_services(admin_client):
    endpoint = make_endpoint(name="gpu")
    batch = batch_create(problems=[make_problem(title="Quadratic"), make_problem()],
                         template=make_template(), endpoints=[endpoint], samples=2)
    running = batch.jobs.first()
    GenerationJob.objects.filter(pk=running.pk).update(
        status="running", endpoint=endpoint, started_at=timezone.now(),
        partial_text="<think>Let x be")
    failed = batch.jobs.last()
    GenerationJob.objects.filter(pk=failed.pk).update(status="failed", last_error="boom")

    page = admin_client.get(reverse("admin:questionbank_generationbatch_changelist"))
    assert "0/4 done (0 ok, 0 failed)" not in page.content.decode()
    assert "1/4 done (0 ok, 1 failed)" in page.content.decode()
    detail = admin_client.get(
        reverse("admin:questionbank_generationbatch_change", args=[batch.pk])).content.decode()
    assert "1 of 4 done" in detail and "1 running, 2 queued" in detail
    assert "Quadratic #1 on gpu" in detail and "&lt;think&gt;Let x be" in detail

    url = reverse("admin:questionbank_generationbatch_changelist")
    admin_client.post(url, {"action": "retry_failed_jobs", "_selected_action": [batch.pk]})
    assert GenerationJob.objects.get(pk=failed.pk).status == "queued"
    admin_client.post(url, {"action": "cancel_batches", "_selected_action": [batch.pk]})
    statuses = sorted(batch.jobs.values_list("status", flat=True))
    assert statuses == ["cancelled", "cancelled", "cancelled", "running"]
    job_page = admin_client.get(reverse("admin:questionbank_generationjob_changelist"))
    assert job_page.status_code == 200
