"""Contract tests against real Gradio stand-in WEBUIs (the current gradio release)."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import time

import pytest
import requests

from questionbank.webui import (
    AuthFailed,
    Client,
    Endpoint,
    GenerationRequest,
    LayoutError,
    ServerReportedError,
    TimedOut,
    call_with_retries,
)
from questionbank.webui.standin import STANDIN_NOTICE

from .conftest import AUTH

# The stand-ins run on the gradio installed here: the dev pin, or an older release when
# tests/compat/run.sh runs this file in its own virtualenv.
GRADIO = importlib.metadata.version("gradio")
MAJOR_MINOR = tuple(int(x) for x in GRADIO.split(".")[:2])
PREFIX = "/gradio_api" if MAJOR_MINOR >= (5, 0) else ""
HAS_CALL = MAJOR_MINOR >= (4, 20)
needs_call = pytest.mark.skipif(not HAS_CALL, reason="no /call route before Gradio 4.20")
# Gradio 3.x's API info has no parameter names, only labels: the client maps by label.
HAS_NAMES = MAJOR_MINOR >= (4, 0)
# Gradio 4.x's /call event stream drops gr.Error's text ("event: error / data: null").
CALL_KEEPS_ERRORS = MAJOR_MINOR >= (5, 0)
# Heartbeats on the event stream: every GRADIO_HEARTBEAT_INTERVAL (0.3 s in the stand-ins)
# from Gradio 5; Gradio 4.x sends one after 15 s (hard-coded) and no more.
HEARTBEAT_S = 0.3 if MAJOR_MINOR >= (5, 0) else 15.0


def ep(url: str, **kw) -> Endpoint:
    kw.setdefault("read_timeout", 30.0)
    kw.setdefault("deadline", 60.0)
    return Endpoint(name=kw.pop("name", "standin"), protocol="gradio", base_url=url, **kw)


def ask(question: str, **kw) -> GenerationRequest:
    return GenerationRequest(user_input=question, **kw)


def test_discovery_reads_version_prefix_and_layout(standins):
    d = Client(ep(standins["plain"])).discover()
    assert d.version == GRADIO
    assert d.api_prefix == PREFIX
    assert d.api_name == "/predict"
    assert d.call_route is HAS_CALL and not d.streaming
    assert d.layout == {f: i for i, f in enumerate(
        ["system_prompt", "user_input", "temperature", "top_p", "max_new_tokens",
         "repetition_penalty", "streaming"])}
    assert [p.default for p in d.parameters][2:] == [0.6, 0.95, 16384, 1.0, True]


@pytest.mark.parametrize("stream", [False, True])
def test_seven_inputs_non_streaming_function(standins, stream):
    client = Client(ep(standins["plain"], stream=stream))
    result = client.generate(ask("What is 2+3?"))
    assert STANDIN_NOTICE in result.text
    assert result.text.rstrip().endswith(r"$\boxed{5}$.")
    assert result.exchange.route == ("call-stream" if stream and HAS_CALL else "oneshot")
    assert result.exchange.response_status == 200
    assert result.exchange.server_version == GRADIO
    assert result.exchange.request_body["data"][1] == "What is 2+3?"
    assert result.finish_reason is None and not result.truncated


@needs_call
def test_streaming_function_delivers_growing_partials(standins):
    client = Client(ep(standins["stream"]))
    assert client.discover().streaming
    partials: list[str] = []
    result = client.generate(ask("What is 6*7?"), on_partial=partials.append)
    assert result.exchange.route == "call-stream"
    assert len(partials) >= 3
    assert all(b.startswith(a) for a, b in zip(partials, partials[1:], strict=False))
    assert result.text.endswith(r"$\boxed{42}$.")
    assert partials[-1] == result.text


@needs_call
def test_streaming_function_with_streaming_off_still_answers_whole(standins):
    # The streaming checkbox is mapped, so the WEBUI yields once; the route stays /call
    # because a generator cannot be read in one shot.
    client = Client(ep(standins["stream"], stream=False))
    result = client.generate(ask("What is 1+1?"))
    assert result.exchange.route == "call-stream"
    assert result.exchange.request_body["data"][6] is False
    assert result.text.endswith(r"$\boxed{2}$.")


def test_permuted_parameters_are_mapped_by_name(standins):
    client = Client(ep(standins["permuted"]))
    d = client.discover()
    names = [p.name for p in d.parameters]
    labels = [p.label for p in d.parameters]
    if HAS_NAMES:
        assert names[0] == "message" and names[2] == "sys_prompt"
    else:
        assert names == [""] * 7 and labels[0] == "User Input" and labels[2] == "System Prompt"
    assert d.layout["user_input"] == 0 and d.layout["system_prompt"] == 2
    assert d.layout["max_new_tokens"] == labels.index("Max New Tokens")
    assert d.layout["repetition_penalty"] == labels.index("Repetition Penalty")
    result = client.generate(ask("What is 10-4?", system_prompt="Be brief."))
    assert result.text.endswith(r"$\boxed{6}$.")
    assert result.exchange.request_body["data"][2] == "Be brief."


def test_endpoint_named_after_function(standins):
    client = Client(ep(standins["fnname"]))
    assert client.discover().api_name == "/generate_answer"
    assert client.generate(ask("What is 3*3?")).text.endswith(r"$\boxed{9}$.")


def test_unknown_api_name_lists_what_server_offers(standins):
    with pytest.raises(LayoutError) as info:
        Client(ep(standins["plain"], api_name="/chat")).discover()
    assert "/predict" in info.value.message and "/stats" in info.value.message
    assert not info.value.retryable


def test_admin_layout_override_wins(standins):
    # Deliberately swap the two text fields: the question lands in the system prompt.
    client = Client(ep(standins["plain"], layout={"user_input": "System Prompt",
                                                  "system_prompt": 1}))
    result = client.generate(ask("What is 2+2?", system_prompt="What is 5+5?"))
    assert result.text.endswith(r"$\boxed{10}$.")


def test_unmappable_override_is_a_layout_error(standins):
    with pytest.raises(LayoutError) as info:
        Client(ep(standins["plain"], layout={"user_input": "question_text"})).discover()
    assert "question_text" in info.value.message
    # Lists what is offered (by name, or by label where the server gives no names).
    assert ("system_prompt" if HAS_NAMES else "System Prompt") in info.value.message


@needs_call
def test_auth_app_logs_in_and_keeps_cookies_for_the_stream(standins):
    client = Client(ep(standins["auth"], username=AUTH[0], password=AUTH[1]))
    result = client.generate(ask("What is 8/4?"))
    assert result.exchange.route == "call-stream"
    assert result.text.endswith(r"$\boxed{2}$.")
    assert AUTH[1] not in repr(result.exchange)


def test_auth_app_logs_in_again_after_losing_cookies(standins):
    client = Client(ep(standins["auth"], username=AUTH[0], password=AUTH[1], stream=False))
    client.discover()
    client.session.cookies.clear()  # as after a server restart
    assert client.generate(ask("What is 1+2?")).text.endswith(r"$\boxed{3}$.")


def test_auth_wrong_password_and_missing_login(standins):
    with pytest.raises(AuthFailed) as wrong:
        Client(ep(standins["auth"], username=AUTH[0], password="wrong-guess")).discover()
    assert not wrong.value.retryable
    assert "wrong-guess" not in wrong.value.message
    with pytest.raises(AuthFailed) as missing:
        Client(ep(standins["auth"])).discover()
    assert "username and password" in missing.value.message


@pytest.mark.parametrize("stream", [False, True])
def test_gr_error_message_reaches_the_caller(standins, stream):
    client = Client(ep(standins["plain"], stream=stream))
    with pytest.raises(ServerReportedError) as info:
        client.generate(ask("x [[standin:fail=gr-error]]"))
    if stream and HAS_CALL and not CALL_KEEPS_ERRORS:
        # Nothing to read: the client says the server hid the reason, and allows a retry.
        assert info.value.server_message == "" and "hid the reason" in info.value.message
    else:
        assert info.value.server_message == "stand-in: requested failure"
        assert not info.value.retryable
    assert info.value.exchange is not None and info.value.exchange.url.endswith(
        "/call/predict" if stream and HAS_CALL else "/predict/")


@pytest.mark.parametrize("stream", [False, True])
def test_ordinary_exception_is_hidden_without_show_error(standins, stream):
    client = Client(ep(standins["plain"], stream=stream))
    with pytest.raises(ServerReportedError) as info:
        client.generate(ask("x [[standin:fail=exception]]"))
    assert info.value.server_message == ""
    assert "hid the reason" in info.value.message
    assert info.value.retryable
    assert "internal failure detail" not in info.value.exchange.response_body


def test_ordinary_exception_is_shown_with_show_error(standins):
    client = Client(ep(standins["shown"], stream=False))
    with pytest.raises(ServerReportedError) as info:
        client.generate(ask("x [[standin:fail=exception]]"))
    assert "internal failure detail" in info.value.server_message


@needs_call
def test_heartbeats_keep_a_long_call_alive_but_one_shot_times_out(standins):
    # Silence allowed: a little more than the heartbeat interval; the call takes longer
    # (Gradio 5+: 1 s and 2 s; Gradio 4.x, one heartbeat at 15 s: 16 s and 20 s).
    silence, delay = (1.0, 2) if HEARTBEAT_S < 1 else (HEARTBEAT_S + 1, 20)
    question = ask(f"What is 2+3? [[standin:delay={delay}]]")
    streamed = Client(ep(standins["fnname"], read_timeout=silence, stream=True))
    assert streamed.generate(question).text.endswith(r"$\boxed{5}$.")
    oneshot = Client(ep(standins["fnname"], read_timeout=silence, stream=False))
    with pytest.raises(TimedOut) as info:
        oneshot.generate(question)
    assert info.value.phase == "read" and info.value.retryable


@needs_call
def test_deadline_bounds_a_call_even_with_heartbeats(standins):
    client = Client(ep(standins["plain"], read_timeout=5.0, deadline=1.0))
    client.discover()
    with pytest.raises(TimedOut) as info:
        client.generate(ask("slow [[standin:delay=3]]"))
    assert info.value.phase == "deadline"
    # What happened, not how long it took: heartbeats kept the read alive, and the call was
    # cut before the answer (3 s away) came, rather than noticed late once it had.
    body = info.value.exchange.response_body
    if HEARTBEAT_S < 1:  # Gradio 4.x sends its first heartbeat after 15 s
        assert "event: heartbeat" in body
    assert "event: complete" not in body and "event: generating" not in body


def test_fail_times_marker_and_retries(standins):
    client = Client(ep(standins["plain"], stream=False))
    calls = []

    def once():
        calls.append(1)
        return client.generate(ask("What is 4+4? [[standin:fail-times=2:retry-test]]"))

    # gr.Error is not retryable: the first failure surfaces at once.
    with pytest.raises(ServerReportedError):
        call_with_retries(once, sleep=lambda s: None)
    assert len(calls) == 1
    with pytest.raises(ServerReportedError):  # the second planned failure
        once()
    assert once().text.endswith(r"$\boxed{8}$.")  # then the stand-in answers


def test_stats_count_concurrency(standins):
    url = standins["plain"]
    client = Client(ep(url, stream=False))
    base = f"{url}{PREFIX}"

    def stats():
        reply = requests.post(f"{base}/api/stats/", json={"data": []}, timeout=10)
        return reply.json()["data"][0]

    # A call abandoned by an earlier test (deadline) keeps its worker thread running after
    # Gradio frees its queue slot; wait for it so it cannot overlap ours.
    deadline = time.monotonic() + 10
    while stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.1)
    requests.post(f"{base}/api/reset_stats/", json={"data": []}, timeout=10)
    client.generate(ask("What is 1+1?"))
    assert stats() == {"calls": 1, "max_in_flight": 1, "in_flight": 0}


def test_health_reports_layout_and_version(standins):
    health = Client(ep(standins["permuted"])).health()
    assert health.reachable and not health.error
    assert health.version == GRADIO and health.protocol == "gradio"
    assert health.api_name == "/predict"
    assert health.layout["user_input"] == ("#0 message" if HAS_NAMES else "#0 User Input")


def test_client_accepts_an_injected_session(standins):
    session = requests.Session()
    client = Client(dataclasses.replace(ep(standins["plain"]), stream=False), session=session)
    client.generate(ask("What is 2+3?"))
    assert client.session is session
