"""The claim engine: leases, attempt budgets and backoff, shared by provisioning,
server operations, the outbox and the webhook retries.

A worker takes a row by compare-and-set: one UPDATE whose WHERE says what may be
taken (queued and due, or running under a lease that has ended) and which writes
the new lease and counts the attempt. Of any number of tasks and sweeps racing
for one row, exactly one matches (PostgreSQL re-checks the WHERE against the
winner's committed row); the others update nothing and walk away. A lease is a
deadline, never "it looks stuck": only `lease_until < now` is taken over. A long
call keeps its lease alive with a heartbeat, so leases can be short and a worker
that died is replaced within one lease.

Attempts count every claim, takeovers included: a row whose worker keeps dying
runs out of its budget like one whose backend keeps failing.
"""

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

logger = logging.getLogger("core.claims")


@dataclass(frozen=True)
class RetryBudget:
    """How often a kind of work is tried, and how long it waits between tries:
    `base_seconds` doubling per attempt up to `cap_seconds`."""

    max_attempts: int
    base_seconds: float
    cap_seconds: float

    def delay_seconds(self, attempts: int) -> float:
        """The wait after the `attempts`-th failed attempt (1 = the first)."""
        return min(self.base_seconds * 2 ** max(attempts - 1, 0), self.cap_seconds)

    def spent(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


# Each kind's budget, in one place.
# Provisioning: 15 s doubling to 10 minutes, 10 attempts (plus the task's jitter): 45-60 minutes.
PROVISIONING_RETRIES = RetryBudget(max_attempts=10, base_seconds=15, cap_seconds=600)
# A stop/start/reboot/destroy: 15 s doubling to 10 minutes, 8 attempts (about 25 minutes).
OPERATION_RETRIES = RetryBudget(max_attempts=8, base_seconds=15, cap_seconds=600)
# Mail: a minute doubling to an hour, 10 attempts (about 9 hours: a mail server's outage).
MAIL_RETRIES = RetryBudget(max_attempts=10, base_seconds=60, cap_seconds=3600)
# A stored Razorpay delivery that failed: retried by the per-minute sweep, 20 times.
WEBHOOK_RETRIES = RetryBudget(max_attempts=20, base_seconds=60, cap_seconds=60)


def lease_deadline(seconds: float, now=None):
    """A lease runs from the claim, never from an earlier `now` (a long sweep
    reaches its last rows minutes after it started)."""
    return max(now or timezone.now(), timezone.now()) + timedelta(seconds=seconds)


def lease_expired(now, field: str = "lease_until") -> Q:
    """Rows whose lease ran out by `now` (no lease at all counts: rows claimed before leases existed)."""
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": now})


def claim(queryset, claimable: Q, *, lease_until, attempts_field: str = "attempts", **fields) -> int:
    """Compare-and-set: write the lease and count the attempt on the rows of
    `queryset` that are `claimable`, in one UPDATE. Returns how many were taken
    (0: someone else has it, or it is not due)."""
    return queryset.filter(claimable).update(
        lease_until=lease_until, **{attempts_field: F(attempts_field) + 1}, **fields
    )


def lease_renew(queryset, seconds: float) -> bool:
    """Push the lease of a row we still hold (the caller's queryset says how it
    knows: status and attempt number) `seconds` ahead. False when it is no longer ours."""
    return bool(queryset.update(lease_until=timezone.now() + timedelta(seconds=seconds)))


class LeaseHeartbeat:
    """Renews a lease every `seconds / 3` while a long call runs (a backend's
    stop or destroy), in a thread of its own with its own database connection.

        with LeaseHeartbeat(ServerOperation.objects.filter(pk=..., attempts=n), seconds=90):
            backend.destroy(spec)

    A worker that dies stops beating, so the row is taken over one lease later
    instead of one worst-case call later. A renewal that fails (the database is
    away) is logged and tried again at the next beat; the lease then runs out on
    its own, which is what a lost worker looks like too. Nothing touches the
    database until the first beat is due, so short calls cost nothing."""

    def __init__(self, queryset, *, seconds: float):
        self.queryset, self.seconds = queryset, seconds
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.beat, name="lease-heartbeat", daemon=True)
        self.renewals = 0

    def beat(self):
        try:
            while not self.stopped.wait(self.seconds / 3):
                try:
                    if not lease_renew(self.queryset, self.seconds):
                        logger.warning("lease_lost model=%s", self.queryset.model.__name__)
                        return
                    self.renewals += 1
                except Exception:  # noqa: BLE001 - a database blip: the next beat tries again, the lease may lapse
                    logger.exception("lease_renew_failed model=%s", self.queryset.model.__name__)
                    # Afresh: Django never reopens a connection the server ended, so every later
                    # renewal would fail on it and the lease run out under a live run.
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        self.thread.join()
        return False
