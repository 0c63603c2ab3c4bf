"""Writing personal API tokens (issue 16): create, revoke, and note their use.

A token is ``qb_`` followed by 43 URL-safe characters (256 random bits). Only its
SHA-256 is stored; the caller shows the token once and it cannot be read back.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext

from questionbank.models import ApiToken

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "qb_"
# A user with this many active tokens must revoke one before making another.
MAX_TOKENS_PER_USER = 20


def token_hash(raw: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def token_create(*, user, name: str, expires_at=None) -> tuple[ApiToken, str]:
    """Make a token for ``user``; returns the row and the token text (shown once).

    Raises ``ValueError`` with a sentence when the name is empty, the expiry is not in
    the future, or the user has too many active tokens.
    """
    name = " ".join((name or "").split())
    if not name:
        raise ValueError(gettext("Give the token a name that says where it is used, e.g. "
                                 "“Moodle sync”."))
    if len(name) > 100:
        raise ValueError(gettext("Keep the token's name under 100 characters."))
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError(gettext("The expiry date has passed; choose a date in the future or "
                                 "none."))
    if ApiToken.objects.filter(user=user).usable().count() >= MAX_TOKENS_PER_USER:
        raise ValueError(gettext("You already have %(n)s active tokens; revoke one you no "
                                 "longer use first.") % {"n": MAX_TOKENS_PER_USER})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:10],
                                    key_hash=token_hash(raw), expires_at=expires_at)
    logger.info("API token %s (%s) created for %s", token.pk, token.prefix, user)
    return token, raw


def token_revoke(*, token: ApiToken, user) -> bool:
    """Revoke one of ``user``'s tokens at once; False when it was already revoked.

    Raises ``ApiToken.DoesNotExist`` for a token that is not the user's.
    """
    if token.user_id != user.pk:
        raise ApiToken.DoesNotExist
    n = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    if n:
        logger.info("API token %s (%s) revoked by %s", token.pk, token.prefix, user)
    return bool(n)


def token_touch(*, token: ApiToken, now=None) -> bool:
    """Note that the token was used, at most once per ``QB_API_TOKEN_TOUCH_SECONDS``.

    A conditional UPDATE: a burst of requests writes once, and concurrent requests
    race harmlessly (one of them wins). Returns whether a row was written.
    """
    now = now or timezone.now()
    every = timedelta(seconds=settings.QB_API_TOKEN_TOUCH_SECONDS)
    if token.last_used_at is not None and now - token.last_used_at < every:
        return False
    n = ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - every)
    ).update(last_used_at=now)
    token.last_used_at = now
    return bool(n)


def token_note_refused(*, token: ApiToken, now=None) -> None:
    """Count a use of a revoked or expired token (shown to admins)."""
    now = now or timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(
        last_refused_at=now, uses_refused=F("uses_refused") + 1)
    logger.warning("Refused API token %s (%s) of %s: %s", token.pk, token.prefix,
                   token.user_id, token.state)
