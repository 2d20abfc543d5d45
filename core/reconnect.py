"""Writes that must land although the database connection was lost under them: a
PgBouncer or PostgreSQL restart ends every session, and a worker that had just sent a
mail or built a machine must still record it (issue 27's cluster trial)."""

import logging
import time

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger("core.reconnect")

CONNECTION_ERRORS = (OperationalError, InterfaceError)


def on_a_fresh_connection(work, *, seconds, what):
    """Return `work()`; when it fails on a lost connection, close that connection and
    call `work()` again on a fresh one, every half second for up to `seconds`, then
    re-raise. Outside a transaction only: inside one, the transaction died with its
    connection, so the error is raised at once. `work` must be safe to repeat (a
    compare-and-set, or a transaction of its own that was rolled back)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return work()
        except CONNECTION_ERRORS as exc:
            if connection.in_atomic_block or time.monotonic() >= deadline:
                raise
            logger.warning("db_connection_lost retrying=%s error=%s", what, str(exc).splitlines()[0])
            connection.close()  # the next query connects afresh
            time.sleep(0.5)
