"""Errors, limits and idempotent creation: every error is JSON with a code and a sentence."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from questionbank.models import ApiIdempotencyKey, GenerationBatch, Problem, Solution
from questionbank.services.solutions import Concern


def test_rate_limit_answers_429_with_retry_after_per_token(api, bank, settings):
    settings.QB_API_RATE_PER_MINUTE = 3
    for _ in range(3):
        assert api["teacher"].get("/api/v1/me/").status_code == 200
    limited = api["teacher"].get("/api/v1/me/")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert limited.json()["code"] == "rate_limited"
    assert "wait" in limited.json()["message"]
    # Another token has its own allowance.
    assert api["other_teacher"].get("/api/v1/me/").status_code == 200


def test_page_size_is_capped(api, bank, settings):
    settings.QB_API_MAX_PAGE_SIZE = 2
    for n in range(4):
        api["teacher"].post("/api/v1/problems/", {"title": f"P{n}", "statement": "x"})
    page = api["teacher"].get("/api/v1/problems/", {"page_size": 1000}).json()
    assert len(page["results"]) == 2 and page["count"] >= 6 and page["next"]
    past = api["teacher"].get("/api/v1/problems/", {"page": 999})
    assert past.status_code == 404 and past.json()["code"] == "not_found"


def test_body_size_is_capped(api, bank, settings):
    settings.QB_API_MAX_BODY_BYTES = 2048
    response = api["teacher"].post("/api/v1/problems/", {"title": "Big", "statement": "x" * 5000})
    assert response.status_code == 413
    assert response.json() == {"code": "request_too_large", "message": (
        "The request body is larger than 2 KB; send less in one request.")}
    assert not Problem.objects.filter(title="Big").exists()


def test_errors_are_json_with_a_code_and_a_sentence(api, bank):
    checks = [
        (api["teacher"].post("/api/v1/problems/", {"title": ""}), 400, "invalid"),
        (api["teacher"].client.post("/api/v1/problems/", "{not json",
                                    content_type="application/json",
                                    headers=api["teacher"].headers), 400, "malformed_body"),
        (api["teacher"].client.post("/api/v1/problems/", "title=x",
                                    content_type="text/plain",
                                    headers=api["teacher"].headers), 415,
         "unsupported_media_type"),
        (api["teacher"].get("/api/v1/problems/99999/"), 404, "not_found"),
        (api["teacher"].get("/api/v1/no-such-thing/"), 404, "not_found"),
        (api["teacher"].client.delete(f"/api/v1/problems/{bank['published'].pk}/",
                                      headers=api["teacher"].headers), 405,
         "method_not_allowed"),
        (api["teacher"].get("/api/v1/problems/", headers={"Accept": "text/html"}), 406,
         "not_acceptable"),
        (api["anonymous"].get("/api/v1/problems/"), 401, "not_authenticated"),
        (api["student"].get("/api/v1/problems/"), 403, "forbidden"),
        (api["teacher"].get("/api/v1/published/problems/", {"tag": "nope"}), 404,
         "unknown_tag"),
    ]
    for response, status, code in checks:
        assert response.status_code == status, response.content
        assert response["Content-Type"].startswith("application/json")
        body = response.json()
        assert body["code"] == code, body
        assert body["message"][0].isupper() and body["message"].rstrip(")").endswith("."), body
    invalid = checks[0][0].json()
    assert set(invalid["fields"]) == {"title", "statement"}


def test_service_refusals_keep_the_sites_sentences(api, bank):
    archived = bank["archived"]
    response = api["teacher"].post("/api/v1/batches/", {
        "problems": [archived.pk], "template": bank["template"].pk,
        "endpoints": [bank["endpoint"].pk]})
    assert response.status_code == 400
    assert response.json()["code"] == "refused"
    assert "archived" in response.json()["message"]
    unknown = api["teacher"].post("/api/v1/batches/", {
        "problems": [archived.pk, 987654], "template": bank["template"].pk,
        "endpoints": [bank["endpoint"].pk]})
    assert unknown.json()["code"] == "unknown_problem" and "987654" in unknown.json()["message"]
    reject = api["teacher"].post(f"/api/v1/solutions/{bank['draft_solution'].pk}/transition/",
                                 {"target": "rejected"})
    assert reject.status_code == 400 and "Say why" in reject.json()["message"]
    back = api["teacher"].post(f"/api/v1/solutions/{bank['draft_solution'].pk}/transition/",
                               {"target": "draft"})
    assert back.status_code == 409 and back.json()["code"] == "illegal_transition"


def test_publishing_needs_confirmation_of_each_concern(api, bank):
    solution = bank["draft_solution"]  # disagrees with the reference answer
    url = f"/api/v1/solutions/{solution.pk}/transition/"
    refused = api["teacher"].post(url, {"target": "published"})
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "needs_confirmation"
    codes = [c["code"] for c in body["concerns"]]
    assert Concern.DISAGREES in codes
    assert all(c["message"] for c in body["concerns"])
    assert Solution.objects.get(pk=solution.pk).status == Solution.Status.DRAFT
    partial = api["teacher"].post(url, {"target": "published", "confirm": codes[:-1]})
    assert partial.status_code == 409 and [c["code"] for c in partial.json()["concerns"]] == (
        codes[-1:])
    done = api["teacher"].post(url, {"target": "published", "confirm": codes})
    assert done.status_code == 200 and done.json()["status"] == "published"
    assert "Published after confirming" in done.json()["transitions"][0]["reason"]
    # Students now see it: exactly one published solution for the problem.
    shown = api["student"].get(f"/api/v1/published/problems/{solution.problem_id}/").json()
    assert shown["solution"]["id"] == solution.pk


def test_idempotency_key_makes_batch_creation_safe_to_retry(api, bank):
    body = {"problems": [bank["published"].pk], "template": bank["template"].pk,
            "endpoints": [bank["endpoint"].pk], "samples": 2, "name": "overnight"}
    headers = {"Idempotency-Key": "batch-7f3c"}
    first = api["teacher"].post("/api/v1/batches/", body, headers=headers)
    again = api["teacher"].post("/api/v1/batches/", body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert (first["Idempotent-Replayed"], again["Idempotent-Replayed"]) == ("false", "true")
    assert GenerationBatch.objects.filter(name="overnight").count() == 1
    other = api["teacher"].post("/api/v1/batches/", {**body, "samples": 3}, headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # Keys are per user: another teacher's same key is new work.
    theirs = api["other_teacher"].post("/api/v1/batches/", body, headers=headers)
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    # A refused request does not use up its key.
    bad = api["teacher"].post("/api/v1/batches/", {**body, "problems": [bank["archived"].pk]},
                              headers={"Idempotency-Key": "retry-me"})
    assert bad.status_code == 400
    assert not ApiIdempotencyKey.objects.filter(key="retry-me").exists()


GIFT = b"::API import one::What is 3+4? {#7}\n\n::API import two::What is 5+5? {#10}\n"


def test_import_dry_run_then_idempotent_import(api, bank):
    def upload(dry_run: bool, key: str | None = None):
        headers = {"Idempotency-Key": key} if key else {}
        return api["teacher"].post(
            "/api/v1/problems/import/",
            {"file": SimpleUploadedFile("term.gift", GIFT), "dry_run": json.dumps(dry_run)},
            multipart=True, headers=headers)

    preview = upload(True).json()
    assert preview["dry_run"] and preview["counts"]["create"] == 2
    assert not Problem.objects.filter(title__startswith="API import").exists()
    first = upload(False, key="import-1")
    again = upload(False, key="import-1")
    assert first.status_code == again.status_code == 200
    assert len(first.json()["created"]) == 2 and first.json() == again.json()
    assert Problem.objects.filter(title__startswith="API import").count() == 2
    empty = api["teacher"].post("/api/v1/problems/import/",
                                {"file": SimpleUploadedFile("x.gift", b"  ")}, multipart=True)
    assert empty.status_code == 400 and empty.json() == {
        "code": "file_refused", "message": "The file is empty."}


def test_unstorable_characters_in_the_query_are_a_json_error(client):
    # The site-wide input check answers the API in the API's own error shape.
    response = client.get("/api/v1/published/problems/?q=%00")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "invalid_input" and "address" in body["message"]
