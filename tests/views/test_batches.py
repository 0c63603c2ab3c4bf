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


# --- Honest batch pages: why jobs wait, live job rows -------------------------------------------


def _poll(client, batch):
    response = client.get(reverse("teacher:batch-progress", args=[batch.pk]))
    assert response["Cache-Control"] == "no-store"
    return response.json()


def test_a_paused_server_is_explained_with_failures_last_error_and_next_try(
        teacher_client, teacher):
    job = make_job(user=teacher)
    batch, endpoint = job.batch, job.batch.endpoints.get()
    retry_at = timezone.now() + timedelta(seconds=95)
    type(endpoint).objects.filter(pk=endpoint.pk).update(
        paused_until=retry_at, consecutive_failures=3,
        last_error="The model server at http://gpu:7860 refused the connection: is the "
                   "WEBUI running?")
    GenerationJob.objects.filter(pk=job.pk).update(
        attempts=3, next_attempt_at=timezone.now() + timedelta(seconds=30),
        error_class="ConnectFailed",
        last_error="Attempt 3 of 4 failed: The model server at http://gpu:7860 refused the "
                   "connection: is the WEBUI running? It will be tried again at 14:05:10.")
    at = timezone.localtime(retry_at).strftime("%H:%M:%S")
    page = teacher_client.get(batch.get_absolute_url()).content.decode()
    data = _poll(teacher_client, batch)
    for body in (page, data["html"]["status"]):
        assert "Nothing of this batch is running now." in body
        assert "paused after 3 failures in a row" in body
        assert "refused the connection: is the WEBUI running?" in body
        assert "Next try at <strong><time datetime=" in body and f">{at}</time>" in body
        assert f"waiting</strong>: the server is paused, next try at {at}" in body
        assert "left" not in body
        # The retry due in 30 s falls inside the pause: the page does not promise it.
        assert "1 job has failed an attempt and waits to be tried again once the server " \
            "takes work again" in body
    assert data["waiting"] is True and data["eta"] == ""
    (server,) = data["servers"]
    assert server["paused"] and server["failures"] == 3 and server["retry_at"]
    # The job's row is in the JSON, as data and as the page's own row.
    (row,) = data["jobs"]
    assert (row["id"], row["status"], row["attempts"], row["error_class"]) == (
        job.pk, "queued", 3, "ConnectFailed")
    for body in (page, data["html"]["jobs"]):
        assert "Waiting to retry" in body and f"waits for the paused server, until {at}" in body
        assert "Attempt 3 of 4 failed" in body


def test_a_retry_time_is_shown_when_a_server_can_take_the_job(teacher_client, teacher):
    job = make_job(user=teacher)
    at = timezone.now() + timedelta(seconds=40)
    GenerationJob.objects.filter(pk=job.pk).update(
        attempts=1, next_attempt_at=at, last_error="Attempt 1 of 4 failed: timed out.")
    data = _poll(teacher_client, job.batch)
    hms = timezone.localtime(at).strftime("%H:%M:%S")
    assert f"waiting</strong>: next try at {hms}" in data["html"]["status"]
    assert f"1 job waits to be tried again after a failed attempt, the next at <strong>{hms}" \
        in data["html"]["status"]
    assert f"next try at {hms}" in data["html"]["jobs"]


def test_no_enabled_server_is_explained(teacher_client, teacher):
    job = make_job(user=teacher)
    endpoint_update(endpoint=job.batch.endpoints.get(), enabled=False)
    data = _poll(teacher_client, job.batch)
    body = data["html"]["status"]
    assert "No model server of this batch is enabled" in body and "switched off" in body
    assert "waiting</strong>: no server is enabled" in body
    assert data["waiting"] and data["servers"][0]["enabled"] is False


def test_all_servers_busy_is_explained_with_other_batches(teacher_client, teacher):
    endpoint = factories.make_endpoint(name="one-at-a-time", max_concurrency=1)
    other = make_job(user=teacher, endpoint=endpoint)
    GenerationJob.objects.filter(pk=other.pk).update(
        status="running", endpoint=endpoint, started_at=timezone.now(),
        lease_expires_at=timezone.now() + timedelta(seconds=60))
    job = make_job(user=teacher, endpoint=endpoint)
    data = _poll(teacher_client, job.batch)
    body = data["html"]["status"]
    assert "All servers are busy" in body
    assert "“one-at-a-time” runs 1 of 1 call at a time (1 for other batches)" in body
    assert "waiting</strong>: all servers are busy" in body
    assert data["servers"][0]["busy"] == 1 and data["servers"][0]["slots"] == 1


def test_ready_jobs_nobody_takes_are_flagged_only_after_a_while(teacher_client, teacher):
    job = make_job(user=teacher)
    assert "no worker has taken" not in _poll(teacher_client, job.batch)["html"]["status"]
    GenerationJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(minutes=2))
    body = _poll(teacher_client, job.batch)["html"]["status"]
    assert "1 job could start and a server is free, but no worker has taken it yet" in body


def test_job_rows_in_the_poll_follow_the_jobs(teacher_client, teacher):
    job = make_job(user=teacher)
    data = _poll(teacher_client, job.batch)
    assert [(r["status"], r["attempts"]) for r in data["jobs"]] == [("queued", 0)]
    assert ">Waiting</span>" in data["html"]["jobs"]
    GenerationJob.objects.filter(pk=job.pk).update(
        status="running", attempts=1, started_at=timezone.now(), endpoint=job.batch.endpoints
        .get(), lease_expires_at=timezone.now() + timedelta(seconds=60))
    data = _poll(teacher_client, job.batch)
    assert [(r["status"], r["attempts"]) for r in data["jobs"]] == [("running", 1)]
    assert ">Running</span>" in data["html"]["jobs"] and data["waiting"] is False
    assert "data-waiting" not in data["html"]["status"]


def test_a_running_batch_counts_down_and_a_waiting_one_does_not(teacher_client, teacher):
    endpoint = factories.make_endpoint(max_concurrency=2)
    batch = generation_batch(teacher, endpoint, n=3)
    first, second, third = batch.jobs.order_by("id")
    now = timezone.now()
    GenerationJob.objects.filter(pk=first.pk).update(
        status="succeeded", started_at=now - timedelta(seconds=30), finished_at=now)
    GenerationJob.objects.filter(pk=second.pk).update(
        status="running", started_at=now, endpoint=endpoint,
        lease_expires_at=now + timedelta(seconds=60))
    data = _poll(teacher_client, batch)
    assert data["eta"] and not data["waiting"]
    assert "left" in data["html"]["status"]
    GenerationJob.objects.filter(pk=second.pk).update(status="failed", finished_at=now)
    type(endpoint).objects.filter(pk=endpoint.pk).update(
        paused_until=now + timedelta(minutes=2), consecutive_failures=3, last_error="down")
    data = _poll(teacher_client, batch)
    assert data["eta"] == "" and data["waiting"]
    assert "left" not in data["html"]["status"] and "Retry all failed" in data["html"]["jobs"]
    assert third.pk in [r["id"] for r in data["jobs"]]


def generation_batch(user, endpoint, *, n):
    from questionbank.services.generation import batch_create

    return batch_create(problems=[factories.make_problem() for _ in range(n)],
                        template=factories.make_template(), endpoints=[endpoint],
                        samples=1, created_by=user)


# --- Mixed maths + programming selections ---------------------------------------------------


def test_a_mixed_selection_offers_one_template_per_kind_preset_to_its_default(teacher_client):
    factories.make_endpoint()
    anything = factories.make_template(name="Any problem", kind="any")
    algebra = factories.make_template(name="Algebra steps", kind="maths")
    code = factories.make_template(name="Code review", kind="programming")
    maths = [factories.make_problem(kind="maths") for _ in range(2)]
    program = factories.make_problem(kind="programming", title="FizzBuzz")
    page = teacher_client.get(reverse("teacher:generate"),
                              {"problems": ",".join(str(p.pk) for p in [*maths, program])})
    form = page.context["form"]
    assert "template" not in form.fields
    assert form["template_maths"].value() == algebra.pk
    assert form["template_programming"].value() == code.pk
    assert set(form.fields["template_maths"].queryset) == {anything, algebra}
    assert set(form.fields["template_programming"].queryset) == {anything, code}
    body = page.content.decode()
    assert "Template for the 2 maths problems" in body
    assert "Template for the 1 programming problem" in body
    assert "mixes 2 maths and 1 programming problems" in body
    assert "only templates for any kind" not in body  # the old, contradicted message
    assert 'disabled' not in body.split("Start generation")[0].rsplit("<button", 1)[1]


def test_a_mixed_selection_starts_in_one_go_with_the_right_template_per_kind(
        teacher_client, teacher):
    endpoint = factories.make_endpoint()
    algebra = factories.make_template(name="Algebra steps", kind="maths", samples=2)
    code = factories.make_template(name="Code review", kind="programming", samples=1)
    maths = [factories.make_problem(kind="maths") for _ in range(2)]
    program = factories.make_problem(kind="programming")
    response = teacher_client.post(reverse("teacher:generate"), {
        "problems": [p.pk for p in [*maths, program]], "template_maths": algebra.pk,
        "template_programming": code.pk, "endpoints": [endpoint.pk]}, follow=True)
    batch = GenerationBatch.objects.get()
    assert response.redirect_chain[-1][0] == batch.get_absolute_url()
    assert "Generation started: 5 jobs queued." in response.content.decode()
    got = sorted(batch.jobs.values_list("problem__kind", "template__name", "sample_index"))
    assert got == [("maths", "Algebra steps", 0), ("maths", "Algebra steps", 0),
                   ("maths", "Algebra steps", 1), ("maths", "Algebra steps", 1),
                   ("programming", "Code review", 0)]
    body = response.content.decode()
    # Both templates named, each with its own answers per problem.
    assert "Algebra steps (v1)</a> (maths, 2 answers per problem)" in body
    assert "Code review (v1)</a> (programming, 1 answer per problem)" in body


def test_a_mixed_selection_refuses_a_template_of_the_wrong_kind_in_words(teacher_client):
    endpoint = factories.make_endpoint()
    algebra = factories.make_template(name="Algebra steps", kind="maths")
    factories.make_template(name="Code review", kind="programming")
    maths, program = factories.make_problem(kind="maths"), factories.make_problem(
        kind="programming")
    body = teacher_client.post(reverse("teacher:generate"), {
        "problems": [maths.pk, program.pk], "template_maths": algebra.pk,
        "template_programming": algebra.pk, "endpoints": [endpoint.pk]}).content.decode()
    assert "That template has been edited meanwhile" in body  # not offered for that kind
    body = teacher_client.post(reverse("teacher:generate"), {
        "problems": [maths.pk, program.pk], "template_maths": algebra.pk,
        "endpoints": [endpoint.pk]}).content.decode()
    assert "Choose a template for the programming problems." in body
    assert not GenerationBatch.objects.exists()


def test_a_mixed_selection_from_the_problem_list_reaches_a_working_form(teacher_client):
    factories.make_endpoint()
    factories.make_template(name="Any problem", kind="any")
    maths, program = factories.make_problem(kind="maths"), factories.make_problem(
        kind="programming")
    response = teacher_client.post(reverse("teacher:problem-bulk"), {
        "action": "generate", "problems": [maths.pk, program.pk]}, follow=True)
    form = response.context["form"]
    # With only a template for any problem, both kinds are preset to it.
    assert form["template_maths"].value() == form["template_programming"].value()
    assert not response.context["no_templates"]


def test_dashboard_recent_batches_are_the_newest_five_newest_first(teacher_client, teacher):
    batches = [make_job(user=teacher).batch for _ in range(7)]
    for age, batch in enumerate(reversed(batches)):  # the last made is the newest
        GenerationBatch.objects.filter(pk=batch.pk).update(
            created_at=timezone.now() - timedelta(minutes=age))
    page = teacher_client.get(reverse("teacher:dashboard"))
    assert [b.pk for b in page.context["batches"]] == [b.pk for b in batches[::-1][:5]]
    body = page.content.decode()
    assert body.index(f'href="{batches[-1].get_absolute_url()}"') < body.index(
        f'href="{batches[-2].get_absolute_url()}"')
    assert f'href="{batches[0].get_absolute_url()}"' not in body


# --- Select all N matching (across pages) ---------------------------------------------------


def test_select_all_matching_applies_to_every_page_of_the_filtered_list(teacher_client):
    maths = [factories.make_problem(kind="maths", status="draft") for _ in range(27)]
    other = factories.make_problem(kind="programming", status="draft")
    page = teacher_client.get(reverse("teacher:problem-list"), {"kind": "maths"})
    body = page.content.decode()
    assert page.context["page"].paginator.num_pages == 2
    assert "Select all 27 matching problems, on every page" in body
    assert 'name="filter_kind" value="maths"' in body
    response = teacher_client.post(reverse("teacher:problem-bulk"), {
        "action": "status:ready", "all_matching": "1", "filter_kind": "maths",
        "filter_q": "", "next": "/teach/problems/?kind=maths"}, follow=True)
    assert "27 of 27 problems marked ready." in response.content.decode()
    assert Problem.objects.filter(pk__in=[p.pk for p in maths], status="ready").count() == 27
    assert Problem.objects.get(pk=other.pk).status == "draft"


def test_select_all_matching_then_generate_takes_every_matching_problem(teacher_client):
    factories.make_endpoint()
    factories.make_template(name="Any problem", kind="any")
    ready = [factories.make_problem(kind=k, status="ready") for k in ["maths"] * 20 +
             ["programming"] * 10]
    factories.make_problem(status="draft")
    response = teacher_client.post(reverse("teacher:problem-bulk"), {
        "action": "generate", "all_matching": "1", "filter_status": "ready"})
    assert response["Location"] == f"{reverse('teacher:generate')}?matching=1&status=ready"
    page = teacher_client.get(response["Location"])
    assert sorted(p.pk for p in page.context["problems"]) == sorted(p.pk for p in ready)
    form = page.context["form"]
    assert sorted(form["problems"].value()) == sorted(p.pk for p in ready)
    body = page.content.decode()
    assert "For 30 problems" in body and "mixes 20 maths and 10 programming" in body
    # Starting it works in one go: the form posts the ids it shows.
    endpoint = form.fields["endpoints"].queryset.get()
    any_template = form.fields["template_maths"].queryset.get()
    response = teacher_client.post(reverse("teacher:generate"), {
        "problems": [p.pk for p in ready], "template_maths": any_template.pk,
        "template_programming": any_template.pk, "endpoints": [endpoint.pk]})
    assert GenerationBatch.objects.get().jobs.count() == 30


def test_bulk_without_a_tick_or_all_matching_says_so(teacher_client):
    response = teacher_client.post(reverse("teacher:problem-bulk"), {"action": "status:ready"},
                                   follow=True)
    assert "Tick at least one problem first." in response.content.decode()


def test_the_poll_costs_the_same_queries_for_a_small_and_a_large_batch(teacher_client, teacher):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    endpoint = factories.make_endpoint()
    counts = []
    for n in (3, 60):
        batch = generation_batch(teacher, endpoint, n=n)
        GenerationJob.objects.filter(batch=batch).update(
            attempts=1, last_error="Attempt 1 of 4 failed: timed out.",
            next_attempt_at=timezone.now() + timedelta(seconds=30))
        teacher_client.get(reverse("teacher:batch-progress", args=[batch.pk]))  # warm up
        with CaptureQueriesContext(connection) as queries:
            data = _poll(teacher_client, batch)
        assert len(data["jobs"]) == min(n, 50)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
