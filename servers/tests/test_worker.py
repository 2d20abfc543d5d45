"""End to end with real Celery worker processes and a real Redis broker.

The kill tests reproduce the reported fault: a worker killed (kill -9) in the
middle of an attempt used to leave its server in `provisioning` for ever, with
its attempt row saying `running`, until a person ran recover_servers. Now the
attempt holds a lease and the redelivered task takes the server over once the
lease has expired, finding the machine the first attempt started.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from conftest import celery_configure
from servers.models import ProvisioningAttempt, Server

from .conftest import server_for

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WORKER_DEADLINE_SECONDS = 20
# For the kill tests: a build takes 3 s at the simulated provider, an attempt's
# lease is that plus 2 s, and Redis hands an unacknowledged message to another
# worker after 2 s. Production's figures are minutes; the mechanism is the same.
KILL_ENV = {
    "SIMULATED_PROVISIONING_DELAY_SECONDS": "3",
    "PROVISIONING_LEASE_MARGIN_SECONDS": "2",
    "CELERY_BROKER_VISIBILITY_TIMEOUT": "2",
}


def redis_reachable():
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def worker_database_url():
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


class Workers:
    """Starts real worker processes on one private queue (other test runs may share the Redis database)."""

    def __init__(self, tmp_path):
        self.queue = f"test-provisioning-{uuid.uuid4().hex[:12]}"
        self.tmp_path = tmp_path
        self.processes = []

    def start(self, *, pool="solo", **env):
        log_path = self.tmp_path / f"worker-{len(self.processes) + 1}.log"
        worker_env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PROVISIONING_BACKEND": "simulated",
            "SIMULATED_PROVISIONING_DELAY_SECONDS": "0",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            **env,
        }
        pool_options = ["--pool=solo"] if pool == "solo" else ["--pool=prefork", "--concurrency=1"]
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "hostingportal", "worker", *pool_options, "--loglevel=INFO",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=settings.BASE_DIR, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        process.log_path = log_path
        self.processes.append(process)
        return process

    def logs(self):
        return "\n".join(f"--- {p.log_path.name}\n{p.log_path.read_text()[-3000:]}" for p in self.processes)

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(transactional_db, tmp_path):
    if not redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    workers = Workers(tmp_path)
    celery_configure(task_always_eager=False, broker_url=REDIS_URL, task_default_queue=workers.queue)
    try:
        yield workers
    finally:
        workers.stop_all()
        celery_configure(task_default_queue="celery")
        client = redis.Redis.from_url(REDIS_URL)
        client.delete(workers.queue, f"_kombu.binding.{workers.queue}")


def wait_for(predicate, workers, what, deadline=WORKER_DEADLINE_SECONDS):
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; worker logs:\n{workers.logs()}")


def running_attempt(server):
    return ProvisioningAttempt.objects.filter(server=server, outcome="running").first()


def children_of(pid):
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry))
    return children


@contextmanager
def waited_on(server):
    """The customer has waited 20 minutes: past the stuck threshold, if the lease did not say otherwise."""
    Server.objects.filter(pk=server.pk).update(waiting_since=timezone.now() - timedelta(minutes=20))
    yield


def assert_active_exactly_once_with_one_machine(server, workers):
    from servers.models import SimulatedNode

    server.refresh_from_db()
    assert server.status == "active", workers.logs()
    statuses = list(server.status_changes.values_list("to_status", flat=True))
    assert statuses.count("active") == 1 and statuses[-1] == "active"
    nodes = SimulatedNode.objects.filter(server_id=server.pk)
    assert nodes.count() == 1, "the provider built a second machine"
    assert server.provider_node_id == nodes.get().node_id


@pytest.mark.postgres_only
@pytest.mark.slow
def test_a_real_worker_provisions_a_pending_server(workers, paid_order):
    process = workers.start()
    server = server_for(paid_order)  # commits: on_commit hands the task to Redis
    server.refresh_from_db()
    assert server.queued_at is not None, "the task was not handed to the broker"
    wait_for(lambda: Server.objects.get(pk=server.pk).status == "active", workers, "the server to be active")
    server.refresh_from_db()
    assert list(server.status_changes.values_list("to_status", "source")) == [
        ("pending", "verify"),
        ("provisioning", "worker"),
        ("active", "worker"),
    ]
    assert Server.objects.filter(order=paid_order).count() == 1
    # Logged by the worker process before it changed anything: it, not this process, did the work.
    assert f"provisioning_step step=claim server={server.pk} " in process.log_path.read_text()


@pytest.mark.postgres_only
@pytest.mark.slow
def test_a_worker_killed_mid_attempt_is_replaced_and_the_server_ends_active_once_with_one_machine(workers, paid_order):
    first = workers.start(**KILL_ENV)
    server = server_for(paid_order)
    attempt = wait_for(lambda: running_attempt(server), workers, "the first worker's claim")
    assert attempt.worker.endswith(f":{first.pid}")
    # The attempt is running: recovery finds nothing to requeue, however long the customer has waited.
    with waited_on(server):
        call_command("recover_servers", "--yes", "--json", stdout=open(os.devnull, "w"))
    server.refresh_from_db()
    assert (server.status, server.provisioning_attempts) == ("provisioning", 1)

    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    # A restarted worker (what a supervisor does) is handed the killed worker's
    # unacknowledged message once the visibility timeout has passed.
    time.sleep(2.5)
    workers.start(**KILL_ENV)
    wait_for(lambda: Server.objects.get(pk=server.pk).status == "active", workers, "the takeover to finish")

    assert_active_exactly_once_with_one_machine(server, workers)
    attempts = list(ProvisioningAttempt.objects.filter(server=server).values_list("number", "outcome"))
    assert attempts == [(1, "lease_expired"), (2, "succeeded")]


@pytest.mark.postgres_only
@pytest.mark.slow
def test_a_pool_child_killed_mid_attempt_is_redelivered_and_the_server_ends_active_once_with_one_machine(
    workers, paid_order
):
    worker = workers.start(pool="prefork", **KILL_ENV)
    server = server_for(paid_order)
    attempt = wait_for(lambda: running_attempt(server), workers, "the pool child's claim")
    child_pid = int(attempt.worker.rsplit(":", 1)[1])
    assert child_pid in children_of(worker.pid), "the attempt did not run in a pool child"

    os.kill(child_pid, signal.SIGKILL)
    wait_for(lambda: Server.objects.get(pk=server.pk).status == "active", workers, "the takeover to finish")

    assert worker.poll() is None, "the worker itself died"
    assert_active_exactly_once_with_one_machine(server, workers)
    attempts = list(ProvisioningAttempt.objects.filter(server=server).values_list("number", "outcome"))
    assert attempts == [(1, "lease_expired"), (2, "succeeded")]


@pytest.mark.postgres_only
@pytest.mark.slow
def test_a_real_worker_stops_a_suspended_server_and_only_then_it_is_suspended(workers, alice, plan):
    from lifecycle.tests.conftest import active_server
    from servers.models import ServerOperation
    from servers.operations import server_suspend

    process = workers.start()
    server = active_server(alice, plan)
    operation = server_suspend(server.pk, reason="overdue", source="billing")  # commits: the task goes to Redis
    wait_for(
        lambda: ServerOperation.objects.get(pk=operation.pk).status not in ("queued", "running"),
        workers,
        "the stop",
    )
    operation.refresh_from_db()
    server.refresh_from_db()
    assert operation.status == "succeeded", workers.logs()[-3000:]
    assert (server.status, server.power_state, server.suspension_reason) == ("suspended", "stopped", "overdue")
    # Logged by the worker process: it, not this process, called the backend.
    assert f"operation_step step=claim operation={operation.pk} " in process.log_path.read_text()
