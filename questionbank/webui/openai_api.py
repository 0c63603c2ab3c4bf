"""OpenAI-compatible chat completions (vLLM, SGLang, llama.cpp, Ollama)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .datatypes import Discovery, GenerationRequest
from .errors import (
    EmptyReply,
    MalformedReply,
    ReplyTooLarge,
    ServerReportedError,
    WebUIError,
)
from .transport import Attempt


@dataclass
class Completion:
    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None


def discover(attempt: Attempt) -> Discovery:
    """GET {base}/v1/models; choose Endpoint.model or the first model listed."""
    endpoint = attempt.endpoint
    resp = attempt.send("GET", f"{endpoint.base_url}/v1/models")
    if resp.status_code != 200:
        attempt.read_body(resp)
        raise _error_from_body(attempt, resp)
    payload = attempt.read_json(resp)
    models = []
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        models = [str(m.get("id")) for m in payload["data"] if isinstance(m, dict) and m.get("id")]
    elif isinstance(payload, dict) and isinstance(payload.get("models"), list):  # Ollama /api
        models = [str(m.get("name")) for m in payload["models"] if isinstance(m, dict)]
    model = endpoint.model or (models[0] if models else "")
    if not model:
        raise attempt.fail(
            MalformedReply,
            f"The model server at {endpoint.base_url} lists no models; set the endpoint's model.",
        )
    layout: dict[str, int | str] = {
        "system_prompt": "messages[system]",
        "user_input": "messages[user]",
        "temperature": "temperature",
        "top_p": "top_p",
        "max_new_tokens": "max_tokens",
        "streaming": "stream",
    }
    if endpoint.penalty_style != "none":
        layout["repetition_penalty"] = endpoint.penalty_style
    return Discovery(
        protocol="openai", streaming=True, call_route=False, models=models, model=model,
        layout=layout, api_name="/v1/chat/completions",
    )


def build_body(discovery: Discovery, request: GenerationRequest, stream: bool,
               penalty_style: str) -> dict[str, Any]:
    messages = []
    # VibeThinker's card sends no system prompt; an empty one would override the
    # template's default, so only send it when there is one.
    if request.system_prompt:
        messages.append({"role": "system", "content": request.system_prompt})
    messages.append({"role": "user", "content": request.user_input})
    body: dict[str, Any] = {
        "model": discovery.model,
        "messages": messages,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_tokens": request.max_new_tokens,
        "stream": stream,
    }
    if penalty_style != "none":
        body[penalty_style] = request.repetition_penalty
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def _error_message(payload: Any) -> str:
    if isinstance(payload, dict):
        err = payload.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("type") or "")
        if isinstance(err, str):
            return err
        if payload.get("object") == "error" or "message" in payload:
            return str(payload.get("message") or "")
        if isinstance(payload.get("detail"), str):
            return payload["detail"]
    return ""


def _error_from_body(attempt: Attempt, resp) -> WebUIError:
    try:
        message = _error_message(json.loads(attempt.exchange.response_body))
    except ValueError:
        message = ""
    status = resp.status_code
    if status in (401, 403, 429) or status >= 500 or not message:
        return attempt.status_error(resp, message[:300])
    # A 4xx with a reason: the server refused this request as sent (bad model name,
    # prompt too long...). Same request, same answer.
    return attempt.fail(
        ServerReportedError,
        f"The model server at {attempt.endpoint.base_url} refused the request "
        f"(HTTP {status}): {message[:300]}",
        server_message=message,
        retryable=False,
    )


def _usage(payload: dict) -> tuple[int | None, int | None]:
    usage = payload.get("usage") if isinstance(payload, dict) else None
    if not isinstance(usage, dict):
        return None, None
    return usage.get("prompt_tokens"), usage.get("completion_tokens")


def complete(attempt: Attempt, discovery: Discovery, body: dict[str, Any]) -> Completion:
    """Non-streaming chat completion."""
    resp = attempt.send("POST", f"{attempt.endpoint.base_url}/v1/chat/completions", json_body=body)
    if resp.status_code != 200:
        attempt.read_body(resp)
        raise _error_from_body(attempt, resp)
    payload = attempt.read_json(resp)
    message = _error_message(payload) if isinstance(payload, dict) and "choices" not in payload \
        else ""
    if message:
        raise attempt.fail(
            ServerReportedError,
            f"The model server at {attempt.endpoint.base_url} reported an error: {message}",
            server_message=message,
        )
    try:
        choice = payload["choices"][0]
        text = choice["message"].get("content") or ""
        finish = choice.get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise attempt.fail(
            MalformedReply,
            f"The model server at {attempt.endpoint.base_url} sent a reply without choices.",
        ) from exc
    prompt_tokens, completion_tokens = _usage(payload)
    return Completion(text, finish, prompt_tokens, completion_tokens)


def complete_stream(
    attempt: Attempt,
    discovery: Discovery,
    body: dict[str, Any],
    on_partial: Callable[[str], None] | None,
) -> Completion:
    """Streaming chat completion: accumulate ``delta.content`` until ``[DONE]``."""
    base = attempt.endpoint.base_url
    resp = attempt.send(
        "POST", f"{base}/v1/chat/completions", json_body=body,
        headers={"Accept": "text/event-stream"},
    )
    if resp.status_code != 200:
        attempt.read_body(resp)
        raise _error_from_body(attempt, resp)
    attempt.exchange.response_status = resp.status_code
    parts: list[str] = []
    total = 0
    finish: str | None = None
    prompt_tokens = completion_tokens = None
    size = 0
    chunks = 0
    last = ""
    try:
        for _kind, raw in attempt.iter_sse(resp):
            size += len(raw) + 8
            if raw.strip() == "[DONE]":
                text = "".join(parts)
                attempt.record_response(None, _transcript(chunks, last, text).encode(), size)
                return Completion(text, finish, prompt_tokens, completion_tokens)
            chunks += 1
            last = raw
            try:
                payload = json.loads(raw)
            except ValueError as exc:
                raise attempt.fail(MalformedReply, f"The model server at {base} sent an "
                                   "unreadable stream chunk.") from exc
            if not isinstance(payload, dict):
                raise attempt.fail(MalformedReply, f"The model server at {base} sent a stream "
                                   "chunk that is not a JSON object.")
            message = _error_message(payload) if "choices" not in payload else ""
            if message or (isinstance(payload, dict) and "error" in payload):
                attempt.record_response(None, raw.encode(), size)
                raise attempt.fail(
                    ServerReportedError,
                    f"The model server at {base} reported an error: {message or 'unknown'}",
                    server_message=message,
                )
            p, c = _usage(payload)
            prompt_tokens = p if p is not None else prompt_tokens
            completion_tokens = c if c is not None else completion_tokens
            for choice in payload.get("choices") or []:
                delta = (choice.get("delta") or {}).get("content")
                if delta:
                    parts.append(delta)
                    total += len(delta.encode())
                    if total > attempt.endpoint.max_reply_bytes:
                        raise attempt.fail(
                            ReplyTooLarge,
                            f"The model server at {base} sent more than "
                            f"{attempt.endpoint.max_reply_bytes:,} bytes; stopped reading.",
                        )
                    if on_partial is not None:
                        on_partial("".join(parts))
                finish = choice.get("finish_reason") or finish
            attempt.record_response(None, _transcript(chunks, last, "".join(parts)).encode(),
                                    size)
    finally:
        resp.close()
    if parts and finish:
        # Some servers end without [DONE]; a finish_reason is as good.
        return Completion("".join(parts), finish, prompt_tokens, completion_tokens)
    # The stream ended with neither [DONE] nor a finish_reason: closed mid-answer.
    raise attempt.cut_off(resp.status_code, size, "stream")


def _transcript(chunks: int, last: str, text: str) -> str:
    """What the log keeps of a stream: the text assembled, the chunk count, the last chunk."""
    return f"[{chunks} chunks; assembled text follows]\n{text}\n[last chunk]\n{last}"


def check_text(attempt: Attempt, text: str) -> None:
    if not text.strip():
        raise attempt.fail(EmptyReply, f"The model server at {attempt.endpoint.base_url} "
                           "returned an empty answer.")
