"""Each fault ends in the right error class, retry decision and time bound."""

from __future__ import annotations

import time

import pytest

from questionbank.webui import (
    Client,
    ConnectFailed,
    EmptyReply,
    Endpoint,
    GenerationRequest,
    HTTPStatusError,
    MalformedReply,
    ReplyCutOff,
    ReplyTooLarge,
    ServerReportedError,
    TimedOut,
)
from tests.servers.fault_server import BacklogFull, refused_port

Q = GenerationRequest(user_input="What is 2+3?")


def ep(url: str, **kw) -> Endpoint:
    kw.setdefault("connect_timeout", 0.5)
    kw.setdefault("read_timeout", 0.5)
    kw.setdefault("deadline", 5.0)
    kw.setdefault("stream", False)
    return Endpoint(name="faulty", protocol="gradio", base_url=url, **kw)


def fails(client: Client, within: float, request: GenerationRequest = Q):
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        client.generate(request)
    assert time.monotonic() - started < within
    return info.value


def test_connection_refused():
    err = fails(Client(ep(f"http://127.0.0.1:{refused_port()}")), within=2)
    assert isinstance(err, ConnectFailed) and err.retryable
    assert "refused the connection: is the WEBUI running?" in err.message
    assert err.exchange.url.endswith("/config")


def test_connect_timeout():
    # A true connect timeout on loopback: the listener's backlog is full, SYNs get dropped.
    full = BacklogFull()
    try:
        err = fails(Client(ep(f"http://127.0.0.1:{full.port}")), within=2)
    finally:
        full.close()
    assert isinstance(err, TimedOut) and err.phase == "connect" and err.retryable


def test_read_timeout(fault_server):
    fault_server.mode = "read-timeout"
    err = fails(Client(ep(fault_server.base_url)), within=2)
    assert isinstance(err, TimedOut) and err.phase == "read" and err.retryable
    assert "went silent" in err.message


def test_reset_mid_body_is_a_reply_cut_off_not_a_connect_failure(fault_server):
    fault_server.mode = "reset"
    err = fails(Client(ep(fault_server.base_url)), within=2)
    assert isinstance(err, ReplyCutOff) and not isinstance(err, ConnectFailed)
    assert err.retryable and err.received_bytes > 0
    assert err.exchange.response_status == 200
    assert "started its reply (HTTP 200) but it stopped after" in err.message
    assert "could not" not in err.message and "refused" not in err.message


@pytest.mark.parametrize("version", ["4.44.1", "6.31.0"])
def test_event_stream_cut_mid_answer_is_a_reply_cut_off(fault_server, version):
    fault_server.version, fault_server.generator, fault_server.mode = version, True, "cut-stream"
    partials = []
    started = time.monotonic()
    with pytest.raises(ReplyCutOff) as info:
        Client(ep(fault_server.base_url, stream=True)).generate(Q, on_partial=partials.append)
    assert time.monotonic() - started < 2
    err = info.value
    assert partials, "the answer had begun streaming before the cut"
    assert err.retryable and err.exchange.response_status == 200
    assert "started its reply (HTTP 200) but it stopped after" in err.message


def test_500_with_null_error(fault_server):
    fault_server.mode = "500-null"
    err = fails(Client(ep(fault_server.base_url)), within=2)
    assert isinstance(err, ServerReportedError) and err.retryable and not err.server_message


def test_500_with_gr_error_message(fault_server):
    fault_server.mode = "500-message"
    err = fails(Client(ep(fault_server.base_url)), within=2)
    assert isinstance(err, ServerReportedError) and not err.retryable
    assert err.server_message == "CUDA out of memory"


def test_429_honours_retry_after(fault_server):
    fault_server.mode = "429"
    err = fails(Client(ep(fault_server.base_url)), within=2)
    assert isinstance(err, HTTPStatusError) and err.status == 429 and err.retryable
    assert err.retry_after == 7.0


def test_malformed_json(fault_server):
    fault_server.mode = "malformed"
    err = fails(Client(ep(fault_server.base_url)), within=2)
    assert isinstance(err, MalformedReply) and not err.retryable


def test_empty_data_list(fault_server):
    fault_server.mode = "empty-data"
    err = fails(Client(ep(fault_server.base_url)), within=2)
    assert isinstance(err, MalformedReply) and not err.retryable


def test_empty_text(fault_server):
    fault_server.mode = "empty-text"
    err = fails(Client(ep(fault_server.base_url)), within=2)
    assert isinstance(err, EmptyReply) and err.retryable


def test_body_over_the_cap_stops_reading(fault_server):
    fault_server.mode = "huge"
    fault_server.huge_bytes = 50_000_000
    err = fails(Client(ep(fault_server.base_url, max_reply_bytes=100_000)), within=3)
    assert isinstance(err, ReplyTooLarge) and not err.retryable
    assert 100_000 < err.exchange.response_size < 1_000_000


def test_event_stream_of_only_heartbeats_ends_at_the_deadline(fault_server):
    fault_server.mode = "heartbeats"
    err = fails(Client(ep(fault_server.base_url, stream=True, deadline=1.5)), within=3)
    assert isinstance(err, TimedOut) and err.phase == "deadline" and err.retryable
    assert "heartbeat" in err.exchange.response_body


def test_unknown_event_id(fault_server):
    fault_server.mode = "unknown-event"
    err = fails(Client(ep(fault_server.base_url, stream=True)), within=2)
    assert isinstance(err, ServerReportedError) and err.retryable
    assert "lost track of the call" in err.message


def test_error_event_without_message_is_retryable(fault_server):
    fault_server.mode = "500-null"
    err = fails(Client(ep(fault_server.base_url, stream=True)), within=2)
    assert isinstance(err, ServerReportedError) and err.retryable


def test_error_event_with_message(fault_server):
    fault_server.mode = "500-message"
    err = fails(Client(ep(fault_server.base_url, stream=True)), within=2)
    assert isinstance(err, ServerReportedError) and not err.retryable
    assert err.server_message == "CUDA out of memory"


def test_closed_one_shot_route_falls_back_to_call(fault_server):
    fault_server.mode = "closed"
    client = Client(ep(fault_server.base_url, stream=False))
    result = client.generate(Q)
    assert result.exchange.route == "call-stream" and r"\boxed{5}" in result.text
    # Later calls go straight to /call.
    result = client.generate(Q)
    posts = [p for m, p, _ in fault_server.requests if m == "POST"]
    assert posts[-1].endswith("/call/predict") and posts[-2].endswith("/call/predict")
