"""The client's error tree: every failure ends as one of these.

Each error carries ``message`` (one line a teacher can act on), ``retryable`` (can the
same call succeed if tried again later?), ``retry_after`` (seconds the server asked us to
wait, or ``None``) and ``exchange`` (what went over the wire, redacted, so failed
attempts get logged too).

Decisions worth knowing:

* ``ServerReportedError`` is not retryable when the server said *why* (a ``gr.Error``
  message or an OpenAI error body): the app refused this input and will refuse it again.
  A Gradio failure *without* a message (``{"error": null}``: an ordinary exception in the
  app with ``show_error`` off) is retryable, because from outside it cannot be told apart
  from a transient fault such as CUDA running out of memory under load; the retry bound
  keeps a deterministic crash from looping.
* ``EmptyReply`` is retryable: an empty output from a sampling model is usually a fluke
  (a cancelled or evicted queue job); if it repeats, the retry bound stops it.
* ``ReplyCutOff`` is not ``ConnectFailed``: the server was reached and began its reply
  (HTTP 200, headers, maybe half the answer), then the body or event stream stopped
  (reset, closed early). It is retryable (a restarted or overloaded server), and it is
  named apart so a teacher is not told the server "could not be reached" when it was
  answering, and a health check does not call such a server unreachable.
* ``TruncatedOutput`` is not retryable with the same settings (the same budget gives the
  same cut); it carries the partial text and the result so the pipeline can log it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .datatypes import Exchange, GenerationResult


class WebUIError(Exception):
    """Base of all client errors."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        exchange: Exchange | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exchange = exchange
        self.retry_after = retry_after
        if retryable is not None:
            self.retryable = retryable

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, retryable={self.retryable})"


class ConnectFailed(WebUIError):
    """The server could not be reached (refused, DNS, TLS, reset before any reply)."""

    retryable = True


class ReplyCutOff(WebUIError):
    """The server began replying, then the reply stopped before it was complete.

    ``received_bytes`` is how much of the reply arrived before the cut.
    """

    retryable = True

    def __init__(self, message: str, *, received_bytes: int = 0, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.received_bytes = received_bytes


class TimedOut(WebUIError):
    """Connect timeout, read timeout (silence), or the overall per-call deadline."""

    retryable = True

    def __init__(self, message: str, *, phase: str = "read", **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.phase = phase  # "connect" | "read" | "deadline"


class HTTPStatusError(WebUIError):
    """An unexpected HTTP status. 5xx and 429 are retryable, other 4xx are not."""

    def __init__(self, message: str, *, status: int, **kwargs) -> None:
        kwargs.setdefault("retryable", status >= 500 or status in (408, 429))
        super().__init__(message, **kwargs)
        self.status = status


class AuthFailed(HTTPStatusError):
    """Wrong username, password or API key (or none given where one is needed)."""

    retryable = False

    def __init__(self, message: str, *, status: int = 401, **kwargs) -> None:
        kwargs["retryable"] = False
        super().__init__(message, status=status, **kwargs)


class ServerReportedError(WebUIError):
    """The server ran the call and reported an error (``gr.Error`` text, OpenAI error).

    ``server_message`` is the server's own text, or ``""`` when it hid it.
    """

    def __init__(self, message: str, *, server_message: str = "", **kwargs) -> None:
        kwargs.setdefault("retryable", not server_message)
        super().__init__(message, **kwargs)
        self.server_message = server_message


class MalformedReply(WebUIError):
    """The reply could not be understood (not JSON, wrong shape, broken event stream)."""

    retryable = False


class EmptyReply(WebUIError):
    """The server answered with no text at all."""

    retryable = True


class ReplyTooLarge(WebUIError):
    """The reply went over the endpoint's ``max_reply_bytes``; we stopped reading."""

    retryable = False


class TruncatedOutput(WebUIError):
    """The model stopped at the token budget (``finish_reason == "length"``).

    ``partial_text`` and ``result`` hold what it wrote so the pipeline may still log it.
    """

    retryable = False

    def __init__(
        self, message: str, *, partial_text: str = "", result: GenerationResult | None = None,
        **kwargs,
    ) -> None:
        super().__init__(message, **kwargs)
        self.partial_text = partial_text
        self.result = result


class LayoutError(WebUIError):
    """A required field cannot be mapped to any of the server's parameters."""

    retryable = False

    def __init__(self, message: str, *, offered: list[str] | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.offered = offered or []
