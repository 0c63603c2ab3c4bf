"""Login throttling (django-axes): the pieces this project adds to it.

django-axes counts failed logins per account and per address and refuses further
attempts for a while (settings: AXES_*, from QB_LOGIN_FAILURE_LIMIT and
QB_LOGIN_LOCKOUT_MINUTES). Every web login (the site's and the admin's) passes the
request to ``authenticate``; only then is there an address to throttle.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.shortcuts import render


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' check, first in AUTHENTICATION_BACKENDS.

    ``authenticate`` without a request (management commands checking a password, the
    test client's ``login``) is not a login over the web: it has no address and is
    passed to the next backend instead of raising, as axes' own backend would.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    """The page shown instead of a login while locked out (HTTP 429), in words."""


    minutes = settings.QB_LOGIN_LOCKOUT_MINUTES
    return render(request, "accounts/locked_out.html", {
        "minutes": minutes,
        "failure_limit": settings.QB_LOGIN_FAILURE_LIMIT,
        "is_admin_login": request.path.startswith("/admin/"),
    }, status=429)


def client_address(request) -> str:
    """The address a login came from. Behind the one reverse proxy of QB_BEHIND_PROXY it
    is the last entry of X-Forwarded-For (the one that proxy added; earlier entries are
    whatever the client sent, so they are never trusted); otherwise REMOTE_ADDR."""
    if settings.QB_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")
