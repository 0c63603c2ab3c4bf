"""ASGI entry point."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "questionbank.settings")

from questionbank.config import SettingsError

try:
    from django.core.asgi import get_asgi_application

    application = get_asgi_application()
except SettingsError as exc:
    sys.stderr.write(f"Configuration error: {exc}\n")
    raise SystemExit(2) from None
