"""Every API error as ``{"code": "...", "message": "..."}`` (plus ``fields`` or ``concerns``).

``code`` is for programs (stable, snake_case); ``message`` is a sentence for a person,
the same sentence the site shows where the site has one.
"""

from __future__ import annotations

import logging
import re

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext, ngettext
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from questionbank.interchange import FileRefused
from questionbank.models import IllegalTransition
from questionbank.services.solutions import EditConflict, PublishNeedsConfirmation

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with its own code and sentence, raised by the API's views."""

    def __init__(self, message: str, *, code: str, status_code: int = 400, **extra):
        super().__init__(message, code)
        self.status_code = status_code
        self.code = code
        self.extra = extra


class RequestTooLarge(ApiError):
    def __init__(self, cap: int):
        super().__init__(
            gettext("The request body is larger than %(kb)s KB; send less in one request.")
            % {"kb": cap // 1024},
            code="request_too_large", status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)


_NO_MATCH = re.compile(r"No \w* ?matches the given query\.")
_STATUS_CODES = {
    400: "invalid_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _first_messages(detail, prefix: str = "") -> list[str]:
    """Flatten DRF's nested error detail into "field: message" sentences."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else f"{prefix}{key}"
            out += _first_messages(value, f"{name}." if name else "")
        return out
    if isinstance(detail, list):
        out = []
        for item in detail:
            out += _first_messages(item, prefix)
        return out
    text = str(detail)
    return [f"{prefix.rstrip('.')}: {text}" if prefix else text]


def _body(code: str, message: str, **extra) -> dict:
    return {"code": code, "message": message, **{k: v for k, v in extra.items() if v}}


def exception_handler(exc, context):
    """DRF's exception handler, with the project's domain errors and one body shape."""
    if isinstance(exc, PublishNeedsConfirmation):
        return Response(_body(
            "needs_confirmation",
            gettext("Publishing needs confirmation: %(concerns)s Send the codes of the concerns "
                    "you accept in “confirm” to publish anyway.")
            % {"concerns": " ".join(str(c.message) for c in exc.concerns)},
            concerns=[{"code": c.code, "message": c.message} for c in exc.concerns],
        ), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, IllegalTransition):
        return Response(_body("illegal_transition", str(exc)), status=409)
    if isinstance(exc, EditConflict):
        return Response(_body(
            "edit_conflict",
            gettext("Revision %(number)s was saved since you started editing; read it and send "
                    "your change again with its number as base_revision.")
            % {"number": exc.current.number}), status=409)
    if isinstance(exc, FileRefused):
        return Response(_body("file_refused", str(exc)), status=400)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else None
        return Response(_body("invalid", " ".join(exc.messages), fields=fields), status=400)
    if isinstance(exc, ValueError) and not isinstance(exc, UnicodeError):
        # The services' refusals are ValueErrors whose text is the teacher's sentence.
        return Response(_body("refused", str(exc)), status=400)
    if isinstance(exc, ObjectDoesNotExist):
        exc = Http404()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unexpected error in the API", exc_info=exc)
        return Response(_body("server_error", gettext(
            "Something went wrong on the server; the error was logged. Try again, and tell an "
            "admin if it persists.")),
                        status=500)
    if isinstance(exc, ApiError):
        response.data = _body(exc.code, str(exc.detail), **exc.extra)
        return response
    if isinstance(exc, exceptions.ValidationError):
        messages = _first_messages(exc.detail)
        fields = exc.detail if isinstance(exc.detail, dict) else None
        text = " ".join(messages)
        if fields:
            text = gettext("Check these fields: %(errors)s") % {"errors": text}
        response.data = _body("invalid", text or gettext("The request is not valid."),
                              fields=fields)
        return response
    message = _message(exc, response)
    code = _STATUS_CODES.get(response.status_code, "error")
    if isinstance(exc, exceptions.ParseError):
        code = "malformed_body"
    if isinstance(exc, exceptions.AuthenticationFailed):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) and codes != "authentication_failed" else (
            "not_authenticated")
    response.data = _body(code, message)
    return response


def _message(exc, response) -> str:
    if isinstance(exc, exceptions.ParseError):
        detail = str(exc.detail).removeprefix("JSON parse error - ")
        return gettext("The request body could not be read (%(error)s); send a JSON object.") % {
            "error": detail}
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        return ngettext(
            "Too many requests from this token; wait %(n)d second and try again (see "
            "Retry-After).",
            "Too many requests from this token; wait %(n)d seconds and try again (see "
            "Retry-After).", wait) % {"n": wait}
    if isinstance(exc, exceptions.NotAuthenticated):
        return gettext("Log in, or send a personal token in the Authorization header "
                       "(Bearer qb_...); make one on your account page.")
    if isinstance(exc, exceptions.PermissionDenied):
        detail = str(exc.detail)
        return detail if detail != str(exceptions.PermissionDenied.default_detail) else (
            gettext("Your account may not do this."))
    if isinstance(exc, Http404 | exceptions.NotFound):
        detail = str(getattr(exc, "detail", "") or "")
        # Django's get_object_or_404 says "No Problem matches the given query." (English,
        # naming a model class): the API's own sentence replaces it in every language.
        if detail and detail not in (str(exceptions.NotFound.default_detail), "Not found.") \
                and not _NO_MATCH.fullmatch(detail):
            return detail
        return gettext("There is nothing here with that number, or you may not see it.")
    if isinstance(exc, exceptions.APIException):
        return str(exc.detail)
    return str(exc)


@csrf_exempt  # a JSON 404 for any method; it changes nothing, so needs no CSRF check
def not_found(request, *args, **kwargs):
    """Unknown URLs under /api/v1/: JSON, like every other API error."""
    return JsonResponse(_body("not_found", gettext(
        "There is no API endpoint at this address; see /api/v1/docs/ for the ones there are.")),
        status=404)
