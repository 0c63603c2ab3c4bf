"""The key of the call log's hash chain: one place (settings reads it at start-up).

Every call-log row's hash, every purge checkpoint and the chain head are HMAC-SHA256 values
made with a key that is not in the database, so someone who can write to the database but
cannot read the server's environment can neither recompute a row's hash after editing it
nor write a checkpoint that hides a deleted row (issue 14, defect 6).

The keys come from ``QB_CALL_LOG_KEY``: one or more strings of at least 32 characters,
comma-separated, newest first (``python -c 'import secrets; print(secrets.token_urlsafe(48))'``).
New rows are chained with the newest; ``manage.py rekey_call_log`` re-chains the log with it
after a rotation. Without ``QB_CALL_LOG_KEY`` the key is derived from Django's SECRET_KEY:

    key = HMAC-SHA256(key=SECRET_KEY (UTF-8), message="questionbank call-log chain v1")

so a deployment works without set-up; rotating SECRET_KEY then means running
``rekey_call_log`` with the old derived key still configured (README.md, "Tamper-evident
call log").
"""

from __future__ import annotations

import hashlib
import hmac

MIN_KEY_CHARS = 32
DERIVATION_LABEL = b"questionbank call-log chain v1"


def derived_key(secret_key: str) -> bytes:
    """The chain key used when QB_CALL_LOG_KEY is unset (documented above)."""
    return hmac.new(secret_key.encode("utf-8"), DERIVATION_LABEL, hashlib.sha256).digest()


def check_key(key: str) -> None:
    """Raise ``ValueError`` with a sentence when ``key`` is too short to be a key."""
    if len(key) < MIN_KEY_CHARS:
        raise ValueError(
            f"is shorter than {MIN_KEY_CHARS} characters; make one with python -c "
            "'import secrets; print(secrets.token_urlsafe(48))'"
        )


def key_id(key: bytes) -> str:
    """A short public name of a key (stored in the chain head, shown in the admin), from
    which the key cannot be recovered."""
    return hmac.new(key, b"key id", hashlib.sha256).hexdigest()[:16]
