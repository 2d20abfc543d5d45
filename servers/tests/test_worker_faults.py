"""Issue 23 items 12, 13 and 15 with real Celery worker processes and a real Redis broker.
Each failed on the code before its fix (see each test).

12: an operation whose worker is gone (killed; or its task cancelled on a broker blip) was
    stranded for the whole 10-minute lease; now the lease is short and renewed by a
    heartbeat while the backend works, so it is taken over one short lease later.
13: the per-minute sweeps shared the work queue and expired behind a billing day's work;
    now they run on their own queue, consumed by the Procfile's `sweeper`.
15: a customer's unsuspend waited behind every stop the billing day had queued; now
    customer-facing work goes first.
"""

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from conftest import celery_configure
from lifecycle.tests.conftest import active_server
from outbox.models import OutboundMail
from outbox.services import mail_queue
from servers.models import Server, ServerOperation
from servers.operations import operations_sweep, server_suspend, server_unsuspend, suspensions_decide

from .test_worker import REDIS_URL, redis_reachable, wait_for, worker_database_url

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]


class Processes:
    """Real worker processes on private queues (other test runs may share the Redis database)."""

    def __init__(self, tmp_path):
        suffix = uuid.uuid4().hex[:12]
        self.queue, self.sweep_queue = f"test-work-{suffix}", f"test-sweeps-{suffix}"
        self.tmp_path, self.processes = tmp_path, []

    def env(self, **extra):
        return {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CELERY_SWEEP_QUEUE": self.sweep_queue,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PROVISIONING_BACKEND": "simulated",
            "SIMULATED_PROVISIONING_DELAY_SECONDS": "0",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            **extra,
        }

    def start(self, command: str, **env):
        """`command` as a Procfile writes it (`celery -A hostingportal worker ...`), run by a shell."""
        log_path = self.tmp_path / f"process-{len(self.processes) + 1}.log"
        command = command.replace("celery -A", f"exec {shlex.quote(sys.executable)} -m celery -A", 1)
        command += " --without-gossip --without-mingle --without-heartbeat"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                ["bash", "-c", command], cwd=settings.BASE_DIR, env=self.env(**env), stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        process.log_path = log_path
        self.processes.append(process)
        return process

    def ready(self, process):
        wait_for(lambda: " ready." in process.log_path.read_text(), self, "the worker to start")

    def logs(self):
        return "\n".join(f"--- {p.log_path.name}\n{p.log_path.read_text()[-3000:]}" for p in self.processes)

    def kill(self, process):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def workers(transactional_db, tmp_path):
    if not redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    processes = Processes(tmp_path)
    celery_configure(task_always_eager=False, broker_url=REDIS_URL, task_default_queue=processes.queue)
    try:
        yield processes
    finally:
        processes.stop_all()
        celery_configure(task_default_queue="celery")
        client = redis.Redis.from_url(REDIS_URL)
        for queue in (processes.queue, processes.sweep_queue):
            client.delete(*client.keys(f"{queue}*"), f"_kombu.binding.{queue}")


def solo_worker(workers, **env):
    process = workers.start("celery -A hostingportal worker --pool=solo --loglevel=INFO", **env)
    workers.ready(process)
    return process


def operation_status(operation):
    return ServerOperation.objects.get(pk=operation.pk)


def test_an_operation_whose_worker_is_killed_mid_call_is_taken_over_within_a_short_lease(workers, alice, plan):
    # Reproduction: with a 10-minute lease the operation stayed `running` (and the customer's
    # server not stopped) for ten minutes; no sweep could take it over before.
    slow = solo_worker(workers, SIMULATED_PROVISIONING_DELAY_SECONDS="60", SERVER_OPERATION_LEASE_SECONDS="2")
    server = active_server(alice, plan)
    operation = server_suspend(server.pk, reason="staff", source="test")  # commits: the task goes to Redis
    wait_for(lambda: operation_status(operation).status == "running", workers, "the first worker's claim")

    # A live worker keeps its lease past the lease's length: the heartbeat renews it.
    time.sleep(3)
    running = operation_status(operation)
    assert running.lease_until > timezone.now(), workers.logs()
    assert operations_sweep() == 0 and operation_status(operation).attempts == 1

    workers.kill(slow)  # the worker is gone mid-call
    killed_at = time.monotonic()
    wait_for(lambda: operation_status(operation).lease_until < timezone.now(), workers, "the lease to run out", 10)
    solo_worker(workers, SERVER_OPERATION_LEASE_SECONDS="2")
    assert operations_sweep() == 1  # the per-minute sweep hands it on
    wait_for(lambda: operation_status(operation).status == "succeeded", workers, "the takeover", 20)
    assert time.monotonic() - killed_at < 30
    done = operation_status(operation)
    server.refresh_from_db()
    assert done.attempts == 2 and (server.status, server.power_state) == ("suspended", "stopped")


def procfile_workers():
    """The Procfile's celery worker lines, by process name."""
    lines = (settings.BASE_DIR / "Procfile").read_text().splitlines()
    found = {}
    for line in lines:
        name, _, command = line.partition(":")
        if re.search(r"\bcelery\b.*\bworker\b", command):
            found[name.strip()] = command.strip()
    return found


def routed_queue(workers, task_name):
    """Where the deployment's routing sends `task_name`, on this test's private queue names."""
    route = (getattr(settings, "CELERY_TASK_ROUTES", None) or {}).get(task_name, {})
    sweep_queue = getattr(settings, "CELERY_SWEEP_QUEUE", None)
    return workers.sweep_queue if route.get("queue") and route["queue"] == sweep_queue else workers.queue


def test_a_sweep_sent_behind_a_billing_days_work_runs_before_it_expires(workers, alice, plan):
    # Reproduction: with one queue, the sweep waited behind the stops and was discarded unrun
    # when it expired (60 s in production, 4 s here, with 24 stops of 1 s each queued first).
    processes = [
        workers.start(command, SIMULATED_PROVISIONING_DELAY_SECONDS="1") for command in procfile_workers().values()
    ]
    for process in processes:
        workers.ready(process)
    servers = [active_server(alice, plan) for _ in range(24)]
    with transaction.atomic():
        locked = list(Server.objects.select_for_update().filter(pk__in=[s.pk for s in servers]))
        suspensions_decide(locked, reason="overdue", source="run_billing")  # one publish after commit
    with transaction.atomic():
        receipt = mail_queue("receipt:test", to=["payer@example.com"], subject="Receipt", body="b", by_sweeper=True)
    wait_for(lambda: ServerOperation.objects.filter(status="running").exists(), workers, "the stops to start")

    from outbox.tasks import sweep_outbox

    sweep_outbox.apply_async(expires=4, queue=routed_queue(workers, sweep_outbox.name))
    wait_for(
        lambda: OutboundMail.objects.get(pk=receipt.pk).status == "sent", workers, "the sweep to send the receipt", 12
    )
    assert ServerOperation.objects.filter(status__in=["queued", "running"]).exists(), "the sweep came after the work"


def test_a_customers_unsuspend_goes_before_the_billing_days_stops(workers, alice, plan):
    # Reproduction: the unsuspend queued after 30 stops ran after all 30 (first in, first out).
    solo_worker(workers, SIMULATED_PROVISIONING_DELAY_SECONDS="0.4")
    paying = active_server(alice, plan)
    Server.objects.filter(pk=paying.pk).update(status="suspended", suspension_reason="overdue", power_state="stopped")
    servers = [active_server(alice, plan) for _ in range(30)]
    with transaction.atomic():
        locked = list(Server.objects.select_for_update().filter(pk__in=[s.pk for s in servers]))
        stops = suspensions_decide(locked, reason="overdue", source="run_billing")
    wait_for(lambda: ServerOperation.objects.filter(status="succeeded").exists(), workers, "the stops to start")

    start = server_unsuspend(paying.pk, source="payment")  # the customer paid their renewal
    wait_for(lambda: operation_status(start).status == "succeeded", workers, "the customer's start", 30)
    waiting = ServerOperation.objects.filter(pk__in=[stop.pk for stop in stops], status="queued").count()
    assert waiting >= 20, f"the start waited behind {30 - waiting} stops"
    paying.refresh_from_db()
    assert paying.status == "active"
