"""Gradio 3.x and 4.x reply shapes (from the protocol notes), served by the fault server."""

from __future__ import annotations

import pytest

from questionbank.webui import Client, Endpoint, GenerationRequest, HTTPStatusError

Q = GenerationRequest(user_input="What is 2+3?", temperature=1.0)


def ep(url: str, **kw) -> Endpoint:
    kw.setdefault("read_timeout", 5.0)
    return Endpoint(name="old", protocol="gradio", base_url=url, **kw)


def test_gradio_3_uses_one_shot_and_config_defaults(fault_server):
    fault_server.version = "3.50.2"
    client = Client(ep(fault_server.base_url))  # stream=True, but 3.x has no /call
    d = client.discover()
    assert d.version == "3.50.2" and d.api_prefix == "" and not d.call_route
    assert d.parameters[0].name == "" and d.parameters[0].label == "System Prompt"
    assert [p.default for p in d.parameters] == ["", "", 0.6, 0.95, 16384, 1.0, True]
    assert d.layout["user_input"] == 1 and d.layout["streaming"] == 6
    result = client.generate(Q)
    assert result.exchange.route == "oneshot" and r"\boxed{5}" in result.text
    method, path, body = fault_server.requests[-1]
    assert (method, path) == ("POST", "/api/predict/")
    assert body["data"] == ["", "What is 2+3?", 1.0, 0.95, 16384, 1.0, False]


def test_gradio_3_closed_api_cannot_fall_back(fault_server):
    fault_server.version = "3.50.2"
    fault_server.mode = "closed"
    with pytest.raises(HTTPStatusError) as info:
        Client(ep(fault_server.base_url)).generate(Q)
    assert not info.value.retryable and "api_open" in info.value.message


def test_gradio_4_early_uses_one_shot(fault_server):
    fault_server.version = "4.19.2"
    client = Client(ep(fault_server.base_url))
    assert not client.discover().call_route
    assert client.generate(Q).exchange.route == "oneshot"
    assert fault_server.requests[-1][1] == "/api/predict/"


def test_gradio_4_44_uses_call_route_without_prefix(fault_server):
    fault_server.version = "4.44.1"
    client = Client(ep(fault_server.base_url))
    d = client.discover()
    assert d.call_route and d.api_prefix == "" and d.parameters[1].name == "user_input"
    partials = []
    result = client.generate(Q, on_partial=partials.append)
    assert result.exchange.route == "call-stream" and r"\boxed{5}" in result.text
    assert len(partials) == 2 and result.exchange.url.endswith("/call/predict")
    assert "[events: 2 generating, 1 heartbeat, 1 complete]" in result.exchange.response_body


def test_gradio_6_prefix(fault_server):
    client = Client(ep(fault_server.base_url, stream=False))
    assert client.generate(Q).exchange.url.endswith("/gradio_api/api/predict/")
