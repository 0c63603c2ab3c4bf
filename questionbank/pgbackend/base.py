"""Django's PostgreSQL backend with a cheaper health check (ENGINE for postgres:// URLs).

Django's ``CONN_HEALTH_CHECKS`` sends ``SELECT 1`` before the first query of every
request that reuses a persistent connection: a round trip that costs as much as the
query a cached page needs. Here the check is skipped when the connection ran a statement
less than ``ALIVE_WINDOW`` seconds ago without an error (HikariCP's "alive bypass
window"): under load every request would be checked against a connection that just
worked. A connection that sat idle (overnight, or through a database restart) is still
checked, and a failed statement still makes Django test and replace the connection at
the end of that request, as without this backend.
"""

from __future__ import annotations

import time

from django.db.backends.postgresql import base

ALIVE_WINDOW = 1.0  # seconds


class DatabaseWrapper(base.DatabaseWrapper):
    _used_at: float | None = None

    def create_cursor(self, name=None):
        self._used_at = time.monotonic()
        return super().create_cursor(name)

    def close_if_health_check_failed(self):
        if (self.connection is not None and self.health_check_enabled
                and not self.health_check_done and not self.errors_occurred
                and self._used_at is not None
                and time.monotonic() - self._used_at < ALIVE_WINDOW):
            self.health_check_done = True  # used a moment ago: no round trip
            return
        super().close_if_health_check_failed()
