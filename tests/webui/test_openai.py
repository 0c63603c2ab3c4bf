"""The client against the OpenAI-compatible test server."""

from __future__ import annotations

import pytest

from questionbank.webui import (
    AuthFailed,
    Client,
    EmptyReply,
    Endpoint,
    GenerationRequest,
    HTTPStatusError,
    ServerReportedError,
    TruncatedOutput,
)
from tests.servers.openai_server import MODEL, start_server

KEY = "sk-test-SECRET-123"


def ep(url: str, **kw) -> Endpoint:
    kw.setdefault("api_key", KEY)
    kw.setdefault("read_timeout", 10.0)
    return Endpoint(name="vllm", protocol="openai", base_url=url, **kw)


def test_discovery_lists_models(openai_server):
    _, url = openai_server
    d = Client(ep(url)).discover()
    assert d.models == [MODEL] and d.model == MODEL
    assert d.layout["max_new_tokens"] == "max_tokens"


@pytest.mark.parametrize("stream", [False, True])
def test_chat_completion_with_usage(openai_server, stream):
    server, url = openai_server
    partials: list[str] = []
    result = Client(ep(url, stream=stream)).generate(
        GenerationRequest(user_input="What is 2+3?", repetition_penalty=1.1),
        on_partial=partials.append,
    )
    assert result.text.endswith(r"$\boxed{5}$.")
    assert result.finish_reason == "stop" and not result.truncated
    assert result.prompt_tokens == 3 and result.completion_tokens > 10
    assert result.exchange.route == ("openai-stream" if stream else "openai")
    body = server.requests[-1]
    assert body["model"] == MODEL and body["stream"] is stream
    assert body["messages"] == [{"role": "user", "content": "What is 2+3?"}]  # no system
    assert body["repetition_penalty"] == 1.1 and body["max_tokens"] == 16384
    assert ("stream_options" in body) is stream
    assert partials[-1] == result.text
    if stream:
        assert len(partials) > 3


def test_system_prompt_and_llamacpp_penalty_name(openai_server):
    server, url = openai_server
    Client(ep(url, penalty_style="repeat_penalty", stream=False)).generate(
        GenerationRequest(system_prompt="Be brief.", user_input="What is 1+1?"))
    body = server.requests[-1]
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["repeat_penalty"] == 1.0 and "repetition_penalty" not in body


def test_ollama_style_sends_no_penalty(openai_server):
    server, url = openai_server
    Client(ep(url, penalty_style="none", stream=False)).generate(
        GenerationRequest(user_input="What is 1+1?"))
    assert not {"repeat_penalty", "repetition_penalty"} & set(server.requests[-1])


@pytest.mark.parametrize("stream", [False, True])
def test_length_is_truncated_output_with_partial_text(openai_server, stream):
    _, url = openai_server
    with pytest.raises(TruncatedOutput) as info:
        Client(ep(url, stream=stream)).generate(
            GenerationRequest(user_input="What is 2+3? [[openai:length]]", max_new_tokens=50))
    err = info.value
    assert not err.retryable and err.partial_text.startswith("<think>")
    assert err.result.truncated and err.result.finish_reason == "length"
    assert err.exchange is err.result.exchange


@pytest.mark.parametrize(("marker", "text"), [("error", "maximum context length"),
                                              ("flat-error", "flat error")])
def test_error_bodies(openai_server, marker, text):
    _, url = openai_server
    with pytest.raises(ServerReportedError) as info:
        Client(ep(url)).generate(GenerationRequest(user_input=f"x [[openai:{marker}]]"))
    assert text in info.value.server_message and not info.value.retryable
    assert info.value.exchange.response_status == 400


def test_server_500_is_retryable(openai_server):
    _, url = openai_server
    with pytest.raises(HTTPStatusError) as info:
        Client(ep(url)).generate(GenerationRequest(user_input="x [[openai:500]]"))
    assert info.value.status == 500 and info.value.retryable
    assert "engine crashed" in info.value.message


def test_empty_content_is_empty_reply(openai_server):
    _, url = openai_server
    with pytest.raises(EmptyReply):
        Client(ep(url, stream=False)).generate(GenerationRequest(user_input="[[openai:empty]]"))


def test_wrong_api_key(openai_server):
    _, url = openai_server
    with pytest.raises(AuthFailed) as info:
        Client(ep(url, api_key="sk-wrong-key-999")).discover()
    assert not info.value.retryable
    assert "sk-wrong-key-999" not in repr(info.value.exchange)
    assert info.value.exchange.request_headers["Authorization"] == "[redacted]"


def test_concurrency_limit_queues_extra_calls():
    import threading

    server, url = start_server(delay=0.2, concurrency=2)
    try:
        client = Client(Endpoint(name="bench", protocol="openai", base_url=url, stream=False))
        threads = [threading.Thread(target=client.generate,
                                    args=(GenerationRequest(user_input="What is 1+1?"),))
                   for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert server.stats["calls"] == 5 and server.stats["max_in_flight"] == 2
    finally:
        server.stop()
