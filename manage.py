#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "questionbank.settings")
    from questionbank.config import SettingsError

    try:
        import questionbank.settings  # noqa: F401  (fail here, in one sentence, on bad config)
    except SettingsError as exc:
        sys.stderr.write(f"Configuration error: {exc}\n")
        sys.exit(2)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
