"""Request bodies with a size cap (QB_API_MAX_BODY_BYTES)."""

from __future__ import annotations

import io

from django.conf import settings
from rest_framework.parsers import JSONParser

from questionbank.api.errors import RequestTooLarge


class CappedJSONParser(JSONParser):
    """JSON, refused with 413 past the cap even without a Content-Length."""

    def parse(self, stream, media_type=None, parser_context=None):
        cap = settings.QB_API_MAX_BODY_BYTES
        data = stream.read(cap + 1) if stream is not None else b""
        if len(data) > cap:
            raise RequestTooLarge(cap)
        return super().parse(io.BytesIO(data), media_type, parser_context)
