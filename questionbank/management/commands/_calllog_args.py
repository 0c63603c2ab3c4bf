"""Shared argument parsing for the call-log commands (export_call_logs, purge_call_logs)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw]?)\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks", "": "days"}


def parse_duration(value: str) -> timedelta:
    """"90d", "12h", "2w", "30m", or a plain number of days."""
    match = _DURATION.match(str(value).lower())
    if not match or int(match.group(1)) <= 0:
        raise CommandError(
            f"“{value}” is not a length of time; write e.g. 90d (days), 12h (hours) or 2w "
            "(weeks)."
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_moment(value: str, *, name: str) -> datetime:
    """A date (midnight, site time zone), a date and time, or a duration ago ("7d")."""
    if _DURATION.match(str(value).lower()):
        return timezone.now() - parse_duration(value)
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(
                f"--{name} “{value}” is not a date; write YYYY-MM-DD, "
                "YYYY-MM-DDTHH:MM, or a time ago such as 7d."
            )
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment
