"""Two web nodes, one portal: a session, a sign-in lockout, an API throttle and the staff
second factor hold whichever node a request lands on (issue 27).

Two real gunicorn processes (the Procfile's gthread workers) with production settings
(DEBUG=False, one SECRET_KEY, the test database, Redis as CACHE_URL, TRUSTED_PROXY_COUNT=1
as behind one load balancer) are driven with real HTTP by bench/cross_node.py, which
alternates the nodes; the cluster trial runs the same checks against its nodes."""

import os
import socket
import subprocess
import sys
import time

import pytest
import redis
import requests
from django.conf import settings

from bench.cross_node import (
    cross_node_accounts,
    lockout_burst_check,
    lockout_check,
    second_factor_check,
    sessions_check,
    throttle_check,
)
from servers.tests.test_worker import REDIS_URL, redis_reachable, worker_database_url

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

ANON_BUDGET = 6  # API_THROTTLE_ANON of the nodes, per minute
READY_DEADLINE_SECONDS = 45


class WebNode:
    """One gunicorn on a socket bound here (no race for a free port), logging to a file."""

    def __init__(self, name, env, log_dir):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.log_path = log_dir / f"node-{name}.log"
        fd = self.listener.fileno()
        command = [
            sys.executable, "-m", "gunicorn", "hostingportal.wsgi", "--bind", f"fd://{fd}",
            "--worker-class", "gthread", "--workers", "1", "--threads", "4", "--timeout", "30",
        ]  # fmt: skip
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, env=env, pass_fds=(fd,), stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, deadline):
        while True:
            assert self.process.poll() is None, f"node exited:\n{self.log_path.read_text()[-3000:]}"
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass  # still starting
            assert time.monotonic() < deadline, f"no /healthz in time:\n{self.log_path.read_text()[-3000:]}"
            time.sleep(0.2)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.listener.close()


@pytest.fixture(scope="module")
def two_nodes(django_db_setup, tmp_path_factory):
    if not redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    queue = f"test-two-nodes-{os.getpid()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hostingportal.tests.node_settings",
        "DEBUG": "False",
        "SECRET_KEY": "two-web-nodes-" + "s" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": worker_database_url(),
        "CONN_MAX_AGE": "0",  # nothing left connected to the test database when its test ends
        "CACHE_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "TRUSTED_PROXY_COUNT": "1",
        "API_THROTTLE_ANON": f"{ANON_BUDGET}/min",
        "RAZORPAY_KEY_ID": "rzp_test_two_nodes",
        "RAZORPAY_KEY_SECRET": "two-nodes-key-secret",
        "RAZORPAY_WEBHOOK_SECRET": "two-nodes-webhook-secret",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }
    log_dir = tmp_path_factory.mktemp("two-nodes")
    nodes = []
    try:
        nodes = [WebNode(name, env, log_dir) for name in ("a", "b")]
        deadline = time.monotonic() + READY_DEADLINE_SECONDS
        for node in nodes:
            node.wait_ready(deadline)
        yield nodes
    finally:
        for node in nodes:
            node.stop()
        redis.Redis.from_url(REDIS_URL).delete(queue, f"_kombu.binding.{queue}")


@pytest.fixture
def accounts(transactional_db):
    return cross_node_accounts()


def test_a_session_made_on_one_node_is_used_and_ended_on_the_other(two_nodes, accounts):
    a, b = two_nodes
    result = sessions_check(a.url, b.url, accounts)
    assert result["ok"], result


def test_failed_sign_ins_on_both_nodes_lock_the_pair_out_at_the_fifth_on_both(two_nodes, accounts):
    a, b = two_nodes
    result = lockout_check(a.url, b.url, accounts)
    assert result["failures_alternating_a_b"] == [200, 200, 200, 200, 429], result
    assert result["ok"], result  # refused on both nodes and the API; the same email elsewhere signs in


def test_guesses_sent_together_to_both_nodes_get_no_sixth_password_check(two_nodes, accounts):
    """The finding: a guess was checked if fewer than five failures had been counted when it
    arrived, so guesses in flight together were all checked (8 of them with 4 threads a node;
    production's 2 nodes x 3 processes x 8 threads would check 48), and the right password
    sent among them signed in."""
    a, b = two_nodes
    result = lockout_burst_check(a.url, b.url, accounts)
    assert result["right_password_while_they_are_checked"] == 429, result
    assert result["ok"], result


def test_the_anonymous_api_budget_is_one_budget_over_both_nodes_even_when_spent_at_once(two_nodes, accounts):
    a, b = two_nodes
    result = throttle_check(a.url, b.url, ANON_BUDGET)
    assert result["spent_alternating_a_b"] == [200] * ANON_BUDGET, result
    assert (result["next_on_a"], result["next_on_b"]) == (429, 429), result
    # The finding: DRF's throttle reads its list of request times and writes it back, so
    # requests at the same moment on two nodes (or two threads) each saw room: 13 and 16
    # of 24 got through a budget of 6.
    assert result["concurrent_allowed"] == ANON_BUDGET, result


def test_the_second_factor_continues_is_throttled_and_spent_across_nodes(two_nodes, accounts):
    a, b = two_nodes
    result = second_factor_check(a.url, b.url, accounts)
    assert result["ok"], result
