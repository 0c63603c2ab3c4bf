"""The app's routes plus /bench/bare/, the anchor: a view that returns a constant string,
served by the same gunicorn through the same middleware; and /bench/one-query/, the same
with one primary-key read (the floor of any page that asks the database anything)."""

from django.db import connection
from django.http import HttpResponse
from django.urls import path

from questionbank.urls import urlpatterns as app_patterns


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


def one_query(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT n FROM questionbank_browse_generation WHERE id = %s", [1])
        cursor.fetchone()
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare), path("bench/one-query/", one_query), *app_patterns]
