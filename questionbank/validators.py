"""Validators shared by models and forms."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError


def validate_server_url(value: str) -> None:
    """An http(s) URL of a model server.

    Django's URLValidator refuses single-label host names such as ``gpu-box``, which is
    exactly how a GPU machine on a school network is usually named, so this checks the
    parts that matter instead: scheme, host, and a numeric port.
    """
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise ValidationError(
            "The port in this address is not a number; use e.g. http://gpu-box:7860."
        ) from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError(
            "Start the address with http:// or https://, e.g. http://gpu-box:7860."
        )
    if not parts.hostname:
        raise ValidationError("The address has no host name; use e.g. http://gpu-box:7860.")
    if any(ch.isspace() for ch in value.strip()):
        raise ValidationError("The address contains spaces; remove them.")
    if "@" in parts.netloc:
        raise ValidationError(
            "Do not put a user name or password in the address; enter them in the "
            "Credentials fields below, and give the address without them, e.g. "
            "http://gpu-box:7860."
        )
    if parts.query or parts.fragment:
        raise ValidationError("Give the server's base address only, without ?query or #anchor.")
    del port
