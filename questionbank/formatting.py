"""Small presentation helpers shared by views and the admin."""

from __future__ import annotations

from functools import lru_cache

from django.contrib import messages
from django.urls import get_script_prefix, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext

from questionbank.sanitize_words import describe_report


def format_duration(seconds, *, empty: str = "—") -> str:
    """'42 s', '3 min 05 s' or '1 h 02 min': how long something ran or will run."""
    if seconds is None:
        return empty
    seconds = int(seconds)
    if seconds < 60:
        return gettext("%(s)d s") % {"s": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return gettext("%(m)d min %(s)02d s") % {"m": minutes, "s": seconds}
    hours, minutes = divmod(minutes, 60)
    return gettext("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}


def safe_next(request, default: str) -> str:
    """The ``next`` URL from the request if it stays on this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def flash_form_errors(request, form) -> None:
    """Show every error of a form that has no page of its own (a bulk-action bar) as a
    message on the page it redirects back to."""
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def url_prefix(name: str) -> str:
    """``/browse/problems/`` for the route ``name`` of ``/browse/problems/<pk>/``: pages
    build many links from it instead of calling reverse() per link (a large share of a
    list's time)."""
    return _prefix(name, get_script_prefix())


@lru_cache(maxsize=32)
def _prefix(name: str, script_prefix: str) -> str:
    return reverse(name, args=["0"])[:-2]


def tell_input_cleaned(request, obj) -> None:
    """A message per field that saving cleaned (``obj.input_cleaned``, set by the problem
    and template services): what the model will read is what the page now shows."""
    for sentence in describe_report(getattr(obj, "input_cleaned", None) or {}, minor=False):
        messages.warning(request, sentence)
