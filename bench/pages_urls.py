"""The app's routes plus /bench/bare/, the anchor: a view that returns a constant string,
served by the same gunicorn through the same middleware."""

from django.http import HttpResponse
from django.urls import path

from questionbank.urls import urlpatterns as app_patterns


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare), *app_patterns]
