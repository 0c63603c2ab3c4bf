"""Endpoint secrets in the admin (issue 14, defect 1): a teacher's view-only page shows no
secret field at all, an admin sees "set / not set" and replace fields, and credentials
typed into the address are refused with a sentence."""

from __future__ import annotations

from django.urls import reverse

from tests.admin.test_admin_smoke import _endpoint_form_data
from tests.factories import make_endpoint


def test_teacher_view_only_page_shows_no_secret(teacher_client):
    endpoint = make_endpoint(username="gradio-user", password="s3cret-pass",
                             api_key="sk-live-abcdef")
    url = reverse("admin:questionbank_modelendpoint_change", args=[endpoint.pk])
    response = teacher_client.get(url)
    assert response.status_code == 200  # the Teacher group may view endpoints
    page = response.content.decode()
    assert "s3cret-pass" not in page and "sk-live-abcdef" not in page
    assert "fernet:" not in page  # not even the encrypted form
    assert "password: set" in page and "API key: set" in page
    assert 'name="password"' not in page and "Replace password" not in page
    assert teacher_client.post(url, _endpoint_form_data(endpoint, password="x")).status_code \
        == 403


def test_admin_page_says_set_or_not_set_and_offers_replacement(admin_client):
    endpoint = make_endpoint(api_key="sk-live-abcdef")
    url = reverse("admin:questionbank_modelendpoint_change", args=[endpoint.pk])
    page = admin_client.get(url).content.decode()
    assert "password: not set" in page and "API key: set" in page
    assert "Replace password" in page and "Replace API key" in page
    assert "sk-live-abcdef" not in page and "fernet:" not in page
    history = admin_client.get(url.replace("/change/", "/history/")).content.decode()
    assert "fernet:" not in history


def test_credentials_in_the_address_are_a_form_error(admin_client):
    endpoint = make_endpoint()
    url = reverse("admin:questionbank_modelendpoint_change", args=[endpoint.pk])
    response = admin_client.post(url, _endpoint_form_data(
        endpoint, base_url="http://alice:hunter2@gpu-box:7860"))
    assert response.status_code == 200
    assert "enter them in the Credentials fields" in response.content.decode()
    endpoint.refresh_from_db()
    assert "hunter2" not in endpoint.base_url


def test_a_secret_cannot_be_saved_without_a_key(admin_client, settings):
    settings.QB_SECRETS_KEYS = ()
    endpoint = make_endpoint()
    url = reverse("admin:questionbank_modelendpoint_change", args=[endpoint.pk])
    response = admin_client.post(url, _endpoint_form_data(endpoint, api_key="sk-new"))
    assert response.status_code == 200
    assert "QB_SECRETS_KEY is not set" in response.content.decode()
