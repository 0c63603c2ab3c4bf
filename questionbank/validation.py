"""Validating what people send: one place for integers, dates and text (issue 14, #11).

Every view, admin page and form reads numbers, dates and text through these helpers, so
that no input, however odd, reaches the database or ``int()`` unchecked and ends in a
500. Three layers use them:

- ``InputValidationMiddleware`` refuses any query string or form field carrying a NUL or
  a lone surrogate (characters no database text column can store) with a 400 page that
  says which field and what to do; views raise ``InvalidInput`` for anything else they
  refuse, and the middleware turns it into the same page.
- ``parse_int`` / ``parse_int_list`` / ``parse_moment`` read query-string values: plain
  ASCII digits only (``"²".isdigit()`` is true but ``int("²")`` fails), within the range
  of a database id; real calendar dates, with the ends of the calendar handled.
- ``CleanTextMixin`` (for form fields) and ``clean_text`` (for text from files and JSON)
  refuse the same characters with a form error or a ``ValidationError``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext

# The largest id a database integer key holds (PostgreSQL bigint, SQLite INTEGER).
MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class InvalidInput(Exception):
    """A request value that cannot be used; ``message`` is the sentence shown (HTTP 400)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- text ------------------------------------------------------------------------------
def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, as the end of a sentence, or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return gettext("contains a NUL character (an invisible control character that cannot "
                       "be saved); remove it, or retype the text instead of pasting it")
    return gettext("contains a broken character (half of an emoji or other symbol, a "
                   "“lone surrogate”); retype that part of the text")


def clean_text(value: str, *, label: str | None = None) -> str:
    """``value`` unchanged, or ``ValidationError`` saying what is wrong with it."""
    problem = text_problem(value) if isinstance(value, str) else None
    if problem:
        raise ValidationError(gettext("%(label)s %(problem)s.") % {
            "label": label or gettext("This text"), "problem": problem}, code="unstorable_text")
    return value


def clean_data(data, *, label: str | None = None):
    """``data`` (parsed JSON: dicts, lists, strings) unchanged, or ``ValidationError``
    naming where the first unstorable character is, e.g. ``problems[3].statement``."""
    label = label or gettext("The file")
    stack = [(data, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and text_problem(key):
                    raise ValidationError(gettext("%(label)s has a key that %(problem)s.") % {
                        "label": label, "problem": text_problem(key)})
                stack.append((item, f"{where}.{key}" if where else str(key)))
            continue
        elif isinstance(value, list | tuple):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(value))
            continue
        else:
            continue
        if problem:
            text = (gettext("%(label)s at %(where)s %(problem)s.") if where
                    else gettext("%(label)s %(problem)s."))
            raise ValidationError(text % {"label": label, "where": where, "problem": problem},
                                  code="unstorable_text")
    return data


class CleanTextMixin:
    """For form fields that return text: refuse NUL and lone surrogates with a form error
    (Django's CharField refuses NUL only)."""

    def to_python(self, value):
        value = super().to_python(value)
        if isinstance(value, str):
            clean_text(value, label=gettext("This field"))
        return value


# --- integers ----------------------------------------------------------------------------
def parse_int(value, *, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """``value`` as an int when it is plain ASCII digits (spaces and one leading ``#``
    allowed) within [minimum, maximum]; otherwise None."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value or "").strip().removeprefix("#")
        if not _DIGITS.fullmatch(text):
            return None
        number = int(text)
    return number if minimum <= number <= maximum else None


def parse_int_list(values, *, label: str | None = None) -> list[int]:
    """Ids from ``values`` (strings, each a comma-separated list), in order, once each.
    Raises ``InvalidInput`` naming the first part that is not a number."""
    ids: list[int] = []
    for value in values:
        for part in str(value).split(","):
            if not part.strip():
                continue
            number = parse_int(part)
            if number is None:
                raise InvalidInput(
                    gettext("“%(part)s” in %(label)s is not a number; give ids such "
                            "as 12,15,20 using the digits 0-9.")
                    % {"part": part.strip()[:40], "label": label or gettext("problems")})
            ids.append(number)
    return list(dict.fromkeys(ids))


# --- dates ---------------------------------------------------------------------------------
def parse_moment(value: str, *, end: bool = False) -> datetime | None:
    """A date (``YYYY-MM-DD``, the whole day: its start, or with ``end`` the start of the
    next day) or a date and time, in the site's time zone.

    Returns None for an empty value; raises ``ValidationError`` with a sentence for text
    that is not a real date (``2026-13-45``). A bound past the end of the calendar
    (``until=9999-12-31``) means "no bound" and is returned as None as well.
    """
    value = (value or "").strip()
    if not value:
        return None
    error = ValidationError(
        gettext("“%(value)s” is not a date; use YYYY-MM-DD or YYYY-MM-DD HH:MM, "
                "e.g. 2026-03-31.") % {"value": value[:40]}, code="invalid_date")
    try:
        day = parse_date(value) if len(value) == 10 else None
        if day is not None:
            moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
        else:
            moment = parse_datetime(value)
            if moment is None:
                raise error
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        moment.astimezone(UTC)  # the far ends of the calendar cannot be moved to UTC
    except ValueError:
        raise error from None
    except OverflowError:
        return None
    return moment


# --- the middleware --------------------------------------------------------------------------
def bad_request(request, message: str) -> HttpResponse:
    """The 400 page with ``message``; for the JSON API, the API's error body."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "invalid_input", "message": message}, status=400)
    return HttpResponse(
        render_to_string("400.html", {"message": message}, request=request), status=400)


def _request_problem(request) -> str | None:
    sources = [("address", request.GET)]
    if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(("form", request.POST))
    for where, data in sources:
        for name, values in data.lists():
            problem = text_problem(name)
            if problem:
                return (gettext("A field name in the address %(problem)s.") if where == "address"
                        else gettext("A field name in the form %(problem)s.")) % {
                            "problem": problem}
            for value in values:
                problem = text_problem(value)
                if problem:
                    text = (gettext("The address field “%(name)s” %(problem)s.")
                            if where == "address"
                            else gettext("The form field “%(name)s” %(problem)s."))
                    return text % {"name": name[:40], "problem": problem}
    return None


class InputValidationMiddleware:
    """Refuse requests whose query string or form fields hold unstorable characters, and
    turn ``InvalidInput`` raised by a view into a 400 page with its sentence."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = _request_problem(request)
        if problem:
            return bad_request(request, problem)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, InvalidInput):
            return bad_request(request, exception.message)
        return None
