"""A fake Gradio server that misbehaves on demand, plus sockets that cannot connect.

:class:`FaultServer` serves canned ``/config`` and ``/info`` documents shaped like Gradio
3.50.2, 4.44.1 or 6.31.0 (from docs/webui-protocol.md) and answers the call routes
according to ``server.mode``:

``ok``             a normal answer (one-shot reply or event stream) in that version's shape
``read-timeout``   accept, then never answer (until the server stops)
``reset``          send part of the body, then reset the connection (RST)
``cut-stream``     the event stream sends two ``generating`` events, then resets (RST):
                   a reply cut off mid-answer after HTTP 200
``500-null``       HTTP 500 ``{"error": null}``
``500-message``    HTTP 500 ``{"error": "CUDA out of memory"}`` (a gr.Error)
``429``            HTTP 429 with ``Retry-After: 7``
``malformed``      HTTP 200 with a body that is not JSON
``empty-data``     HTTP 200 ``{"data": []}``
``empty-text``     HTTP 200 ``{"data": [""]}``
``huge``           HTTP 200 with a body of ``server.huge_bytes`` bytes, sent as it is made
``heartbeats``     the event stream sends only heartbeats, forever
``unknown-event``  the event stream answers HTTP 200 with ``event: error`` (unknown id)
``closed``         the one-shot route answers 404 "does not accept direct HTTP POST"

``refused_port()`` gives a loopback port nobody listens on; ``BacklogFull`` a port whose
accept backlog is full, so a new connection waits for the connect timeout.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LABELS = ["System Prompt", "User Input", "Temperature", "Top-p", "Max New Tokens",
          "Repetition Penalty", "Streaming"]
NAMES = ["system_prompt", "user_input", "temperature", "top_p", "max_new_tokens",
         "repetition_penalty", "streaming"]
DEFAULTS = ["", "", 0.6, 0.95, 16384, 1.0, True]
COMPONENTS = ["textbox", "textbox", "slider", "slider", "slider", "slider", "checkbox"]
ANSWER = "<think>canned</think>\n\nThe answer is $\\boxed{5}$."


def gradio_config(version: str, *, generator: bool = False, api_name: str = "predict"
                  ) -> dict[str, Any]:
    """A /config document in the shape of ``version``."""
    components = [
        {"id": i + 1, "type": COMPONENTS[i], "props": {"label": LABELS[i], "value": DEFAULTS[i]}}
        for i in range(7)
    ]
    components.append({"id": 8, "type": "textbox", "props": {"label": "Output", "value": ""}})
    dep: dict[str, Any] = {"targets": [9], "inputs": list(range(1, 8)), "outputs": [8],
                           "api_name": api_name,
                           "types": {"continuous": False, "generator": generator}}
    config: dict[str, Any] = {"version": version, "mode": "blocks", "components": components,
                              "dependencies": [dep]}
    if version.startswith(("4.", "5.", "6.")):
        dep["id"] = 0
    if version.startswith(("5.", "6.")):
        config["api_prefix"] = "/gradio_api"
    return config


def gradio_info(version: str, *, api_name: str = "predict") -> dict[str, Any]:
    """An /info document in the shape of ``version`` (3.x: no parameter_name/defaults)."""
    params = []
    for i in range(7):
        p: dict[str, Any] = {"label": LABELS[i], "type": {"type": "string"},
                             "component": COMPONENTS[i].capitalize()}
        if not version.startswith("3."):
            p.update(parameter_name=NAMES[i], parameter_has_default=True,
                     parameter_default=DEFAULTS[i])
        params.append(p)
    return {"named_endpoints": {f"/{api_name}": {"parameters": params, "returns": []}},
            "unnamed_endpoints": {}}


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr=("127.0.0.1", 0), version: str = "6.31.0"):
        super().__init__(addr, FaultHandler)
        self.version = version
        self.mode = "ok"
        self.generator = False
        self.huge_bytes = 200_000
        self.heartbeat_every = 0.1
        self.stopping = threading.Event()
        self.requests: list[tuple[str, str, Any]] = []

    @property
    def prefix(self) -> str:
        return "/gradio_api" if self.version.startswith(("5.", "6.")) else ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


class FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Real servers (uvicorn) set TCP_NODELAY; without it keep-alive calls stall on
    # Nagle + delayed ACK (40 ms) because headers and body go out in separate writes.
    disable_nagle_algorithm = True
    server: FaultServer

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes | str | Any, ctype: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        if not isinstance(body, bytes | str):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("utf-8", "replace")

    def do_GET(self) -> None:
        srv, path = self.server, self.path.split("?")[0]
        srv.requests.append(("GET", path, None))
        if path.rstrip("/") == "/config":
            self._send(200, gradio_config(srv.version, generator=srv.generator))
        elif path.rstrip("/") == f"{srv.prefix}/info":
            self._send(200, gradio_info(srv.version))
        elif path.startswith(f"{srv.prefix}/call/predict/") and self._has_call_route():
            self._event_stream()
        else:
            self._send(404, {"detail": "Not Found"})

    def _has_call_route(self) -> bool:
        major, minor = (int(x) for x in self.server.version.split(".")[:2])
        return (major, minor) >= (4, 20)

    def do_POST(self) -> None:
        srv, path = self.server, self.path.split("?")[0]
        body = self._body()
        srv.requests.append(("POST", path, body))
        if path.rstrip("/") in (f"{srv.prefix}/api/predict", f"{srv.prefix}/run/predict"):
            self._oneshot()
        elif path.rstrip("/") == f"{srv.prefix}/call/predict" and self._has_call_route():
            self._send(200, {"event_id": "abc123"})
        elif path.rstrip("/") == "/login":
            self._send(200, {"success": True})
        else:
            self._send(404, {"detail": "Not Found"})

    def _oneshot(self) -> None:
        mode = self.server.mode
        if mode == "read-timeout":
            self.server.stopping.wait(60)
            return
        if mode == "reset":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"data": ["partial')
            self.wfile.flush()
            self._reset()
            return
        if mode == "500-null":
            self._send(500, {"error": None})
        elif mode == "500-message":
            self._send(500, {"error": "CUDA out of memory", "duration": None,
                             "visible": True, "title": "Error"})
        elif mode == "429":
            self._send(429, {"detail": "Too many requests"}, headers={"Retry-After": "7"})
        elif mode == "malformed":
            self._send(200, b"<html>not json{", ctype="text/html")
        elif mode == "empty-data":
            self._send(200, {"data": [], "is_generating": False})
        elif mode == "empty-text":
            self._send(200, {"data": [""], "is_generating": False})
        elif mode == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            sent, piece = 0, b"x" * 16384
            try:
                self._chunk(b'{"data": ["')
                while sent < self.server.huge_bytes:
                    self._chunk(piece)
                    sent += len(piece)
                self._chunk(b'"]}')
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass  # the client stopped reading, as it should
        elif mode == "closed":
            self._send(404, {"detail": "This API endpoint does not accept direct HTTP POST "
                                       "requests. Please join the queue to use this API."})
        else:
            reply: dict[str, Any] = {"data": [ANSWER], "is_generating": False,
                                     "duration": 0.01}
            if self.server.version.startswith("3."):
                reply["average_duration"] = 0.01
            self._send(200, reply)

    def _reset(self) -> None:
        # SO_LINGER 0 turns close() into a reset (RST) instead of an orderly FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event_stream(self) -> None:
        srv = self.server
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if srv.mode == "heartbeats":
                while not srv.stopping.is_set():
                    self._chunk(b"event: heartbeat\ndata: null\n\n")
                    time.sleep(srv.heartbeat_every)
                return
            if srv.mode == "cut-stream":
                for i in (10, 20):
                    self._chunk(f"event: generating\ndata: {json.dumps([ANSWER[:i]])}\n\n"
                                .encode())
                self._reset()
                return
            if srv.mode == "unknown-event":
                self._chunk(b'event: error\ndata: "Session not found."\n\n')
            elif srv.mode == "500-null":
                self._chunk(b"event: error\ndata: null\n\n")
            elif srv.mode == "500-message":
                self._chunk(b'event: error\ndata: {"error": "CUDA out of memory"}\n\n')
            else:
                for i in (10, 20):
                    self._chunk(f"event: generating\ndata: {json.dumps([ANSWER[:i]])}\n\n"
                                .encode())
                self._chunk(b"event: heartbeat\ndata: null\n\n")
                self._chunk(f"event: complete\ndata: {json.dumps([ANSWER])}\n\n".encode())
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass


def start_fault_server(version: str = "6.31.0") -> FaultServer:
    """Start a :class:`FaultServer` on a free loopback port in a daemon thread."""
    server = FaultServer(version=version)
    threading.Thread(target=server.serve_forever, name="fault-server", daemon=True).start()
    return server


def refused_port() -> int:
    """A loopback port with nobody listening (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BacklogFull:
    """A listening socket that never accepts, its backlog filled: on Linux the kernel then
    drops new SYNs, so a connect() waits until the client's connect timeout."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers: list[socket.socket] = []
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", self.port))
            self.fillers.append(s)
        time.sleep(0.2)

    def close(self) -> None:
        for s in self.fillers:
            s.close()
        self.listener.close()
