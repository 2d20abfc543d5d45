"""Periodic jobs act once however many beats send them (core.periodic): two copies
of a job sent at once run its body once, a copy within the gap does nothing, a
dead worker's lease is taken over only once it has run out, and the next send
after the gap runs. Real PostgreSQL, real threads and a real killed process."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from billing.models import WebhookEvent
from conftest import periodic_job_interval_passes
from core.models import PeriodicJob
from ops.tasks import retry_webhook_events
from servers.tests.test_worker import children_of, wait_for, worker_database_url, workers  # noqa: F401 - a fixture

JOB = "ops-retry-webhook-events"  # every minute; its body's first query reads the webhook events


def in_threads(count, call):
    """Run `call` in `count` threads released together; each thread has its own
    database connection, as two workers do. Returns their results."""
    results = [None] * count
    start = threading.Barrier(count)

    def run(index):
        try:
            start.wait()
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def skipped(result):
    return isinstance(result, dict) and result.get("skipped") is True


class TableLock:
    """Another session holds an exclusive lock on a table, so a job's body that
    reads it waits there: its run lasts as long as the test says."""

    def __init__(self, model):
        self.table = model._meta.db_table
        # Never prepared, as the portal's own connections behind PgBouncer: psycopg prepares a statement
        # run 5 times (a long wait's polls), and a later session given the same server connection by
        # a transaction-pooling PgBouncer fails to prepare it again ("_pg3_0" already exists).
        self.session = psycopg.connect(
            worker_database_url().replace("postgres://", "postgresql://"), autocommit=False, prepare_threshold=None
        )

    def __enter__(self):
        self.session.execute(f'LOCK TABLE "{self.table}" IN ACCESS EXCLUSIVE MODE')
        return self

    def waiting(self) -> int:
        """Sessions waiting for the lock (asked from our own session, which sees them)."""
        row = self.session.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass", [self.table]
        ).fetchone()
        return row[0]

    def wait_for_waiters(self, count, seconds=20):
        deadline = time.monotonic() + seconds
        while self.waiting() < count:
            assert time.monotonic() < deadline, f"nobody waited on {self.table} within {seconds} s"
            time.sleep(0.05)

    def __exit__(self, *exc_info):
        self.session.rollback()
        self.session.close()
        return False


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_eight_workers_handed_the_same_job_at_the_same_instant_run_its_body_once():
    results = in_threads(8, retry_webhook_events)
    ran = [result for result in results if not skipped(result)]
    assert ran == [0], results  # the body's own answer (no event to retry), once
    assert PeriodicJob.objects.get(name=JOB).runs == 1


def second_copy_while_the_first_runs(meanwhile=lambda lock: None):
    """Start the job; once its run waits inside its body (on a locked table), call
    `meanwhile(lock)`, then send a second copy. Returns (the second copy did not
    finish while the first ran, {"first": its result, "second": its result})."""
    results = {}
    with TableLock(WebhookEvent) as lock:
        first = threading.Thread(target=lambda: results.update(first=retry_webhook_events()) or connection.close())
        first.start()
        lock.wait_for_waiters(1)  # the first run is inside its body
        meanwhile(lock)
        second = threading.Thread(target=lambda: results.update(second=retry_webhook_events()) or connection.close())
        second.start()
        second.join(timeout=10)
        blocked = second.is_alive()
    first.join(timeout=30)
    second.join(timeout=30)
    return blocked, results


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_copy_sent_while_the_job_runs_is_skipped_because_the_lease_is_held():
    blocked, results = second_copy_while_the_first_runs()
    assert not blocked, "the second copy ran its body too (it waited on the first run's table)"
    assert results["second"] == {"skipped": True, "job": JOB, "reason": "held"}
    assert results["first"] == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_copy_within_the_gap_is_skipped_and_the_next_send_after_the_gap_runs():
    assert retry_webhook_events() == 0
    assert retry_webhook_events() == {"skipped": True, "job": JOB, "reason": "recent"}  # the other beat's copy
    periodic_job_interval_passes(JOB)
    assert retry_webhook_events() == 0
    job = PeriodicJob.objects.get(name=JOB)
    assert (job.runs, job.last_outcome, job.lease_until) == (2, "succeeded", None)
    assert job.last_finished_at >= job.last_started_at


DEAD_WORKER = """
import django
django.setup()
from ops.tasks import retry_webhook_events
retry_webhook_events()
"""


@pytest.mark.postgres_only
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_was_killed_is_taken_over_only_once_its_lease_has_run_out(tmp_path):
    lease_seconds = 3
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hostingportal.settings",
        "DATABASE_URL": worker_database_url(),
        "PERIODIC_JOB_LEASE_SECONDS": str(lease_seconds),
    }
    log_path = tmp_path / "worker.log"
    with TableLock(WebhookEvent) as lock, open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-c", DEAD_WORKER], cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            lock.wait_for_waiters(1)  # the worker is inside the job's body
            time.sleep(lease_seconds + 1)  # longer than its lease: its heartbeat keeps it
            os.kill(worker.pid, signal.SIGKILL)
        finally:
            worker.kill()
            worker.wait()
    assert retry_webhook_events() == {"skipped": True, "job": JOB, "reason": "held"}, log_path.read_text()
    periodic_job_interval_passes(JOB)  # the next minute's send comes while the dead worker's lease still holds
    assert retry_webhook_events() == {"skipped": True, "job": JOB, "reason": "held"}
    dead = PeriodicJob.objects.get(name=JOB)
    assert dead.last_outcome == "running" and dead.holder == f"{socket.gethostname()} pid {worker.pid}"

    while PeriodicJob.objects.get(name=JOB).lease_until >= timezone.now():
        time.sleep(0.1)  # nobody renews it: it runs out within one lease
    assert retry_webhook_events() == 0  # taken over
    job = PeriodicJob.objects.get(name=JOB)
    assert (job.runs, job.last_outcome, job.lease_until) == (2, "succeeded", None)
    assert job.holder == f"{socket.gethostname()} pid {os.getpid()}"


@pytest.mark.django_db
def test_staff_read_when_each_job_last_ran_and_who_holds_it_and_cannot_change_it(staff):
    retry_webhook_events()
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/core/periodicjob/").content.decode()
    assert JOB in page and "succeeded" in page
    assert client.get("/admin/core/periodicjob/add/").status_code == 403
    row = client.get(f"/admin/core/periodicjob/{JOB}/change/")
    assert row.status_code == 200 and b"Save" not in row.content


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_heartbeat_lost_its_connection_once_keeps_its_lease(settings):
    """PgBouncer or PostgreSQL restarting mid-run ends the heartbeat's session once; the
    next beat must renew on a fresh connection, or the lease runs out under a live run
    and the next send of the job runs it a second time alongside."""
    settings.PERIODIC_JOB_LEASE_SECONDS = 1.5  # a beat every 0.5 s

    def end_the_heartbeats_session(lock):
        table = PeriodicJob._meta.db_table
        lease = f'SELECT lease_until FROM "{table}" WHERE name = %s'  # on the lock's session: the pool is left alone
        first_lease = lock.session.execute(lease, [JOB]).fetchone()[0]
        deadline = time.monotonic() + 10
        while lock.session.execute(lease, [JOB]).fetchone()[0] == first_lease:  # its connection is open once renewed
            assert time.monotonic() < deadline, "the heartbeat did not renew the lease within 10 s"
            time.sleep(0.02)
        # The session whose last statement renewed the lease. "Every other session" would also end
        # the idle server connections of a transaction-pooling PgBouncer (15 in one run, not 1).
        heartbeats = lock.session.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE %s ORDER BY state_change DESC LIMIT 1",
            [f'UPDATE "{table}" SET "lease_until" = %'],
        ).fetchall()
        assert heartbeats == [(True,)]  # the heartbeat's session, ended
        time.sleep(3)  # two leases: only renewals keep it
        periodic_job_interval_passes(JOB)  # the next minute's send comes while the run goes on

    blocked, results = second_copy_while_the_first_runs(end_the_heartbeats_session)
    assert not blocked, "the next send ran the job a second time alongside (it waited on the first run's table)"
    assert results["second"] == {"skipped": True, "job": JOB, "reason": "held"}
    assert results["first"] == 0


@pytest.mark.postgres_only
@pytest.mark.slow
def test_a_run_whose_worker_process_was_killed_is_run_again_once_its_lease_runs_out(workers):  # noqa: F811 - the fixture
    """The pool process running the job is killed: Celery hands its message back at
    once (reject_on_worker_lost), while the dead run's lease still holds. That copy
    must not be dropped as `held`: it comes back when the lease has run out and
    takes the dead run over (it never finished), without waiting for the job's gap
    (for the billing day the next send is an hour away, for the audit a day)."""
    # Longer than Celery takes to replace the pool process and hand the message back (about 5 s here).
    worker = workers.start(pool="prefork", PERIODIC_JOB_LEASE_SECONDS="10")
    with TableLock(WebhookEvent) as lock:
        retry_webhook_events.apply_async(queue=workers.queue)  # as the sweeper's queue would hand it over
        lock.wait_for_waiters(1, seconds=30)  # the pool process is inside the job's body
        (pool_process,) = children_of(worker.pid)
        os.kill(pool_process, signal.SIGKILL)
    job = wait_for(
        lambda: PeriodicJob.objects.filter(name=JOB, last_outcome="succeeded").first(),
        workers,
        "the killed run to be taken over and finish",
        deadline=45,
    )
    assert job.runs == 2, workers.logs()  # the killed run, then the take-over: nothing more
    assert job.holder == f"{socket.gethostname()} pid {children_of(worker.pid)[0]}"
    log = worker.log_path.read_text()
    assert "periodic_job_skipped name=ops-retry-webhook-events reason=held" in log  # the message came back early
    assert "periodic_job_resent name=ops-retry-webhook-events" in log
