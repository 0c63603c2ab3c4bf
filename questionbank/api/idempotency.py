"""``Idempotency-Key``: a retried creation gets the first answer instead of new work."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework.response import Response

from questionbank.api.errors import ApiError
from questionbank.models import ApiIdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 200


def _request_hash(request) -> str:
    if request.content_type.startswith("multipart/"):
        parts = {k: v for k, v in request.data.items() if not hasattr(v, "read")}
        digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
        for name, upload in sorted(request.FILES.items()):
            digest.update(name.encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
        return digest.hexdigest()
    return hashlib.sha256(
        json.dumps(request.data, sort_keys=True, default=str).encode()).hexdigest()


def idempotent(request, operation: str, work) -> Response:
    """Run ``work()`` (returning a Response) once per (user, Idempotency-Key).

    Without the header the work just runs. With it, the key is stored in the same
    transaction as the work, so two concurrent requests with one key cannot both do it:
    the second waits on the key's unique index, then gets the first's answer.
    """
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return work()
    if len(key) > MAX_KEY_CHARS:
        raise ApiError(gettext("The Idempotency-Key header is longer than %(n)s characters; "
                               "use a UUID.") % {"n": MAX_KEY_CHARS},
                       code="invalid_idempotency_key")
    fingerprint = _request_hash(request)
    cutoff = timezone.now() - timedelta(hours=settings.QB_API_IDEMPOTENCY_HOURS)
    ApiIdempotencyKey.objects.filter(user=request.user, key=key, created_at__lt=cutoff).delete()
    existing = ApiIdempotencyKey.objects.filter(user=request.user, key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                row = ApiIdempotencyKey.objects.create(
                    user=request.user, key=key, operation=operation, request_hash=fingerprint)
                response = work()
                if response.status_code >= 400:
                    transaction.set_rollback(True)  # a refused request may be retried
                    return response
                row.response_status = response.status_code
                row.response_body = response.data
                row.save(update_fields=["response_status", "response_body"])
                response["Idempotent-Replayed"] = "false"
                return response
        except IntegrityError:
            existing = ApiIdempotencyKey.objects.filter(user=request.user, key=key).first()
            if existing is None:
                raise
    if existing.operation != operation or existing.request_hash != fingerprint:
        raise ApiError(gettext("This Idempotency-Key was already used for a different request; "
                               "use a new key for new work."),
                       code="idempotency_key_reused", status_code=422)
    response = Response(existing.response_body, status=existing.response_status)
    response["Idempotent-Replayed"] = "true"
    return response
