"""The OpenAPI schema: every operation lists the error answers it can give."""

from __future__ import annotations

import inspect

from drf_spectacular.openapi import AutoSchema as BaseAutoSchema

from questionbank.api.serializers import ErrorSerializer

# Status -> what it means here; every operation may answer these with an Error body.
ERRORS = {
    "400": "The request is not valid (code says why; fields per field).",
    "401": "No credentials, or a token that is unknown, revoked or expired.",
    "403": "Your role may not do this.",
    "404": "Nothing with that number, or nothing you may see.",
    "406": "Ask for application/json.",
    "409": "A conflict: needs_confirmation (publishing), illegal_transition, edit_conflict.",
    "413": "The request body is too large.",
    "415": "Send application/json (multipart/form-data for imports).",
    "422": "The Idempotency-Key was used for a different request.",
    "429": "Too many requests; wait the Retry-After seconds.",
}
_WRITE_ONLY = {"409", "413", "415", "422"}


class AutoSchema(BaseAutoSchema):
    def get_description(self):
        """The handler's or the view's own docstring, never one inherited from a base view."""
        handler = getattr(self.view, self.method.lower(), None)
        doc = getattr(handler, "__doc__", None) or type(self.view).__dict__.get("__doc__")
        return inspect.cleandoc(doc) if doc else ""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in ERRORS.items():
            if code in responses or (code in _WRITE_ONLY and self.method == "GET"):
                continue
            response = self._get_response_for_code(ErrorSerializer, code, ["application/json"],
                                                   direction)
            response["description"] = description
            responses[code] = response
        return responses
