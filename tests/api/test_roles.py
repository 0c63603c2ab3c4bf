"""Every endpoint x every role: the status each role gets, and what each role sees."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator

from questionbank.models import CallLog, Problem, Solution
from tests.api.conftest import ROLES

TEACHERS = {"anonymous": 401, "student": 403, "teacher": 200, "other_teacher": 200,
            "auditor": 403, "admin": 200}
TEACHERS_CREATE = {**TEACHERS, "teacher": 201, "other_teacher": 201, "admin": 201}
AUDITORS = {"anonymous": 401, "student": 403, "teacher": 403, "other_teacher": 403,
            "auditor": 200, "admin": 200}
ANYONE = dict.fromkeys(ROLES, 200)
LOGGED_IN = {**ANYONE, "anonymous": 401}
# The teacher who started the job, auditors and admins; another teacher is told "not found".
JOB_OWNER = {"anonymous": 401, "student": 403, "teacher": 200, "other_teacher": 404,
             "auditor": 200, "admin": 200}

GIFT = b"::API import one::What is 3+4? {#7}\n\n::API import two::What is 5+5? {#10}\n"

# (id, method, path, body, expected statuses)
CASES = [
    ("me", "get", lambda b: "/api/v1/me/", None, LOGGED_IN),
    ("tags", "get", lambda b: "/api/v1/tags/", None, TEACHERS),
    ("problems", "get", lambda b: "/api/v1/problems/", None, TEACHERS),
    ("problem-create", "post", lambda b: "/api/v1/problems/",
     lambda b: {"title": "New one", "statement": "What is $1+1$?", "reference_answer": "2",
                "tags": ["api"]}, TEACHERS_CREATE),
    ("problem", "get", lambda b: f"/api/v1/problems/{b['draft_only'].pk}/", None, TEACHERS),
    ("problem-update", "patch", lambda b: f"/api/v1/problems/{b['draft_only'].pk}/",
     lambda b: {"statement": "Changed: what is $3+3$?"}, TEACHERS),
    ("problem-archive", "post", lambda b: f"/api/v1/problems/{b['draft_only'].pk}/archive/",
     None, TEACHERS),
    ("problem-import", "post", lambda b: "/api/v1/problems/import/",
     lambda b: {"file": SimpleUploadedFile("term.gift", GIFT), "dry_run": "true"}, TEACHERS),
    ("templates", "get", lambda b: "/api/v1/templates/", None, TEACHERS),
    ("template-create", "post", lambda b: "/api/v1/templates/",
     lambda b: {"name": "API template", "user_prompt": "{statement}\nAnswer in \\boxed{}."},
     TEACHERS_CREATE),
    ("template", "get", lambda b: f"/api/v1/templates/{b['template'].pk}/", None, TEACHERS),
    ("template-update", "patch", lambda b: f"/api/v1/templates/{b['template'].pk}/",
     lambda b: {"temperature": 0.7}, TEACHERS),
    ("endpoints", "get", lambda b: "/api/v1/endpoints/", None, TEACHERS),
    ("batches", "get", lambda b: "/api/v1/batches/", None, TEACHERS),
    ("batch-create", "post", lambda b: "/api/v1/batches/",
     lambda b: {"problems": [b["published"].pk], "template": b["template"].pk,
                "endpoints": [b["endpoint"].pk], "samples": 2}, TEACHERS_CREATE),
    ("batch", "get", lambda b: f"/api/v1/batches/{b['batch'].pk}/", None, TEACHERS),
    ("batch-jobs", "get", lambda b: f"/api/v1/batches/{b['batch'].pk}/jobs/", None, TEACHERS),
    ("batch-cancel", "post", lambda b: f"/api/v1/batches/{b['batch'].pk}/cancel/", None,
     TEACHERS),
    ("batch-retry", "post", lambda b: f"/api/v1/batches/{b['batch'].pk}/retry/", None,
     TEACHERS),
    ("job-calls", "get", lambda b: f"/api/v1/jobs/{b['job'].pk}/calls/", None, JOB_OWNER),
    ("solutions", "get", lambda b: "/api/v1/solutions/", None, TEACHERS),
    ("solution", "get", lambda b: f"/api/v1/solutions/{b['draft_solution'].pk}/", None,
     TEACHERS),
    ("solution-revise", "post",
     lambda b: f"/api/v1/solutions/{b['draft_solution'].pk}/revisions/",
     lambda b: {"body": "Better: $3+4 = 7$, so the answer is 7.", "note": "clearer"},
     TEACHERS_CREATE),
    ("solution-transition", "post",
     lambda b: f"/api/v1/solutions/{b['draft_solution'].pk}/transition/",
     lambda b: {"target": "in_review"}, TEACHERS),
    ("published", "get", lambda b: "/api/v1/published/problems/", None, ANYONE),
    ("published-detail", "get",
     lambda b: f"/api/v1/published/problems/{b['published'].pk}/", None, ANYONE),
    ("published-tags", "get", lambda b: "/api/v1/published/tags/", None, ANYONE),
    ("calls", "get", lambda b: "/api/v1/calls/", None, AUDITORS),
    ("call", "get", lambda b: f"/api/v1/calls/{b['call'].pk}/", None, AUDITORS),
    ("calls-export", "get", lambda b: "/api/v1/calls/export/?format=jsonl", None, AUDITORS),
    ("calls-verify", "get", lambda b: "/api/v1/calls/verify/", None, AUDITORS),
    ("schema", "get", lambda b: "/api/v1/schema/", None, ANYONE),
    ("docs", "get", lambda b: "/api/v1/docs/", None, ANYONE),
]


@pytest.mark.parametrize(("name", "method", "path", "body", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_status_per_role(api, bank, name, method, path, body, expected):
    """Each role's request runs in a transaction rolled back afterwards, so every role
    meets the same bank (a write by one role does not change what the next one sees)."""
    got = {}
    for role in ROLES:
        with transaction.atomic():
            data = body(bank) if body else None
            extra = {"multipart": True} if name == "problem-import" else {}
            response = getattr(api[role], method)(path(bank), data, **extra)
            got[role] = response.status_code
            if response.status_code >= 400:
                error = response.json()
                assert error["code"] and error["message"].endswith((".", ")")), error
            transaction.set_rollback(True)
    assert got == expected


def test_every_operation_in_the_schema_is_in_the_matrix(bank):
    """A new endpoint must be added to CASES: its operations are read from the schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {(method, path) for path, ops in schema["paths"].items() for method in ops}
    covered = {(method, re.sub(r"/\d+/", "/{id}/", path(bank).split("?")[0]))
               for _, method, path, _, _ in CASES}
    assert operations == covered - {("get", "/api/v1/schema/"), ("get", "/api/v1/docs/")}


@pytest.mark.parametrize("role", ROLES)
def test_students_side_shows_published_problems_only(api, bank, role):
    listing = api[role].get("/api/v1/published/problems/").json()
    ids = {row["id"] for row in listing["results"]}
    assert ids == {bank["published"].pk}
    for hidden in (bank["draft_only"], bank["archived"]):
        response = api[role].get(f"/api/v1/published/problems/{hidden.pk}/")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    detail = api[role].get(f"/api/v1/published/problems/{bank['published'].pk}/").json()
    assert detail["solution"]["id"] == bank["published_solution"].pk
    assert "Draft text" not in str(listing) + str(detail)


def test_anonymous_reading_follows_public_browsing(api, bank, settings):
    settings.QB_PUBLIC_BROWSING = False
    response = api["anonymous"].get("/api/v1/published/problems/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert api["student"].get("/api/v1/published/problems/").status_code == 200


def test_teachers_see_drafts_and_students_never_do(api, bank):
    rows = api["teacher"].get("/api/v1/problems/", {"page_size": 100}).json()["results"]
    assert bank["draft_only"].pk in {r["id"] for r in rows}
    sols = api["teacher"].get("/api/v1/solutions/", {"status": "draft"}).json()["results"]
    assert bank["draft_solution"].pk in {s["id"] for s in sols}
    for role in ("student", "anonymous"):
        assert api[role].get("/api/v1/solutions/").status_code in (401, 403)


def test_call_log_is_for_auditors_and_a_teacher_sees_only_own_jobs_calls(api, bank):
    rows = api["auditor"].get("/api/v1/calls/").json()["results"]
    assert [r["id"] for r in rows] == [bank["call"].pk]
    detail = api["auditor"].get(f"/api/v1/calls/{bank['call'].pk}/").json()
    assert "sk-secret" not in str(detail)  # redacted when it was logged
    own = api["teacher"].get(f"/api/v1/jobs/{bank['job'].pk}/calls/").json()
    assert [r["id"] for r in own] == [bank["call"].pk]
    other = api["other_teacher"].get(f"/api/v1/jobs/{bank['job'].pk}/calls/")
    assert other.status_code == 404 and "sk-secret" not in other.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_nobody_writes_the_call_log(api, bank, role):
    before = CallLog.objects.count()
    for method in ("post", "patch"):
        response = getattr(api[role], method)(f"/api/v1/calls/{bank['call'].pk}/",
                                              {"outcome": "success"})
        assert response.status_code in (401, 403, 405)
        assert response.json()["code"]
    assert CallLog.objects.count() == before


def test_writes_went_through_the_services(api, bank):
    problem = bank["draft_only"]
    response = api["teacher"].patch(f"/api/v1/problems/{problem.pk}/",
                                    {"statement": "What is $10-3$?"})
    assert response.json()["version"] == 2  # versioning as on the site
    response = api["teacher"].post(f"/api/v1/problems/{problem.pk}/archive/")
    assert response.json()["status"] == "archived"
    assert Problem.objects.get(pk=problem.pk).status == Problem.Status.ARCHIVED
    revise = api["teacher"].post(f"/api/v1/solutions/{bank['draft_solution'].pk}/revisions/",
                                 {"body": "So the answer is 7.", "base_revision": 1})
    assert revise.json()["revision"] == 2 and revise.json()["revisions"][0]["author"] == (
        "api-teacher")
    stale = api["teacher"].post(f"/api/v1/solutions/{bank['draft_solution'].pk}/revisions/",
                                {"body": "Another.", "base_revision": 1})
    assert stale.status_code == 409 and stale.json()["code"] == "edit_conflict"
    assert Solution.objects.get(pk=bank["draft_solution"].pk).current_revision.number == 2
