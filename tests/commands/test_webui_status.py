"""`manage.py webui_status` against real stand-in Gradio servers and the OpenAI test server."""

import io
import json
import re

import pytest
from django.core.management import call_command

from questionbank import webui
from questionbank.models import ModelEndpoint
from tests.factories import make_endpoint
from tests.servers.fault_server import refused_port
from tests.servers.fixtures import AUTH, OPENAI_API_KEY


@pytest.fixture(autouse=True)
def _fresh_sessions():
    webui.forget_sessions()
    yield
    webui.forget_sessions()


def status(*args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("webui_status", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def servers(db, standins, openai_server):
    make_endpoint(name="permuted", base_url=standins["permuted"])
    make_endpoint(name="demo", base_url=standins["plain"], is_standin=True)
    make_endpoint(name="locked", base_url=standins["auth"], username=AUTH[0], password=AUTH[1])
    make_endpoint(name="vllm", protocol="openai", base_url=openai_server[1],
                  api_key=OPENAI_API_KEY, penalty_style="none")


def test_table_lists_every_endpoint(servers):
    code, out, _ = status()
    assert code == 0
    header, rule, *rest = out.splitlines()
    assert header.split() == ["NAME", "STATUS", "LATENCY", "VERSION", "PROTOCOL", "ENDPOINT",
                              "URL"]
    table = {line.split()[0]: line for line in rest[:4]}
    assert set(table) == {"demo", "locked", "permuted", "vllm"}
    for name in ("locked", "permuted"):
        assert " ok " in table[name] and "/predict" in table[name] and " ms " in table[name]
    assert table["demo"].startswith("demo [stand-in]")
    assert "openai" in table["vllm"] and "/v1/chat/completions" in table["vllm"]
    assert "models served: WeiboAI/VibeThinker-1.5B" in out
    assert re.search(r"user_input +->  #0 message\n", out)  # the permuted server's layout
    assert AUTH[1] not in out and OPENAI_API_KEY not in out
    # Without --save nothing is stored.
    assert not ModelEndpoint.objects.filter(discovered_at__isnull=False).exists()


def test_save_stores_layout_version_and_health(servers):
    code, out, _ = status("--save")
    assert code == 0 and "Saved the health of 4 endpoint(s) and the layout of 4." in out
    permuted = ModelEndpoint.objects.get(name="permuted")
    assert permuted.parameter_layout["user_input"] == "#0 message"
    assert permuted.parameter_layout["system_prompt"].endswith("sys_prompt")
    assert permuted.server_version and permuted.server_version[0].isdigit()
    assert permuted.api_name == "/predict" and permuted.discovered_at is not None
    assert permuted.last_check_ok is True and permuted.last_check_latency_ms is not None
    vllm = ModelEndpoint.objects.get(name="vllm")
    assert vllm.last_check_ok is True and vllm.discovered_at is not None


def test_json_and_one_endpoint(servers):
    code, out, _ = status("--json", "--endpoint", "permuted")
    assert code == 0
    (row,) = json.loads(out)
    assert row["name"] == "permuted" and row["status"] == "ok" and row["reachable"]
    assert row["protocol"] == "gradio" and row["api_name"] == "/predict"
    assert row["layout"]["user_input"] == "#0 message" and row["latency_ms"] >= 0
    assert row["version"]


def test_unreachable_enabled_endpoint_exits_1(db, standins):
    make_endpoint(name="up", base_url=standins["plain"])
    down = make_endpoint(name="down", base_url=f"http://127.0.0.1:{refused_port()}")
    code, out, _ = status("--save")
    assert code == 1
    assert "unreachable" in out and "problem: " in out
    down.refresh_from_db()
    assert down.last_check_ok is False and down.parameter_layout == {}
    # A disabled endpoint that is down does not fail the check.
    from questionbank.services.endpoints import endpoint_update

    endpoint_update(endpoint=down, enabled=False)
    code, out, _ = status()
    assert code == 0 and "unreachable (disabled)" in out


def test_wrong_password_is_an_error_without_the_secret(db, standins):
    make_endpoint(name="locked", base_url=standins["auth"], username=AUTH[0],
                  password="not-the-Pass-9")
    code, out, _ = status("--json")
    (row,) = json.loads(out)
    assert code == 0  # the server answered; it refused us
    assert row["status"] == "error" and row["error"]
    assert "not-the-Pass-9" not in out


def test_unknown_endpoint_and_none_configured(db):
    code, out, _ = status()
    assert code == 0 and "No model endpoints are configured" in out
    code, _, err = status("--endpoint", "ghost")
    assert code == 1 and "ghost" in err
