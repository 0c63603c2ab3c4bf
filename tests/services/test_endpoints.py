"""services.endpoints: the adapter to the client, health and discovery storage, checks."""

import dataclasses

import pytest
from django.core.exceptions import ValidationError

from questionbank import webui
from questionbank.models import ModelEndpoint
from questionbank.services.endpoints import (
    client_endpoint,
    endpoint_check,
    endpoint_record_check,
    endpoint_record_health,
    endpoint_update,
    health_summary,
)
from tests.factories import make_endpoint
from tests.servers.fault_server import refused_port
from tests.servers.fixtures import AUTH


@pytest.fixture(autouse=True)
def _fresh_sessions():
    webui.forget_sessions()
    yield
    webui.forget_sessions()


def test_client_endpoint_maps_every_field(db):
    row = make_endpoint(
        name="vllm box", protocol="openai", base_url="http://gpu-box:8000/", api_name="chat",
        model_name="WeiboAI/VibeThinker-1.5B", layout_override={"user_input": "question",
                                                                "system_prompt": 0},
        username="u", password="pw-SECRET", api_key="sk-SECRET", connect_timeout=3.5,
        read_timeout=120.0, deadline=600.0, stream=False, penalty_style="repeat_penalty",
    )
    ep = client_endpoint(row)
    assert isinstance(ep, webui.Endpoint)
    assert dataclasses.asdict(ep) == {
        "name": "vllm box", "protocol": "openai", "base_url": "http://gpu-box:8000",
        "api_name": "/chat", "layout": {"user_input": "question", "system_prompt": 0},
        "model": "WeiboAI/VibeThinker-1.5B", "username": "u", "password": "pw-SECRET",
        "api_key": "sk-SECRET", "connect_timeout": 3.5, "read_timeout": 120.0,
        "deadline": 600.0, "max_reply_bytes": webui.Endpoint.max_reply_bytes,
        "stream": False, "penalty_style": "repeat_penalty",
    }
    # Every Endpoint field is either mapped above or deliberately left at the client's
    # default; a new field on either side must be decided here.
    assert {f.name for f in dataclasses.fields(webui.Endpoint)} == set(dataclasses.asdict(ep))
    assert "pw-SECRET" not in repr(ep) and "sk-SECRET" not in repr(ep)


def test_client_endpoint_defaults_and_deadline_override(db):
    row = make_endpoint(base_url="http://127.0.0.1:7860")
    ep = client_endpoint(row)
    assert ep.layout is None and ep.api_name == "" and ep.penalty_style == "repetition_penalty"
    assert ep.deadline == row.deadline == 3600.0 and ep.stream is True
    assert client_endpoint(row, deadline=42.0).deadline == 42.0


@pytest.mark.parametrize("style", ["repetition_penalty", "repeat_penalty", "none"])
def test_penalty_style_is_editable_and_reaches_the_client(db, style):
    row = make_endpoint(protocol="openai")
    endpoint_update(endpoint=row, penalty_style=style)
    row.refresh_from_db()
    assert client_endpoint(row).penalty_style == style


def test_unknown_penalty_style_is_refused(db):
    row = make_endpoint()
    with pytest.raises(ValidationError):
        endpoint_update(endpoint=row, penalty_style="frequency_penalty")


def test_record_health(db):
    row = make_endpoint()
    endpoint_record_health(endpoint=row, ok=True, latency_s=0.1234)
    row.refresh_from_db()
    assert row.last_check_ok is True and row.last_check_latency_ms == 123
    assert row.last_checked_at is not None
    endpoint_record_health(endpoint=row, ok=False)
    row.refresh_from_db()
    assert row.last_check_ok is False and row.last_check_latency_ms is None


def test_failed_check_keeps_the_last_good_layout(db):
    row = make_endpoint()
    good = webui.Health(reachable=True, version="6.31.0", protocol="gradio",
                        api_name="/predict", layout={"user_input": "#1 user_input"},
                        latency_s=0.05)
    endpoint_record_check(endpoint=row, health=good)
    bad = webui.Health(reachable=False, protocol="gradio", error="Cannot connect.")
    endpoint_record_check(endpoint=row, health=bad)
    row.refresh_from_db()
    assert row.parameter_layout == {"user_input": "#1 user_input"}
    assert row.server_version == "6.31.0" and row.api_name == "/predict"
    assert row.last_check_ok is False


def test_check_against_the_stand_in_stores_layout_and_version(db, standins):
    row = make_endpoint(name="permuted", base_url=standins["permuted"])
    health = endpoint_check(endpoint=row)
    assert health.reachable and not health.error
    row.refresh_from_db()
    assert row.server_version == health.version and row.server_version[0].isdigit()
    assert row.api_name == "/predict"
    assert row.parameter_layout["user_input"] == "#0 message"
    assert set(row.parameter_layout) == set(webui.FIELDS)
    assert row.last_check_ok is True and row.last_check_latency_ms is not None
    line = health_summary(health)
    assert "reachable" in line and "/predict" in line and "user_input = #0 message" in line


def test_check_with_wrong_password_reports_without_the_secret(db, standins):
    row = make_endpoint(base_url=standins["auth"], username=AUTH[0], password="wrong-Guess-77")
    health = endpoint_check(endpoint=row)
    assert health.error and "wrong-Guess-77" not in health.error
    row.refresh_from_db()
    assert row.parameter_layout == {} and row.discovered_at is None


def test_check_unreachable(db):
    row = make_endpoint(base_url=f"http://127.0.0.1:{refused_port()}")
    health = endpoint_check(endpoint=row, save=False)
    assert not health.reachable
    assert health_summary(health).startswith("unreachable: ")
    row.refresh_from_db()
    assert row.last_checked_at is None  # save=False stores nothing
    assert ModelEndpoint.objects.get(pk=row.pk).last_check_ok is None
