"""Periodic jobs that act once, however many beats send them.

Beat only sends messages; two beats (a standby, one started by mistake, or one
restarted mid-minute that sends the minute's jobs again) send each job twice.
So the guard sits where the job runs: every periodic task is wrapped in
`periodic_job`, which runs its body only after winning the job's row
(core.models.PeriodicJob) by compare-and-set, in one statement:

- the lease is free or has run out (never "it looks stuck": a worker killed
  mid-run leaves a lease that runs out on its own, and is then taken over), and
- the job's last start is older than its gap, half its interval in the beat
  schedule (the schedule is the one source of both), so a second beat's copy
  of the same minute's sweep, sent a few seconds later, does nothing; unless
  the last run never finished (its worker died: the lease ran out on a run
  still marked running), which is taken over at once.

A copy skipped because a run holds the lease is sent again, once, to arrive
just after that lease runs out (`resend_after_lease`): a killed worker's
message comes back at once and would otherwise be dropped while the dead run's
lease still holds, leaving the billing day an hour late, the audit a day.

The lease is a row, not a PostgreSQL session lock: it holds behind a
transaction-pooling PgBouncer, where a session lock would be taken on one
server connection and released on another. The loser logs
`periodic_job_skipped name=… reason=held|recent` and returns a small JSON
saying so. A run keeps its lease alive with a heartbeat, so the lease is short
(PERIODIC_JOB_LEASE_SECONDS) however long the run: the billing day over 100k
servers or the daily audit hold it for minutes, a dead worker's for one lease.

Cost: one INSERT ... ON CONFLICT DO UPDATE to start a run and one UPDATE to end
it, per job per run; a loser pays the first plus one SELECT for its log line.
The manage.py commands (run_billing, audit_ledger, reconcile_payments...) are
ops' explicit runs and do not take the lease.
"""

import functools
import logging
import os
import socket
from datetime import timedelta

from celery import current_app, current_task
from celery.schedules import maybe_schedule
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.utils import timezone

from .claims import LeaseHeartbeat
from .models import PeriodicJob

logger = logging.getLogger("core.periodic")

# A run may start again once this fraction of its interval has passed since the last start.
GAP_FRACTION = 0.5


def job_holder() -> str:
    """Who runs a job, for the admin and the logs: the host and the process."""
    return f"{socket.gethostname()} pid {os.getpid()}"


def schedule_entry_of(task_name: str) -> tuple[str, float]:
    """The beat schedule entry that sends `task_name`: its name and its interval
    in seconds. The schedule (hostingportal/schedule.py) is the one source."""
    found = [
        (name, entry["schedule"])
        for name, entry in current_app.conf.beat_schedule.items()
        if entry["task"] == task_name
    ]
    if len(found) != 1:
        raise ImproperlyConfigured(f"periodic job {task_name}: {len(found)} beat schedule entries send it, need one")
    name, schedule = found[0]
    run_every = getattr(maybe_schedule(schedule), "run_every", None)
    if run_every is None:
        raise ImproperlyConfigured(f"periodic job {name}: needs an interval (seconds), not {schedule!r}")
    return name, run_every.total_seconds()


def schedule_intervals() -> dict[str, float]:
    """{beat schedule entry name: interval in seconds} for the entries with an interval."""
    intervals = {}
    for name, entry in current_app.conf.beat_schedule.items():
        run_every = getattr(maybe_schedule(entry["schedule"]), "run_every", None)
        if run_every is not None:
            intervals[name] = run_every.total_seconds()
    return intervals


def periodic_job_start(name: str, *, gap_seconds: float, lease_seconds: float, holder: str, now=None) -> int | None:
    """Take job `name`'s lease if it is free (or ran out) and its last start is
    at least `gap_seconds` ago; writes the row on a job's first run.

    One statement, atomic in the database: of any number of workers racing,
    exactly one gets a row back (PostgreSQL re-checks the WHERE against the
    winner's committed row; a first-time INSERT race waits for the winner's
    commit, then does the same). Returns the run's number (the row's `runs`,
    which identifies this run to the heartbeat and the finish), or None: someone
    holds it, or it ran too recently."""
    now = now or timezone.now()
    using = router.db_for_write(PeriodicJob)
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(PeriodicJob._meta.db_table)
    column = {field.name: quote(field.column) for field in PeriodicJob._meta.concrete_fields}
    sql = (
        f"INSERT INTO {table} ({column['name']}, {column['lease_until']}, {column['holder']}, {column['runs']}, "
        f"{column['last_started_at']}, {column['last_outcome']}, {column['last_error']}) "
        f"VALUES (%s, %s, %s, 1, %s, %s, '') "
        f"ON CONFLICT ({column['name']}) DO UPDATE SET {column['lease_until']} = EXCLUDED.{column['lease_until']}, "
        f"{column['holder']} = EXCLUDED.{column['holder']}, {column['runs']} = {table}.{column['runs']} + 1, "
        f"{column['last_started_at']} = EXCLUDED.{column['last_started_at']}, "
        f"{column['last_outcome']} = EXCLUDED.{column['last_outcome']}, {column['last_error']} = '' "
        f"WHERE ({table}.{column['lease_until']} IS NULL OR {table}.{column['lease_until']} < %s) "
        f"AND ({table}.{column['last_started_at']} IS NULL OR {table}.{column['last_started_at']} <= %s "
        f"OR {table}.{column['last_outcome']} = %s) "
        f"RETURNING {column['runs']}"
    )
    field = PeriodicJob._meta.get_field
    params = [
        name,
        field("lease_until").get_db_prep_value(now + timedelta(seconds=lease_seconds), connection),
        holder,
        field("last_started_at").get_db_prep_value(now, connection),
        PeriodicJob.Outcome.RUNNING,
        field("lease_until").get_db_prep_value(now, connection),
        field("last_started_at").get_db_prep_value(now - timedelta(seconds=gap_seconds), connection),
        PeriodicJob.Outcome.RUNNING,  # with its lease run out: a run whose worker died, never finished
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else row[0]


def periodic_job_finish(name: str, run: int, outcome: str, error: str = "") -> bool:
    """Free the lease of run `run` and record how it ended. False (logged) when
    the row is no longer this run's: it outlived its lease and was taken over."""
    ended = PeriodicJob.objects.filter(name=name, runs=run).update(
        lease_until=None, last_finished_at=timezone.now(), last_outcome=outcome, last_error=error[:2000]
    )
    if not ended:
        logger.warning("periodic_job_lease_lost name=%s run=%s", name, run)
    return bool(ended)


def skip_reason(name: str, now) -> tuple[str, object]:
    """Why a start lost, for the log: `held` (a run holds the lease) or `recent`;
    and until when the lease is held (None when it is not)."""
    job = PeriodicJob.objects.filter(name=name).only("lease_until").first()
    if job and job.lease_until and job.lease_until >= now:
        return "held", job.lease_until
    return "recent", None


# The keyword a re-sent copy carries (taken off before the body runs): it is re-sent only once.
RESENT = "periodic_job_resent"


def resend_after_lease(name: str, lease_until, now, interval_seconds: float) -> bool:
    """Send this task again to arrive just after the lease it lost to runs out.

    A copy skipped as `held` is either another beat's (the run holding the lease
    ends soon, and the re-sent copy then finds it `recent` and does nothing) or
    the message of a run whose worker was killed, handed back at once by
    reject_on_worker_lost: dropping it would leave the job unrun until its next
    send, an hour for the billing day, a day for the audit. Re-sent once only, so
    a run that hangs does not breed messages. Only from a worker (a direct call
    in a test or a shell is not re-sent), to the queue the copy came from."""
    task = current_task
    if task is None or task.request.called_directly or task.request.is_eager:
        return False
    wait = max((lease_until - now).total_seconds(), 0.0) + 1.0
    options = {"countdown": wait, "expires": wait + interval_seconds}
    routing_key = (task.request.delivery_info or {}).get("routing_key")
    if routing_key:
        options["queue"] = routing_key
    task.apply_async(kwargs={RESENT: True}, **options)
    logger.info("periodic_job_resent name=%s after_seconds=%.1f", name, wait)
    return True


def periodic_job(body):
    """Wrap a periodic Celery task's body (under @shared_task) so it runs only
    when it wins its job's lease and its gap has passed; see the module's doc.
    Returns the body's result, or `{"skipped": true, "job": name, "reason": ...}`."""
    task_name = f"{body.__module__}.{body.__name__}"  # the name Celery gives the task

    @functools.wraps(body)
    def run_once(*args, **kwargs):
        resent = kwargs.pop(RESENT, False)
        name, interval_seconds = schedule_entry_of(task_name)
        lease_seconds = settings.PERIODIC_JOB_LEASE_SECONDS
        now = timezone.now()
        holder = job_holder()
        run = periodic_job_start(
            name, gap_seconds=interval_seconds * GAP_FRACTION, lease_seconds=lease_seconds, holder=holder, now=now
        )
        if run is None:
            reason, lease_until = skip_reason(name, now)
            logger.info("periodic_job_skipped name=%s reason=%s", name, reason)
            if reason == "held" and not resent:
                resend_after_lease(name, lease_until, now, interval_seconds)
            return {"skipped": True, "job": name, "reason": reason}
        logger.info("periodic_job_started name=%s run=%s holder=%s", name, run, holder)
        try:
            with LeaseHeartbeat(PeriodicJob.objects.filter(name=name, runs=run), seconds=lease_seconds):
                result = body(*args, **kwargs)
        except BaseException as exc:
            try:
                periodic_job_finish(name, run, PeriodicJob.Outcome.FAILED, error=f"{type(exc).__name__}: {exc}")
            except Exception:  # noqa: BLE001 - the database is away too: the lease runs out on its own
                logger.exception("periodic_job_finish_failed name=%s run=%s", name, run)
            raise
        periodic_job_finish(name, run, PeriodicJob.Outcome.SUCCEEDED)
        logger.info("periodic_job_finished name=%s run=%s", name, run)
        return result

    run_once.periodic_job_task = task_name
    return run_once
