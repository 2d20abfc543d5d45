"""End to end with a real Celery worker process and a real Redis broker."""

import os
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from conftest import celery_configure
from servers.models import Server

from .conftest import server_for

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WORKER_DEADLINE_SECONDS = 20


def redis_reachable():
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def worker_database_url():
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(transactional_db, tmp_path):
    """A worker on its own queue (other test runs may share the Redis database), killed afterwards."""
    if not redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    queue = f"test-provisioning-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PROVISIONING_BACKEND": "simulated",
        "SIMULATED_PROVISIONING_DELAY_SECONDS": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "hostingportal", "worker", "--pool=solo", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    celery_configure(task_always_eager=False, broker_url=REDIS_URL, task_default_queue=queue)
    try:
        yield process, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        celery_configure(task_default_queue="celery")
        client = redis.Redis.from_url(REDIS_URL)
        client.delete(queue, f"_kombu.binding.{queue}")


@pytest.mark.postgres_only
@pytest.mark.slow
def test_a_real_worker_provisions_a_pending_server(worker, paid_order):
    process, log_path = worker
    started = time.monotonic()
    server = server_for(paid_order)  # commits: on_commit hands the task to Redis
    server.refresh_from_db()
    assert server.queued_at is not None, "the task was not handed to the broker"
    while time.monotonic() - started < WORKER_DEADLINE_SECONDS and process.poll() is None:
        server.refresh_from_db()
        if server.status == "active":
            break
        time.sleep(0.2)
    log = log_path.read_text()
    assert server.status == "active", f"server is {server.status}; worker log:\n{log[-3000:]}"
    assert list(server.status_changes.values_list("to_status", "source")) == [
        ("pending", "verify"),
        ("provisioning", "worker"),
        ("active", "worker"),
    ]
    assert Server.objects.filter(order=paid_order).count() == 1
    # Logged by the worker process before it changed anything: it, not this process, did the work.
    assert f"provisioning_step step=claim server={server.pk} " in log
