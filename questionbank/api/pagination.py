"""Pages of results: ``page`` and ``page_size`` (capped at QB_API_MAX_PAGE_SIZE)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"

    @property
    def page_size(self):
        return settings.QB_API_PAGE_SIZE

    @property
    def max_page_size(self):
        return settings.QB_API_MAX_PAGE_SIZE

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer"},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }


class NoCountPagination(Pagination):
    """A page without counting every match (the students' list at 100,000 problems):
    one extra row is read to know whether there is a next page."""

    # Deeper than this, narrow the filters instead (and an offset stays a 64-bit number).
    max_page = 100_000

    def paginate_queryset(self, queryset, request, view=None, rows=None):
        self.request = request
        size = self.get_page_size(request)
        try:
            self.number = max(1, int(request.query_params.get(self.page_query_param, 1)))
        except ValueError:
            self.number = 1
        if self.number > self.max_page:
            raise NotFound(gettext("Pages go up to %(n)s; narrow the filters to see further.")
                           % {"n": f"{self.max_page:,}"})
        offset = (self.number - 1) * size
        items = (rows(queryset, offset, size + 1) if rows
                 else list(queryset[offset:offset + size + 1]))
        self.has_next = len(items) > size
        self.size = size
        return items[:size]

    def get_paginated_response(self, data):
        url = self.request.build_absolute_uri()
        next_url = (replace_query_param(url, self.page_query_param, self.number + 1)
                    if self.has_next else None)
        if self.number <= 1:
            previous = None
        elif self.number == 2:
            previous = remove_query_param(url, self.page_query_param)
        else:
            previous = replace_query_param(url, self.page_query_param, self.number - 1)
        return Response({"next": next_url, "previous": previous, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }
