"""Hand work to Celery without letting a broker outage fail the caller.

Whatever must not be lost is already a database row when this runs (a pending
server, a stored webhook event); the task is only the fast path and a periodic
sweeper is the safety net. So a broker error is logged loudly and swallowed
here, and nowhere else.
"""

import logging

from kombu.exceptions import OperationalError

logger = logging.getLogger("core.queueing")

# Fail fast when the broker is down: no connection retries inside a request.
FAST_FAIL_OPTIONS = {"retry": False}
# Work that may wait behind the rest (a billing day's stops and destroys). A Redis
# broker hands out priority 0 (the default) before 9 on the same queue, so a
# customer's unsuspend queued after a thousand stops still goes first; brokers
# without priorities (RabbitMQ without x-max-priority) ignore it.
BULK_PRIORITY = 9


def enqueue(task, *args, countdown=None, priority=None, **kwargs) -> bool:
    """Send `task(*args, **kwargs)`, in `countdown` seconds if given, with a broker
    `priority` if given (BULK_PRIORITY). False (logged) when the broker refused."""
    options = {"priority": priority} if priority is not None else {}
    try:
        task.apply_async(args=args, kwargs=kwargs, countdown=countdown, **options, **FAST_FAIL_OPTIONS)
    except (OperationalError, OSError) as exc:
        logger.error("enqueue_failed task=%s args=%s error=%s", task.name, args, exc)
        return False
    return True
