"""Who is calling: a personal token (``Authorization: Bearer qb_...``); the site's own
JavaScript uses DRF's SessionAuthentication (with Django's CSRF check on writes)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from questionbank.models import ApiToken
from questionbank.services.api_tokens import (
    TOKEN_PREFIX,
    token_hash,
    token_note_refused,
    token_touch,
)


class TokenAuthentication(authentication.BaseAuthentication):
    """A personal API token. ``request.auth`` is the ``ApiToken`` row."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in ("bearer", "token"):
            return None
        if len(header) != 2 or not header[1].startswith(TOKEN_PREFIX):
            raise exceptions.AuthenticationFailed(
                gettext("The Authorization header must be “Bearer ” followed by your token "
                        "(qb_...)."),
                code="invalid_token")
        token = (ApiToken.objects.select_related("user").filter(key_hash=token_hash(header[1]))
                 .first())
        if token is None:
            raise exceptions.AuthenticationFailed(
                gettext("This token is not known; check that it was copied whole, or make a "
                        "new one on your account page."), code="invalid_token")
        now = timezone.now()
        if token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
            token_note_refused(token=token, now=now)
            if token.revoked_at is not None:
                state, message = "revoked", gettext(
                    "This token was revoked; make a new one on your account page.")
            else:
                state, message = "expired", gettext(
                    "This token expired; make a new one on your account page.")
            raise exceptions.AuthenticationFailed(message, code=f"token_{state}")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(
                gettext("The account this token belongs to is disabled."),
                code="account_disabled")
        token_touch(token=token, now=now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A personal token from your account page (qb_...)."}
