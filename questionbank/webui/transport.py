"""HTTP plumbing shared by both protocols: pooled sessions, timeouts, the per-call
deadline, capped reading, server-sent events, and translating every low-level failure
into the error tree."""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from .datatypes import EXCHANGE_BODY_LIMIT, Endpoint, Exchange
from .errors import (
    AuthFailed,
    ConnectFailed,
    HTTPStatusError,
    MalformedReply,
    ReplyCutOff,
    ReplyTooLarge,
    TimedOut,
    WebUIError,
)
from .redact import redact_body, redact_headers, scrub

USER_AGENT = "questionbank-webui/1.0"
_READ_SIZE = 65536

_sessions: dict[tuple[str, str], requests.Session] = {}
_sessions_lock = threading.Lock()


def session_for(endpoint: Endpoint) -> requests.Session:
    """The process-wide pooled session for ``endpoint`` (keyed by name and base URL).

    Reusing one session keeps TCP connections alive between calls and keeps a Gradio
    login cookie for every later request, the event stream included.
    """
    key = (endpoint.name, endpoint.base_url)
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            session = new_session()
            _sessions[key] = session
        return session


def new_session() -> requests.Session:
    """A session with a connection pool sized for a worker's threads and no hidden
    retries (we retry ourselves, knowing which failures are worth it)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def forget_sessions() -> None:
    """Close and drop every cached session (tests; after a fork)."""
    with _sessions_lock:
        for session in _sessions.values():
            session.close()
        _sessions.clear()


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())


@dataclass
class Attempt:
    """One call attempt: the deadline, the secrets to scrub, and the exchange being built."""

    endpoint: Endpoint
    session: requests.Session
    clock: Callable[[], float]
    exchange: Exchange
    started: float = 0.0
    deadline_at: float = 0.0
    server_version: str = ""
    _headers_sent: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        endpoint: Endpoint,
        session: requests.Session,
        clock: Callable[[], float],
        route: str,
        server_version: str = "",
    ) -> Attempt:
        now = clock()
        exchange = Exchange(method="", url="", route=route, server_version=server_version)
        return cls(
            endpoint=endpoint,
            session=session,
            clock=clock,
            exchange=exchange,
            started=now,
            deadline_at=now + endpoint.deadline,
            server_version=server_version,
        )

    # -- time -------------------------------------------------------------------------
    def remaining(self) -> float:
        return self.deadline_at - self.clock()

    def check_deadline(self) -> None:
        if self.remaining() <= 0:
            raise self._deadline_error()

    def _deadline_error(self) -> WebUIError:
        return self.fail(
            TimedOut,
            f"The model server at {self.where} did not finish within the "
            f"{self.endpoint.deadline:g} s limit for one call; raise the endpoint's "
            "deadline for long answers or ask for fewer tokens.",
            phase="deadline",
        )

    def timeouts(self) -> tuple[float, float]:
        remaining = self.remaining()
        if remaining <= 0:
            self.check_deadline()
        # Clip the read timeout to the deadline so one blocked read cannot outlive it.
        return (
            min(self.endpoint.connect_timeout, remaining),
            min(self.endpoint.read_timeout, max(remaining, 0.001)),
        )

    @property
    def where(self) -> str:
        return self.endpoint.base_url

    # -- errors -----------------------------------------------------------------------
    def finish(self) -> Exchange:
        self.exchange.latency_s = self.clock() - self.started
        return self.exchange

    def fail(self, cls: type[WebUIError], message: str, **kwargs: Any) -> WebUIError:
        """Build an error with a scrubbed message and the finished exchange attached."""
        return cls(scrub(message, self.endpoint.secrets), exchange=self.finish(), **kwargs)

    # -- requests ---------------------------------------------------------------------
    def record_request(self, method: str, url: str, body: Any, headers: dict[str, str]) -> None:
        self.exchange.method = method
        self.exchange.url = url
        self.exchange.request_body = redact_body(body, self.endpoint.secrets)
        self.exchange.request_headers = redact_headers(headers)

    def record_response(self, resp: requests.Response | None, body: bytes, size: int) -> None:
        if resp is not None:
            self.exchange.response_status = resp.status_code
        text = body[:EXCHANGE_BODY_LIMIT].decode("utf-8", errors="replace")
        self.exchange.response_body = scrub(text, self.endpoint.secrets)
        self.exchange.response_size = size

    def send(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        record: bool = True,
    ) -> requests.Response:
        """Send a request (body not yet read). Connection-level failures become errors."""
        self.check_deadline()
        headers = dict(headers or {})
        if self.endpoint.api_key:
            headers["Authorization"] = f"Bearer {self.endpoint.api_key}"
        if record:
            shown = dict(self.session.headers)
            shown.update(headers)
            if json_body is not None:
                shown["Content-Type"] = "application/json"
            self.record_request(method, url, json_body if form is None else "[form]", shown)
        try:
            return self.session.request(
                method,
                url,
                json=json_body,
                data=form,
                headers=headers,
                timeout=self.timeouts(),
                stream=True,
                allow_redirects=False,
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise self.fail(
                TimedOut,
                f"The model server at {self.where} did not accept a connection within "
                f"{self.endpoint.connect_timeout:g} s: is the machine on and reachable?",
                phase="connect",
            ) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise self._read_timeout() from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            raise self.fail(
                ConnectFailed,
                f"The model server address {self.where!r} is not a valid URL; fix the endpoint.",
                retryable=False,
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            raise self._connection_error(exc) from exc
        except requests.exceptions.RequestException as exc:
            raise self.fail(
                ConnectFailed, f"Talking to the model server at {self.where} failed: {exc}"
            ) from exc

    def _read_timeout(self) -> WebUIError:
        # The read timeout is clipped to the deadline, so a timeout at the deadline is one.
        if self.remaining() <= 0.01:
            return self._deadline_error()
        return self.fail(
            TimedOut,
            f"The model server at {self.where} went silent for more than "
            f"{self.endpoint.read_timeout:g} s; it may be overloaded or stuck. Try again later.",
            phase="read",
        )

    def _connection_error(self, exc: BaseException) -> WebUIError:
        text = str(exc).lower()
        if "refused" in text:
            msg = (f"The model server at {self.where} refused the connection: "
                   "is the WEBUI running?")
        elif "name or service not known" in text or "nodename nor servname" in text or (
            "getaddrinfo" in text
        ):
            msg = f"The model server's host name in {self.where} cannot be resolved; check the URL."
        elif "timed out" in text:
            return self._read_timeout()
        else:
            msg = (f"The connection to the model server at {self.where} broke "
                   "before the reply was complete; try again.")
        return self.fail(ConnectFailed, msg)

    # -- bodies -----------------------------------------------------------------------
    def iter_raw(self, resp: requests.Response) -> Iterator[bytes]:
        """Yield body chunks as they arrive, enforcing the deadline between reads and
        translating read-side failures. The socket read timeout bounds each silence.

        A break here comes after the server sent its status line and headers, so it is a
        reply cut off (:class:`ReplyCutOff`), never a failure to connect."""
        raw = resp.raw
        reader = getattr(raw, "read1", None)
        received = 0
        try:
            if reader is not None:
                while True:
                    self.check_deadline()
                    chunk = reader(_READ_SIZE, decode_content=True)
                    if not chunk:
                        return
                    received += len(chunk)
                    yield chunk
            else:  # pragma: no cover - urllib3 < 2
                for chunk in raw.stream(_READ_SIZE, decode_content=True):
                    self.check_deadline()
                    received += len(chunk)
                    yield chunk
        except (TimeoutError, urllib3.exceptions.ReadTimeoutError) as exc:
            raise self._read_timeout() from exc
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError,
                ConnectionError, OSError) as exc:
            if "timed out" in str(exc).lower():
                raise self._read_timeout() from exc
            raise self.cut_off(resp.status_code, received) from exc

    def cut_off(self, status: int, received: int, what: str = "reply") -> WebUIError:
        """The error for a reply that began (``status`` received) and then stopped."""
        got = f"after {received:,} bytes" if received else "before any of the body"
        return self.fail(
            ReplyCutOff,
            f"The model server at {self.where} started its {what} (HTTP {status}) but it "
            f"stopped {got}, before the answer was complete: the server may have been "
            "restarted or run out of memory. If this repeats, check the model server.",
            received_bytes=received,
        )

    def read_body(self, resp: requests.Response) -> bytes:
        """The whole body, or :class:`ReplyTooLarge` as soon as it passes the cap."""
        cap = self.endpoint.max_reply_bytes
        buf = bytearray()
        try:
            for chunk in self.iter_raw(resp):
                buf += chunk
                if len(buf) > cap:
                    self.record_response(resp, bytes(buf), len(buf))
                    raise self.fail(
                        ReplyTooLarge,
                        f"The model server at {self.where} sent more than {cap:,} bytes; "
                        "stopped reading. Ask for fewer tokens or raise the endpoint's limit.",
                    )
        except WebUIError as err:
            if err.exchange is not None and not err.exchange.response_size:
                self.record_response(resp, bytes(buf), len(buf))
            raise
        finally:
            resp.close()
        self.record_response(resp, bytes(buf), len(buf))
        return bytes(buf)

    def read_json(self, resp: requests.Response) -> Any:
        body = self.read_body(resp)
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            snippet = body[:120].decode("utf-8", errors="replace").replace("\n", " ")
            raise self.fail(
                MalformedReply,
                f"The model server at {self.where} sent a reply that is not JSON "
                f"(HTTP {resp.status_code}, starts {snippet!r}); is the URL right?",
            ) from exc

    def iter_sse(self, resp: requests.Response) -> Iterator[tuple[str, str]]:
        """Yield ``(event, data)`` for each server-sent event block, ``event`` defaulting
        to ``"message"``. One event's data above the reply cap raises ReplyTooLarge; the
        stream as a whole may be larger (Gradio repeats the full text in every event)."""
        cap = self.endpoint.max_reply_bytes
        pending = b""
        event, data_lines = "message", []
        for chunk in self.iter_raw(resp):
            pending += chunk
            if len(pending) > cap + 1024:
                raise self.fail(
                    ReplyTooLarge,
                    f"The model server at {self.where} sent an event larger than {cap:,} bytes; "
                    "stopped reading. Ask for fewer tokens or raise the endpoint's limit.",
                )
            *lines, pending = pending.split(b"\n")
            for raw_line in lines:
                line = raw_line.rstrip(b"\r").decode("utf-8", errors="replace")
                if not line:
                    if data_lines:
                        yield event, "\n".join(data_lines)
                    event, data_lines = "message", []
                elif line.startswith(":"):
                    continue  # SSE comment, used as a keep-alive by some servers
                else:
                    key, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if key == "event":
                        event = value
                    elif key == "data":
                        data_lines.append(value)
        tail = pending.decode("utf-8", errors="replace").strip()
        if tail.startswith("data:"):
            data_lines.append(tail[5:].strip())
        if data_lines:
            yield event, "\n".join(data_lines)

    # -- statuses ---------------------------------------------------------------------
    def status_error(self, resp: requests.Response, detail: str = "") -> WebUIError:
        """The error for an unexpected HTTP status (body already read into the exchange)."""
        status = resp.status_code
        detail = f": {detail}" if detail else ""
        if status in (401, 403):
            return self.fail(
                AuthFailed,
                f"The model server at {self.where} refused our credentials (HTTP {status})"
                f"{detail}; check the endpoint's username, password or API key.",
                status=status,
            )
        if status == 429:
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            wait = f"; it asks us to wait {retry_after:g} s" if retry_after is not None else ""
            return self.fail(
                HTTPStatusError,
                f"The model server at {self.where} is busy (HTTP 429){wait}{detail}.",
                status=status,
                retry_after=retry_after,
            )
        if status >= 500:
            return self.fail(
                HTTPStatusError,
                f"The model server at {self.where} failed with HTTP {status}{detail}; "
                "it may be overloaded or restarting. Try again later.",
                status=status,
                retry_after=parse_retry_after(resp.headers.get("Retry-After")),
            )
        if status == 404:
            return self.fail(
                HTTPStatusError,
                f"The model server at {self.where} has no {self.exchange.url or 'such'} route "
                f"(HTTP 404){detail}; check the URL, protocol and endpoint name.",
                status=status,
            )
        return self.fail(
            HTTPStatusError,
            f"The model server at {self.where} rejected the request with HTTP {status}"
            f"{detail}; check the endpoint's settings.",
            status=status,
        )
