"""Settings for bench/pages.py only: production settings plus a bench urlconf (with the
bare anchor view) and scratch locations, so nothing bench-only reaches production routes."""

import os

from questionbank.settings import *  # noqa: F403

ROOT_URLCONF = "bench.pages_urls"
STATIC_ROOT = os.environ.get("QB_BENCH_STATIC_ROOT", "/tmp/qb-bench-pages-static")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                      "LOCATION": os.environ.get("QB_BENCH_CACHE", "/tmp/qb-bench-pages-cache")}}
