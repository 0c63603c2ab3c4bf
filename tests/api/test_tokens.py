"""Personal API tokens: shown once, hashed at rest, revoked or expired refused at once,
last use noted without a write per request."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from questionbank.models import ApiToken
from questionbank.services.api_tokens import (
    token_create,
    token_hash,
    token_revoke,
    token_touch,
)
from tests.api.conftest import ApiClient
from tests.factories import make_admin, make_student, make_teacher


def test_token_is_stored_hashed_and_works(db):
    teacher = make_teacher("tok-teacher")
    token, raw = token_create(user=teacher, name="Moodle sync")
    assert raw.startswith("qb_") and len(raw) > 40
    row = ApiToken.objects.get(pk=token.pk)
    assert row.key_hash == token_hash(raw) and raw not in str(row.__dict__)
    assert row.prefix == raw[:10]
    me = ApiClient(raw).get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json() == {"username": "tok-teacher", "roles": ["teacher"], "token": "Moodle sync"}


def test_account_page_shows_the_token_once_then_only_its_prefix(client, db):
    student = make_student("tok-student")
    client.force_login(student)
    url = reverse("api-tokens")
    response = client.post(url, {"name": "My notebook"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    page = response.content.decode()
    token = ApiToken.objects.get(user=student)
    raw = re.search(r'value="(qb_[^"]+)"', page).group(1)
    assert raw.startswith(token.prefix) and token_hash(raw) == token.key_hash
    again = client.get(url).content.decode()
    assert raw not in again and token.prefix in again and "My notebook" in again
    assert ApiClient(raw).get("/api/v1/published/problems/").status_code == 200


def test_account_page_refuses_a_blank_name_and_a_past_expiry(client, db):
    client.force_login(make_teacher("tok-t2"))
    page = client.post(reverse("api-tokens"), {"name": "  "}).content.decode()
    assert "This field is required." in page
    past = (timezone.now() - timedelta(days=2)).date().isoformat()
    page = client.post(reverse("api-tokens"), {"name": "old", "expires": past}).content.decode()
    assert "The expiry date has passed" in page
    assert not ApiToken.objects.exists()


def test_revoked_token_is_refused_at_once(client, db):
    teacher = make_teacher("tok-t3")
    token, raw = token_create(user=teacher, name="script")
    api = ApiClient(raw)
    assert api.get("/api/v1/problems/").status_code == 200
    client.force_login(teacher)
    response = client.post(reverse("api-token-revoke", args=[token.pk]), follow=True)
    assert "is revoked" in response.content.decode()
    refused = api.get("/api/v1/problems/")
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_revoked"
    assert refused["WWW-Authenticate"].startswith("Bearer")
    token.refresh_from_db()
    assert token.uses_refused == 1 and token.last_refused_at is not None  # admins see it


def test_a_user_cannot_revoke_someone_elses_token(client, db):
    owner, other = make_teacher("tok-owner"), make_teacher("tok-other")
    token, raw = token_create(user=owner, name="mine")
    client.force_login(other)
    assert client.post(reverse("api-token-revoke", args=[token.pk])).status_code == 404
    with pytest.raises(ApiToken.DoesNotExist):
        token_revoke(token=token, user=other)
    assert ApiClient(raw).get("/api/v1/me/").status_code == 200


def test_expiry_is_honoured(db):
    teacher = make_teacher("tok-t4")
    token, raw = token_create(user=teacher, name="short",
                              expires_at=timezone.now() + timedelta(hours=1))
    assert ApiClient(raw).get("/api/v1/me/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = ApiClient(raw).get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["code"] == "token_expired"


def test_unknown_and_malformed_tokens_are_refused_with_a_sentence(db):
    for header in ("Bearer qb_not-a-real-token", "Bearer", "Bearer a b", "Bearer sk-xyz"):
        response = ApiClient(None).get("/api/v1/me/", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["code"] == "invalid_token"
        assert "token" in response.json()["message"]


def test_last_used_is_written_once_per_interval_not_per_request(db, settings):
    settings.QB_API_TOKEN_TOUCH_SECONDS = 300
    teacher = make_teacher("tok-t5")
    token, raw = token_create(user=teacher, name="busy")
    api = ApiClient(raw)
    api.get("/api/v1/me/")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert api.get("/api/v1/me/").status_code == 200
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert writes == []
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    # Past the interval, the next use writes once.
    later = first + timedelta(seconds=301)
    row = ApiToken.objects.get(pk=token.pk)
    assert token_touch(token=row, now=later) is True
    assert token_touch(token=row, now=later + timedelta(seconds=1)) is False
    assert ApiToken.objects.get(pk=token.pk).last_used_at == later


def test_session_auth_works_for_the_sites_own_javascript_with_csrf(db):
    teacher = make_teacher("tok-t6")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(teacher)
    assert browser.get("/api/v1/problems/").status_code == 200
    refused = browser.post("/api/v1/problems/", {"title": "x", "statement": "y"},
                           content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["message"]


def test_admins_see_token_use_and_can_revoke(client, db):
    admin_user = make_admin("tok-admin")
    teacher = make_teacher("tok-t7")
    token, raw = token_create(user=teacher, name="nightly import")
    ApiClient(raw).get("/api/v1/me/")
    client.force_login(admin_user)
    page = client.get("/admin/questionbank/apitoken/").content.decode()
    assert "nightly import" in page and token.prefix in page and raw not in page
    client.post("/admin/questionbank/apitoken/", {"action": "revoke",
                                                  "_selected_action": [token.pk]})
    assert ApiClient(raw).get("/api/v1/me/").json()["code"] == "token_revoked"
