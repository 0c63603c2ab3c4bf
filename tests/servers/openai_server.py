"""A small OpenAI-compatible chat server for tests and benchmarks (stdlib only).

``start_server(delay=0.0, concurrency=None) -> (server, base_url)`` runs it in a daemon
thread on a free loopback port; ``server.stop()`` shuts it down. Each chat completion
takes ``delay`` seconds of "service time"; with ``concurrency=C`` only C run at once and
the rest queue (a semaphore), like a server with C slots. ``server.stats`` records
``calls``, ``in_flight`` and ``max_in_flight``; ``server.requests`` keeps every request
body received.

Answers come from the Gradio stand-in's composer (same deterministic text). Markers in
the user message trigger behaviour per call: ``[[openai:length]]`` (finish_reason
"length"), ``[[openai:error]]`` (400 with ``{"error": {...}}``), ``[[openai:flat-error]]``
(400 with vLLM's old flat ``{"object": "error", ...}``), ``[[openai:500]]``,
``[[openai:empty]]`` (empty content), ``[[openai:delay=S]]``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from questionbank.webui.standin import compose_answer

MODEL = "WeiboAI/VibeThinker-1.5B"
_MARK = re.compile(r"\[\[openai:([a-z0-9-]+)(?:=([^\]]*))?\]\]")


class OpenAIServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, delay: float, concurrency: int | None, api_key: str,
                 chunks: int):
        super().__init__(addr, Handler)
        self.delay = delay
        self.slots = threading.Semaphore(concurrency) if concurrency else None
        self.api_key = api_key
        self.chunks = chunks
        self.lock = threading.Lock()
        self.stats = {"calls": 0, "in_flight": 0, "max_in_flight": 0}
        self.requests: list[dict[str, Any]] = []
        self.thread: threading.Thread | None = None

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Real servers (uvicorn) set TCP_NODELAY; without it keep-alive calls stall on
    # Nagle + delayed ACK (40 ms) because headers and body go out in separate writes.
    disable_nagle_algorithm = True
    server: OpenAIServer

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        if not self.server.api_key:
            return True
        if self.headers.get("Authorization") == f"Bearer {self.server.api_key}":
            return True
        self._json(401, {"error": {"message": "Invalid API key", "type": "auth", "code": 401}})
        return False

    def do_GET(self) -> None:
        if not self._authorised():
            return
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "Not found", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self._authorised():
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": "Not found", "type": "not_found"}})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._json(400, {"error": {"message": "invalid JSON", "type": "invalid_request"}})
            return
        srv = self.server
        with srv.lock:
            srv.requests.append(body)
        if srv.slots is not None:
            srv.slots.acquire()
        with srv.lock:
            srv.stats["calls"] += 1
            srv.stats["in_flight"] += 1
            srv.stats["max_in_flight"] = max(srv.stats["max_in_flight"], srv.stats["in_flight"])
        try:
            self._complete(body)
        finally:
            with srv.lock:
                srv.stats["in_flight"] -= 1
            if srv.slots is not None:
                srv.slots.release()

    def _complete(self, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        system = next((m["content"] for m in messages if m.get("role") == "system"), "")
        marks = {k: v for k, v in _MARK.findall(user)}
        delay = float(marks["delay"]) if marks.get("delay") else self.server.delay
        if "error" in marks:
            self._json(400, {"error": {"message": "This model's maximum context length is "
                                       "4096 tokens", "type": "BadRequestError", "code": 400}})
            return
        if "flat-error" in marks:
            self._json(400, {"object": "error", "message": "flat error: bad request",
                             "type": "BadRequestError", "code": 400})
            return
        if "500" in marks:
            self._json(500, {"error": {"message": "engine crashed", "type": "InternalError"}})
            return
        text = "" if "empty" in marks else compose_answer(system, _MARK.sub("", user))
        finish = "stop"
        if "length" in marks:
            text, finish = text[: len(text) // 2], "length"
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split()),
                 "total_tokens": prompt_tokens + len(text.split())}
        model = body.get("model") or MODEL
        if not body.get("stream"):
            time.sleep(delay)
            self._json(200, {
                "id": "chatcmpl-test", "object": "chat.completion", "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": finish}],
                "usage": usage,
            })
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        n = max(1, self.server.chunks)
        step = -(-len(text) // n) if text else 1
        pieces = [text[i:i + step] for i in range(0, len(text), step)] or [""]
        for i, piece in enumerate(pieces):
            time.sleep(delay / len(pieces))
            chunk = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": model,
                     "choices": [{"index": 0, "delta": {"content": piece},
                                  "finish_reason": finish if i == len(pieces) - 1 else None}]}
            self._event(json.dumps(chunk))
        if (body.get("stream_options") or {}).get("include_usage"):
            self._event(json.dumps({"id": "chatcmpl-test", "object": "chat.completion.chunk",
                                    "choices": [], "usage": usage}))
        self._event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")

    def _event(self, data: str) -> None:
        payload = f"data: {data}\n\n".encode()
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()


def start_server(
    delay: float = 0.0,
    concurrency: int | None = None,
    *,
    api_key: str = "",
    chunks: int = 8,
    host: str = "127.0.0.1",
    port: int = 0,
) -> tuple[OpenAIServer, str]:
    """Start the server in a daemon thread; returns ``(server, base_url)``."""
    server = OpenAIServer((host, port), delay, concurrency, api_key, chunks)
    thread = threading.Thread(target=server.serve_forever, name="openai-test-server",
                              daemon=True)
    thread.start()
    server.thread = thread
    return server, f"http://{host}:{server.server_address[1]}"
