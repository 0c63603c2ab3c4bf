"""Settings for bench/pages.py only: production settings plus a bench urlconf (with the
bare anchor view) and scratch locations, so nothing bench-only reaches production routes."""

import os

from questionbank.settings import *  # noqa: F403

ROOT_URLCONF = "bench.pages_urls"
STATIC_ROOT = os.environ.get("QB_BENCH_STATIC_ROOT", "/tmp/qb-bench-pages-static")
# The production file cache (questionbank/settings.py) in a scratch folder: same room for
# every student page (MAX_ENTRIES), so the warm rows measure what production serves.
# The other caches (the API's rate-limit counters) are kept as they are.
CACHES = {**CACHES,  # noqa: F405
          "default": {**CACHES["default"],  # noqa: F405
                      "LOCATION": os.environ.get("QB_BENCH_CACHE", "/tmp/qb-bench-pages-cache")}}
