"""Endpoint secrets at rest (issue 14, defect 1): encrypted with Fernet, rotated with
MultiFernet, refused in URLs, never serialized, and a missing key stops start-up."""

from __future__ import annotations

import importlib
import json

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from questionbank import encryption
from questionbank.checks import endpoint_secrets_key
from questionbank.models import ModelEndpoint
from questionbank.services.calllogs import calllog_record
from questionbank.services.endpoints import client_endpoint, endpoint_secrets_reencrypt
from questionbank.validators import validate_server_url
from tests.factories import make_endpoint

step = importlib.import_module("questionbank.migrations.0018_endpoint_secrets_encrypted")
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _raw(pk: int) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password, api_key, base_url, username "
                       "FROM questionbank_modelendpoint WHERE id = %s", [pk])
        password, api_key, base_url, username = cursor.fetchone()
    return {"password": password, "api_key": api_key, "base_url": base_url,
            "username": username}


def _set_raw(pk: int, **values) -> None:
    sets = ", ".join(f"{name} = %s" for name in values)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE questionbank_modelendpoint SET {sets} WHERE id = %s",
                       [*values.values(), pk])


def test_round_trip_and_plain_values_pass_through(settings):
    settings.QB_SECRETS_KEYS = (NEW,)
    stored = encryption.encrypt("pw")
    assert stored.startswith("fernet:") and "pw" not in stored
    assert encryption.decrypt(stored) == "pw"
    assert encryption.encrypt(stored) == stored  # saving twice does not wrap it again
    assert encryption.decrypt("legacy-plain") == "legacy-plain"
    assert encryption.encrypt("") == "" and encryption.decrypt("") == ""


@pytest.mark.django_db
def test_secrets_are_encrypted_in_the_database_and_reach_the_client(settings):
    settings.QB_SECRETS_KEYS = (NEW,)
    endpoint = make_endpoint(username="u", password="pw-SECRET", api_key="sk-SECRET")
    raw = _raw(endpoint.pk)
    assert raw["password"].startswith("fernet:") and raw["api_key"].startswith("fernet:")
    assert "SECRET" not in raw["password"] + raw["api_key"]
    loaded = ModelEndpoint.objects.get(pk=endpoint.pk)
    assert loaded.password == raw["password"]  # what is read stays encrypted
    ep = client_endpoint(loaded)
    assert (ep.password, ep.api_key) == ("pw-SECRET", "sk-SECRET")


@pytest.mark.django_db
def test_rotation_reads_old_keys_and_reencrypts_with_the_newest(settings):
    settings.QB_SECRETS_KEYS = (OLD,)
    endpoint = make_endpoint(password="pw-rotate")
    before = _raw(endpoint.pk)["password"]
    settings.QB_SECRETS_KEYS = (NEW, OLD)
    assert client_endpoint(ModelEndpoint.objects.get(pk=endpoint.pk)).password == "pw-rotate"
    call_command("rotate_secrets_key", stdout=open("/dev/null", "w"))  # noqa: SIM115
    after = _raw(endpoint.pk)["password"]
    assert after != before
    settings.QB_SECRETS_KEYS = (NEW,)  # the old key is gone: still readable
    assert client_endpoint(ModelEndpoint.objects.get(pk=endpoint.pk)).password == "pw-rotate"
    settings.QB_SECRETS_KEYS = (OLD,)
    with pytest.raises(encryption.SecretsKeyWrong, match="cannot be decrypted"):
        ModelEndpoint.objects.get(pk=endpoint.pk).secret("password")


@pytest.mark.django_db
def test_rotation_with_a_wrong_key_writes_nothing_and_says_why(settings):
    settings.QB_SECRETS_KEYS = (OLD,)
    endpoint = make_endpoint(password="pw")
    before = _raw(endpoint.pk)
    settings.QB_SECRETS_KEYS = (NEW,)
    with pytest.raises(CommandError, match="QB_SECRETS_KEY"):
        call_command("rotate_secrets_key")
    assert _raw(endpoint.pk) == before


@pytest.mark.django_db
def test_start_up_check_names_a_missing_or_wrong_key(settings):
    settings.QB_SECRETS_KEYS = (OLD,)
    make_endpoint(api_key="sk-1")
    assert endpoint_secrets_key() == []
    settings.QB_SECRETS_KEYS = ()
    (problem,) = endpoint_secrets_key()
    assert problem.id == "questionbank.E020" and problem.is_serious()
    assert "QB_SECRETS_KEY is not set" in problem.msg
    settings.QB_SECRETS_KEYS = (NEW,)
    (problem,) = endpoint_secrets_key()
    assert problem.id == "questionbank.E021" and "cannot be decrypted" in problem.msg


@pytest.mark.django_db
def test_no_key_and_no_secrets_is_fine_but_saving_one_is_refused(settings):
    settings.QB_SECRETS_KEYS = ()
    make_endpoint()
    assert endpoint_secrets_key() == []
    with pytest.raises(encryption.SecretsKeyMissing):
        make_endpoint(password="pw")


@pytest.mark.django_db
def test_secrets_are_left_out_of_every_serializer(settings):
    make_endpoint(name="ser", password="pw-SECRET", api_key="sk-SECRET")
    data = serializers.serialize("json", ModelEndpoint.objects.all())
    fields = json.loads(data)[0]["fields"]
    assert "password" not in fields and "api_key" not in fields
    assert "SECRET" not in data and "fernet:" not in data


@pytest.mark.parametrize("url", ["http://user:pass@gpu-box:7860", "http://user@gpu-box:7860",
                                 "https://:sk-123@gpu-box"])
def test_credentials_in_an_address_are_refused(url):
    with pytest.raises(ValidationError, match="Credentials fields"):
        validate_server_url(url)


@pytest.mark.django_db
def test_call_log_never_keeps_credentials_from_an_address():
    row = calllog_record(
        endpoint_name="x", url="http://alice:hunter2@gpu-box:7860/api/predict",
        error_message="The model server at http://alice:hunter2@gpu-box:7860 said no",
        outcome="error",
    )
    assert "hunter2" not in row.url + row.error_message and "alice" not in row.url
    assert row.url == "http://[redacted]@gpu-box:7860/api/predict"


@pytest.mark.django_db
def test_migration_moves_address_credentials_and_encrypts_plain_values(settings):
    settings.QB_SECRETS_KEYS = (NEW,)
    endpoint = make_endpoint(api_key="")
    _set_raw(endpoint.pk, password="", api_key="sk-plain",
             base_url="http://bob:pw-in-url@gpu-box:7860")
    assert endpoint_secrets_key()[0].id == "questionbank.W022"  # plain value left

    step.encrypt_secrets(apps, None)

    raw = _raw(endpoint.pk)
    assert raw["base_url"] == "http://gpu-box:7860" and raw["username"] == "bob"
    assert raw["password"].startswith("fernet:") and raw["api_key"].startswith("fernet:")
    ep = client_endpoint(ModelEndpoint.objects.get(pk=endpoint.pk))
    assert (ep.username, ep.password, ep.api_key) == ("bob", "pw-in-url", "sk-plain")
    assert endpoint_secrets_key() == []


@pytest.mark.django_db
def test_migration_without_a_key_stops_with_a_sentence(settings):
    endpoint = make_endpoint()
    _set_raw(endpoint.pk, password="plain")
    settings.QB_SECRETS_KEYS = ()
    with pytest.raises(RuntimeError, match="set QB_SECRETS_KEY"):
        step.encrypt_secrets(apps, None)


def test_reencrypt_service_counts_values(db, settings):
    settings.QB_SECRETS_KEYS = (NEW,)
    make_endpoint(password="a", api_key="b")
    make_endpoint()
    assert endpoint_secrets_reencrypt() == 2
