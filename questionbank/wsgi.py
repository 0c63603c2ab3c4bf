"""WSGI entry point (gunicorn questionbank.wsgi)."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "questionbank.settings")

from questionbank.config import SettingsError

try:
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    # gunicorn runs no system checks: refuse to serve when stored endpoint secrets
    # cannot be read (questionbank.checks), with the check's sentence.
    from questionbank.checks import endpoint_secrets_key

    for problem in endpoint_secrets_key():
        if problem.is_serious():
            raise SettingsError(f"{problem.msg} {problem.hint}")
except SettingsError as exc:
    sys.stderr.write(f"Configuration error: {exc}\n")
    raise SystemExit(2) from None
