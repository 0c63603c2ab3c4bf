"""manage.py generate, end to end against the Gradio stand-in (tasks in-process)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from questionbank.models import GenerationBatch, GenerationJob, Solution
from tests.factories import make_endpoint, make_problem, make_template


@pytest.fixture
def sync(settings):
    settings.QB_TASKS_SYNC = True
    return settings


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_generate_by_tag_follows_the_batch_to_the_end(sync, pipeline_standins):
    endpoint = make_endpoint(name="gpu", base_url=pipeline_standins["plain"], stream=False)
    make_endpoint(name="other", base_url=pipeline_standins["wide"])
    tagged = [make_problem(tags=["Algebra"]) for _ in range(2)]
    make_problem(tags=["Geometry"])
    make_template(name="Step by step")
    out = StringIO()
    call_command("generate", "--template", "Step by step", "--endpoint", "gpu", "--tag",
                 "algebra", "--samples", "2", "--poll", "0.1", stdout=out)
    batch = GenerationBatch.objects.get()
    assert list(batch.endpoints.all()) == [endpoint]
    assert batch.jobs.count() == 4
    assert set(batch.jobs.values_list("status", flat=True)) == {"succeeded"}
    assert set(batch.jobs.values_list("problem", flat=True)) == {p.pk for p in tagged}
    text = out.getvalue()
    assert "4 jobs on gpu" in text and "4/4 done: 4 ok, 0 failed" in text
    assert Solution.objects.count() == 4


def test_generate_no_wait_only_queues(sync, db, django_capture_on_commit_callbacks):
    make_endpoint(name="gpu", base_url="http://127.0.0.1:9")
    problems = [make_problem(), make_problem(), make_problem(status="draft")]
    make_template(name="T")
    out = StringIO()
    call_command("generate", "--template", "T", "--all-ready", "--no-wait",
                 stdout=out)  # on_commit never fires in this test: nothing runs
    assert GenerationJob.objects.filter(status="queued").count() == 2
    call_command("generate", "--template", "T", "--problem", str(problems[2].pk),
                 "--no-wait", stdout=out)
    assert GenerationJob.objects.count() == 3
    assert "queued: 1 jobs on gpu" in out.getvalue()


@pytest.mark.parametrize(("argv", "message"), [
    (["--template", "nope", "--all-ready"], "No template is called 'nope'"),
    (["--template", "T", "--endpoint", "ghost", "--all-ready"], "No model server is called"),
    (["--template", "T", "--problem", "999999"], "No problem has the id 999999"),
    (["--template", "T", "--tag", "nothing"], "No ready problem has the tag"),
    (["--template", "P", "--all-ready"], "is for programming problems"),
])
def test_generate_explains_what_is_wrong(sync, db, argv, message):
    make_endpoint(name="gpu")
    make_problem()
    make_template(name="T")
    make_template(name="P", kind="programming")
    with pytest.raises(CommandError, match=message):
        call_command("generate", *argv, "--no-wait", stdout=StringIO())
    assert not GenerationJob.objects.exists()
