"""Keep secrets out of everything the client hands back: headers, bodies, messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"

_SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "openai-api-key",
    }
)
_SECRET_KEYS = frozenset({"password", "api_key", "apikey", "token", "access_token", "secret"})


def redact_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """A copy of ``headers`` with credentials replaced by ``[redacted]``."""
    out: dict[str, str] = {}
    for key, value in (headers or {}).items():
        lower = key.lower()
        secret = lower in _SECRET_HEADERS or "token" in lower or "secret" in lower
        out[key] = REDACTED if secret else str(value)
    return out


def redact_body(body: Any, secrets: Iterable[str] = ()) -> Any:
    """A deep copy of a JSON-like body with secret-looking keys and known secret values
    replaced. The request bodies we build never contain secrets; this is belt and braces
    for admin-configured extras and for a server echoing something back."""
    secrets = tuple(s for s in secrets if s)
    if isinstance(body, Mapping):
        return {
            k: REDACTED if str(k).lower() in _SECRET_KEYS else redact_body(v, secrets)
            for k, v in body.items()
        }
    if isinstance(body, list | tuple):
        return [redact_body(v, secrets) for v in body]
    if isinstance(body, str):
        return scrub(body, secrets)
    return body


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``[redacted]``."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text
