"""The client: discover a server once, then generate answers from it."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

import requests

from . import gradio_api, openai_api
from .datatypes import Discovery, Endpoint, GenerationRequest, GenerationResult, Health
from .errors import (
    ConnectFailed,
    HTTPStatusError,
    LayoutError,
    TimedOut,
    TruncatedOutput,
    WebUIError,
)
from .transport import Attempt, session_for

# A health check must answer quickly even when generations are allowed many minutes.
HEALTH_READ_TIMEOUT = 30.0
HEALTH_DEADLINE = 60.0


class Client:
    """Talks to one model server described by an :class:`Endpoint`.

    Thread-safe: one client may serve several worker threads. Discovery is cached on the
    client and refreshed when a call suggests the server changed (404/422, layout).
    """

    def __init__(
        self,
        endpoint: Endpoint,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        self.session = session if session is not None else session_for(endpoint)
        self.clock = clock
        self._discovery: Discovery | None = None
        self._lock = threading.Lock()
        self._oneshot_closed = False

    def __repr__(self) -> str:
        return f"Client({self.endpoint!r})"

    def _attempt(self, route: str, endpoint: Endpoint | None = None) -> Attempt:
        version = self._discovery.version if self._discovery else ""
        return Attempt.start(endpoint or self.endpoint, self.session, self.clock, route, version)

    # -- discovery --------------------------------------------------------------------
    def discover(self, *, refresh: bool = False) -> Discovery:
        """Learn the server's version, routes and parameter layout (cached).

        Gradio: ``GET /config`` and ``GET {prefix}/info``, then choose the endpoint and map
        its parameters. OpenAI: ``GET /v1/models``. Raises a :class:`WebUIError`
        (``LayoutError`` when the question cannot be mapped to any parameter).
        """
        with self._lock:
            if self._discovery is not None and not refresh:
                return self._discovery
        discovery = self._discover_with(self.endpoint)
        with self._lock:
            self._discovery = discovery
        return discovery

    def _discover_with(self, endpoint: Endpoint) -> Discovery:
        attempt = self._attempt("discover", endpoint)
        if endpoint.protocol == "gradio":
            try:
                return gradio_api.discover(attempt)
            except LayoutError as err:
                if err.exchange is None:
                    err.exchange = attempt.finish()
                raise
        return openai_api.discover(attempt)

    def health(self) -> Health:
        """Check the server now (fresh discovery, short timeouts); never raises for
        server trouble. ``reachable`` is false only when no HTTP answer came back."""
        quick = dataclasses.replace(
            self.endpoint,
            read_timeout=min(self.endpoint.read_timeout, HEALTH_READ_TIMEOUT),
            deadline=min(self.endpoint.deadline, HEALTH_DEADLINE),
        )
        started = self.clock()
        try:
            discovery = self._discover_with(quick)
        except WebUIError as err:
            return Health(
                reachable=not isinstance(err, ConnectFailed | TimedOut),
                protocol=self.endpoint.protocol,
                version=err.exchange.server_version if err.exchange else "",
                latency_s=self.clock() - started,
                error=err.message,
            )
        with self._lock:
            self._discovery = discovery
        return Health(
            reachable=True,
            version=discovery.version,
            protocol=discovery.protocol,
            api_name=discovery.api_name,
            layout=discovery.layout_description(),
            latency_s=self.clock() - started,
            streaming=discovery.streaming,
            models=list(discovery.models),
        )

    # -- generation -------------------------------------------------------------------
    def generate(
        self,
        request: GenerationRequest,
        on_partial: Callable[[str], None] | None = None,
    ) -> GenerationResult:
        """Ask the model one question and return its whole answer.

        ``on_partial(text_so_far)`` is called as text arrives on streaming routes (the
        full text so far, not a delta). Raises a :class:`WebUIError`; every error raised
        by the call itself carries the redacted :class:`Exchange` of the attempt.
        ``TruncatedOutput`` carries the partial answer when the token budget ran out.
        """
        discovery = self.discover()
        try:
            if discovery.protocol == "gradio":
                return self._generate_gradio(discovery, request, on_partial)
            return self._generate_openai(discovery, request, on_partial)
        except (LayoutError, HTTPStatusError) as err:
            if isinstance(err, LayoutError) or err.status in (404, 422):
                # The server may have been upgraded or restarted with another form.
                with self._lock:
                    self._discovery = None
            raise

    def _generate_gradio(
        self,
        discovery: Discovery,
        request: GenerationRequest,
        on_partial: Callable[[str], None] | None,
    ) -> GenerationResult:
        want_stream = self.endpoint.stream if request.stream is None else request.stream
        # /call keeps long calls alive with heartbeats and is the only route that streams
        # a generator, so prefer it wherever it exists (4.20+) unless streaming is off.
        use_call = discovery.call_route and (
            want_stream or discovery.streaming or self._oneshot_closed
        )
        values = request.field_values(streaming=bool(want_stream and use_call))
        data = gradio_api.build_data(discovery, values)
        attempt = self._attempt("call-stream" if use_call else "oneshot")
        if use_call:
            text = gradio_api.call_stream(attempt, discovery, data, on_partial)
        else:
            try:
                text = gradio_api.call_oneshot(attempt, discovery, data)
            except gradio_api.RouteClosed:
                if not discovery.call_route:
                    raise attempt.fail(
                        HTTPStatusError,
                        f"The model server at {self.endpoint.base_url} accepts no direct "
                        "calls and is too old for the /call route; enable its API "
                        "(api_open) or upgrade Gradio to 4.20 or later.",
                        status=404,
                        retryable=False,
                    ) from None
                self._oneshot_closed = True
                return self._generate_gradio(discovery, request, on_partial)
            if on_partial is not None:
                on_partial(text)
        exchange = attempt.finish()
        return GenerationResult(
            text=text,
            finish_reason=None,  # Gradio apps do not say why generation stopped
            truncated=False,
            prompt_tokens=None,
            completion_tokens=None,
            latency_s=exchange.latency_s,
            exchange=exchange,
        )

    def _generate_openai(
        self,
        discovery: Discovery,
        request: GenerationRequest,
        on_partial: Callable[[str], None] | None,
    ) -> GenerationResult:
        stream = self.endpoint.stream if request.stream is None else request.stream
        body = openai_api.build_body(discovery, request, stream, self.endpoint.penalty_style)
        attempt = self._attempt("openai-stream" if stream else "openai")
        if stream:
            completion = openai_api.complete_stream(attempt, discovery, body, on_partial)
        else:
            completion = openai_api.complete(attempt, discovery, body)
            if on_partial is not None and completion.text:
                on_partial(completion.text)
        truncated = completion.finish_reason == "length"
        if not truncated:
            openai_api.check_text(attempt, completion.text)
        exchange = attempt.finish()
        result = GenerationResult(
            text=completion.text,
            finish_reason=completion.finish_reason,
            truncated=truncated,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            latency_s=exchange.latency_s,
            exchange=exchange,
        )
        if truncated:
            raise TruncatedOutput(
                f"The model ran out of tokens after {completion.completion_tokens or 'max'} "
                f"tokens (max_new_tokens={request.max_new_tokens}); the answer is cut off. "
                "Raise max new tokens or shorten the prompt.",
                partial_text=completion.text,
                result=result,
                exchange=exchange,
            )
        return result
