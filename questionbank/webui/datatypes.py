"""Plain data the client takes and returns.

Nothing here does I/O. Secrets live only on :class:`Endpoint`, in fields left out of
``repr``; every other object carries redacted copies (see :mod:`.redact`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Protocol = Literal["gradio", "openai"]
Route = Literal["oneshot", "call-stream", "openai", "openai-stream"]

# The fields of a generation request, in the order the common WEBUI image takes them.
FIELDS: tuple[str, ...] = (
    "system_prompt",
    "user_input",
    "temperature",
    "top_p",
    "max_new_tokens",
    "repetition_penalty",
    "streaming",
)


@dataclass(frozen=True)
class Endpoint:
    """How to reach one model server.

    ``layout`` is an administrator's override of the parameter mapping: our field name
    (one of :data:`FIELDS`) -> the server's parameter name, label or 0-based index.
    ``penalty_style`` names the OpenAI-compatible server's spelling of repetition
    penalty: ``"repetition_penalty"`` (vLLM, SGLang: the default), ``"repeat_penalty"``
    (llama.cpp) or ``"none"`` (Ollama, or any server that rejects unknown fields).
    Times are seconds; ``read_timeout`` is the longest silence tolerated on a socket,
    ``deadline`` the longest a whole call may take.
    """

    name: str
    protocol: Protocol
    base_url: str
    api_name: str = ""
    layout: dict[str, str | int] | None = field(default=None, hash=False)
    model: str = ""
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    api_key: str = field(default="", repr=False)
    connect_timeout: float = 10.0
    read_timeout: float = 900.0
    deadline: float = 3600.0
    max_reply_bytes: int = 4_000_000
    stream: bool = True
    penalty_style: str = "repetition_penalty"

    def __post_init__(self) -> None:
        if self.protocol not in ("gradio", "openai"):
            raise ValueError(f"protocol must be 'gradio' or 'openai', not {self.protocol!r}")
        # Normalise once so every URL we build has exactly one slash at the joins.
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if self.api_name and not self.api_name.startswith("/"):
            object.__setattr__(self, "api_name", "/" + self.api_name)
        if self.penalty_style not in ("repetition_penalty", "repeat_penalty", "none"):
            raise ValueError(f"unknown penalty_style {self.penalty_style!r}")

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value set on this endpoint (used to scrub text before it leaves)."""
        return tuple(s for s in (self.password, self.api_key) if s)


@dataclass
class GenerationRequest:
    """One question for the model. ``stream=None`` lets the endpoint decide."""

    system_prompt: str = ""
    user_input: str = ""
    temperature: float = 0.6
    top_p: float = 0.95
    max_new_tokens: int = 16384
    repetition_penalty: float = 1.0
    stream: bool | None = None

    def field_values(self, streaming: bool) -> dict[str, Any]:
        """Our field name -> value, ready for the layout mapping."""
        return {
            "system_prompt": self.system_prompt,
            "user_input": self.user_input,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
            "repetition_penalty": self.repetition_penalty,
            "streaming": streaming,
        }


@dataclass
class Exchange:
    """What went over the wire for one call attempt, secrets redacted, for the call log.

    For the two-step Gradio ``/call`` route ``url`` is the POST that starts the call and
    ``response_body`` the event stream read afterwards. ``response_body`` keeps at most
    :data:`EXCHANGE_BODY_LIMIT` characters; ``response_size`` counts every byte read
    (when a reply goes over the endpoint's cap we stop reading, so it is then the count
    at which we stopped).
    """

    method: str
    url: str
    request_body: Any = None
    request_headers: dict[str, str] = field(default_factory=dict)
    response_status: int | None = None
    response_body: str = ""
    response_size: int = 0
    latency_s: float = 0.0
    route: Route | str = ""
    server_version: str = ""


EXCHANGE_BODY_LIMIT = 1_000_000


@dataclass
class GenerationResult:
    """The model's answer. Token counts are ``None`` when the server does not say."""

    text: str
    finish_reason: str | None
    truncated: bool
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float
    exchange: Exchange


@dataclass(frozen=True)
class Parameter:
    """One parameter of a server endpoint, as discovered."""

    index: int
    name: str
    label: str
    default: Any = None
    has_default: bool = False
    component: str = ""


@dataclass
class Discovery:
    """What the client learned about a server before calling it.

    ``layout`` maps our fields to parameter indexes (Gradio) or request keys (OpenAI).
    """

    protocol: Protocol
    version: str = ""
    api_prefix: str = ""
    api_name: str = ""
    fn_index: int | None = None
    streaming: bool = False
    call_route: bool = False
    parameters: list[Parameter] = field(default_factory=list)
    layout: dict[str, int | str] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    model: str = ""

    def layout_description(self) -> dict[str, str]:
        """Our field -> a readable name of the server parameter (for admins and logs)."""
        out: dict[str, str] = {}
        for ours, target in self.layout.items():
            if isinstance(target, int) and 0 <= target < len(self.parameters):
                p = self.parameters[target]
                out[ours] = f"#{target} {p.name or p.label}".strip()
            else:
                out[ours] = str(target)
        return out


@dataclass
class Health:
    """Result of :meth:`Client.health`. ``error`` is a teacher-readable line, or ``""``."""

    reachable: bool
    version: str = ""
    protocol: str = ""
    api_name: str = ""
    layout: dict[str, str] = field(default_factory=dict)
    latency_s: float = 0.0
    error: str = ""
    streaming: bool = False
    models: list[str] = field(default_factory=list)
