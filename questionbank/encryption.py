"""Encryption at rest for endpoint secrets (passwords, API keys): one place.

Values are encrypted with ``cryptography``'s Fernet (AES-128-CBC + HMAC-SHA256, with a
timestamp) through a ``MultiFernet`` built from ``settings.QB_SECRETS_KEYS``, newest key
first: new values are encrypted with the newest key, stored values are read with
whichever key made them, and ``manage.py rotate_secrets_key`` re-encrypts everything
with the newest key so the older ones can be dropped (README.md, "Secrets at rest").

A stored value is ``fernet:`` followed by the token, so a plain value (from before
migration 0019) is told apart from an encrypted one; the empty string means "not set"
and is stored as it is.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "fernet:"
# How QB_SECRETS_KEY is described in every message about it.
_SET_KEY = (
    "set QB_SECRETS_KEY to the key they were encrypted with (comma-separated, newest "
    "first, when rotating; README.md, \u201cSecrets at rest\u201d)"
)


class SecretsKeyError(ImproperlyConfigured):
    """No key, or no key that opens a stored secret; the message says what to set."""


class SecretsKeyMissing(SecretsKeyError):
    """QB_SECRETS_KEY is not set (and QB_DEBUG is off)."""


class SecretsKeyWrong(SecretsKeyError):
    """No key in QB_SECRETS_KEY opens a stored secret."""


def dev_key(secret_key: str) -> str:
    """The Fernet key used under QB_DEBUG=1 when QB_SECRETS_KEY is unset, derived from
    Django's SECRET_KEY (documented in README.md; never used in production)."""
    digest = hashlib.sha256(b"questionbank endpoint secrets:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def check_key(key: str) -> None:
    """Raise ``ValueError`` with a sentence when ``key`` is not a Fernet key."""
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        raise ValueError(
            "is not a Fernet key (32 url-safe base64-encoded bytes); make one with "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ) from None


@lru_cache(maxsize=4)
def _multi(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def _fernet() -> MultiFernet:
    keys = tuple(getattr(settings, "QB_SECRETS_KEYS", ()) or ())
    if not keys:
        raise SecretsKeyMissing(
            "Endpoint passwords and API keys are stored encrypted, but QB_SECRETS_KEY is "
            f"not set; {_SET_KEY}."
        )
    return _multi(keys)


def is_encrypted(stored: str | None) -> bool:
    return bool(stored) and stored.startswith(PREFIX)


def encrypt(plain: str) -> str:
    """The stored form of ``plain`` ("" stays "")."""
    if not plain:
        return ""
    if is_encrypted(plain):  # already the stored form (e.g. saved twice)
        return plain
    return PREFIX + _fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(stored: str | None) -> str:
    """The plain text of a stored value. A value without the prefix is returned as it is
    (a plain value not yet migrated). Raises ``SecretsKeyError`` when no key opens it."""
    if not stored:
        return ""
    if not is_encrypted(stored):
        return stored
    try:
        return _fernet().decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretsKeyWrong(
            "A stored endpoint password or API key cannot be decrypted with any key in "
            f"QB_SECRETS_KEY; {_SET_KEY}."
        ) from None


def rotate(stored: str) -> str:
    """``stored`` re-encrypted with the newest key (a plain value gets encrypted)."""
    if not stored:
        return ""
    if not is_encrypted(stored):
        return encrypt(stored)
    try:
        token = _fernet().rotate(stored[len(PREFIX):].encode("ascii"))
    except InvalidToken:
        raise SecretsKeyWrong(
            "A stored endpoint password or API key cannot be decrypted with any key in "
            f"QB_SECRETS_KEY; {_SET_KEY}."
        ) from None
    return PREFIX + token.decode("ascii")


# --- credentials inside URLs ---------------------------------------------------------
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@?#]*@")


def url_has_credentials(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "@" in url
    return "@" in parts.netloc


def split_url_credentials(url: str) -> tuple[str, str, str]:
    """``(url without user:pass@, username, password)``; for moving credentials that
    were typed into an address into the endpoint's own fields."""
    parts = urlsplit(url.strip())
    if "@" not in parts.netloc:
        return url, "", ""
    userinfo, _, hostport = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=hostport)), username, password


def scrub_url_credentials(text: str) -> str:
    """``text`` with the ``user:pass@`` of every URL in it replaced by ``[redacted]@``."""
    if not text or "@" not in text:
        return text
    return _URL_USERINFO.sub(lambda m: m.group("scheme") + "[redacted]@", text)
