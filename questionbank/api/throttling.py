"""Per-token rate limits: 429 with Retry-After when a client goes over its rate."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from rest_framework.throttling import SimpleRateThrottle

from questionbank.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    cache = caches["api-throttle"]

    """QB_API_RATE_PER_MINUTE per token; a session user is one bucket; anonymous callers
    get QB_API_ANON_RATE_PER_MINUTE per address."""

    def get_rate(self):
        return None  # chosen per request in allow_request

    def allow_request(self, request, view):
        # Read per request (not DRF's class-level rates), so a changed setting applies.
        anonymous = not (request.user and request.user.is_authenticated)
        self.num_requests = (settings.QB_API_ANON_RATE_PER_MINUTE if anonymous
                             else settings.QB_API_RATE_PER_MINUTE)
        self.duration = 60
        self.rate = f"{self.num_requests}/min"
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        # Per database, so test runs and servers sharing the file cache never mix.
        return f"api-throttle:{connection.settings_dict['NAME']}:{ident}"
