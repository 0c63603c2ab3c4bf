"""A real client generated from the schema (openapi-python-client) drives the whole
story: a teacher creates a problem, starts a batch on the Gradio stand-in, waits for it,
publishes a solution (confirming the publish guards); a student reads it."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from questionbank.services.api_tokens import token_create
from tests.api.conftest import wsgi_app
from tests.factories import make_endpoint, make_student, make_teacher, make_template

OPENAPI_PYTHON_CLIENT = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture
def generated_client(client, db, tmp_path, monkeypatch):
    """Generate the client package ``qb_client`` into a temporary directory and import it."""
    schema = client.get("/api/v1/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    (tmp_path / "schema.json").write_text(json.dumps(json.loads(schema.content)))
    (tmp_path / "config.yaml").write_text("package_name_override: qb_client\npost_hooks: []\n")
    result = subprocess.run(
        [str(OPENAPI_PYTHON_CLIENT), "generate", "--path", str(tmp_path / "schema.json"),
         "--meta", "none", "--output-path", str(tmp_path / "qb_client"),
         "--config", str(tmp_path / "config.yaml"), "--fail-on-warning"],
        capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "qb_client" or m.startswith("qb_client.")]:
        del sys.modules[name]
    return importlib.import_module("qb_client")


def _api(name: str):
    return importlib.import_module(f"qb_client.api.{name}")


def _models():
    return importlib.import_module("qb_client.models")


# The runner writes up calls from its own threads (as in production), so the test commits.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_generated_client_creates_generates_publishes_and_a_student_reads(
        generated_client, pipeline_standins, settings, django_capture_on_commit_callbacks):
    settings.QB_TASKS_SYNC = True  # the batch's runner runs in-process, on commit
    settings.QB_RETRY_BASE_SECONDS = settings.QB_RETRY_CAP_SECONDS = 0
    teacher, student = make_teacher("gen-teacher"), make_student("gen-student")
    endpoint = make_endpoint(name="stand-in", base_url=pipeline_standins["plain"],
                             is_standin=True, stream=False)
    template = make_template(name="Step by step")
    m = _models()

    with wsgi_app() as app:
        def connect(user):
            raw = token_create(user=user, name="generated client")[1]
            return generated_client.AuthenticatedClient(
                base_url="http://localhost", token=raw, raise_on_unexpected_status=True,
                httpx_args={"transport": httpx.WSGITransport(app=app)})

        as_teacher, as_student = connect(teacher), connect(student)

        created = _api("problems.problems_create").sync_detailed(
            client=as_teacher, body=m.ProblemInputRequest(
                title="Seven", statement="What is $3+4$?", reference_answer="7",
                status=m.ProblemStatus.READY, tags=["arithmetic"]))
        assert created.status_code == 201
        problem = created.parsed
        assert problem.version == 1 and [t.name for t in problem.tags] == ["arithmetic"]

        endpoints = _api("generation.endpoints_list").sync(client=as_teacher)
        assert [e.name for e in endpoints] == ["stand-in"] and endpoints[0].is_standin

        with django_capture_on_commit_callbacks(execute=True):
            batch = _api("generation.batches_create").sync(
                client=as_teacher, idempotency_key="gen-1",
                body=m.BatchInputRequest(problems=[problem.id], template=template.pk,
                                         endpoints=[endpoint.pk], samples=2))
        assert isinstance(batch, m.Batch), batch

        deadline = time.monotonic() + 120
        while True:  # wait as a client would: poll the batch until it has finished
            batch = _api("generation.batches_retrieve").sync(client=as_teacher, id=batch.id)
            if batch.progress.finished or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert batch.progress.finished and batch.progress.counts["succeeded"] == 2

        solutions = _api("solutions.solutions_list").sync(client=as_teacher, problem=problem.id)
        assert len(solutions.results) == 2
        chosen = solutions.results[0]
        assert chosen.from_standin and chosen.status == m.SolutionStatus.DRAFT

        publish = _api("solutions.solutions_transition_create")
        refused = publish.sync_detailed(client=as_teacher, id=chosen.id,
                                        body=m.TransitionInputRequest(
                                            target=m.SolutionStatus.PUBLISHED))
        assert refused.status_code == 409
        assert refused.parsed.code == "needs_confirmation"
        codes = [c.code for c in refused.parsed.concerns]
        assert "standin" in codes
        published = publish.sync(client=as_teacher, id=chosen.id, body=m.TransitionInputRequest(
            target=m.SolutionStatus.PUBLISHED, confirm=codes))
        assert published.status == m.SolutionStatus.PUBLISHED

        listing = _api("published.published_problems_list").sync(client=as_student)
        assert [row.id for row in listing.results] == [problem.id]
        shown = _api("published.published_problems_retrieve").sync(client=as_student,
                                                                    id=problem.id)
        assert shown.solution.id == chosen.id and shown.solution.body_html
        drafts = _api("solutions.solutions_list").sync_detailed(client=as_student)
        assert drafts.status_code == 403
