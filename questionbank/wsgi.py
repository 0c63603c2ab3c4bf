"""WSGI entry point (gunicorn questionbank.wsgi)."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "questionbank.settings")

from questionbank.config import SettingsError

try:
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
except SettingsError as exc:
    sys.stderr.write(f"Configuration error: {exc}\n")
    raise SystemExit(2) from None
