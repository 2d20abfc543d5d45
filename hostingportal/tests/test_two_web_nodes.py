"""Two web nodes, one portal: a session, a sign-in lockout, an API throttle and the staff
second factor hold whichever node a request lands on (issue 27).

Two real gunicorn processes (the Procfile's gthread workers) with production settings
(DEBUG=False, one SECRET_KEY, the test database, Redis as CACHE_URL, TRUSTED_PROXY_COUNT=1
as behind one load balancer) are driven with real HTTP by bench/cross_node.py, which
alternates the nodes; the cluster trial runs the same checks against its nodes."""

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
import redis
import requests
from django.conf import settings

from bench.cross_node import (
    Browser,
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
            "--access-logfile", "-",
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


HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
# The load balancer as docs/deploy.md ("Several web nodes") asks for it: it appends the
# client's address to X-Forwarded-For (no `if-none`, no `except`), sets X-Forwarded-Proto
# itself (TLS ends there in production), and balances every request, no stickiness.
HAPROXY_CONFIG = """
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    option forwardfor
frontend portal
    bind fd@{fd}
    http-request set-header X-Forwarded-Proto https
    default_backend web_nodes
backend web_nodes
    balance roundrobin
    server a {a}
    server b {b}
"""


@pytest.fixture(scope="module")
def balancer(two_nodes, tmp_path_factory):
    if not os.path.exists(HAPROXY):
        if os.environ.get("CI"):  # .ci/run installs it: there a missing balancer fails
            pytest.fail("no haproxy")
        pytest.skip("no haproxy (apt-get install haproxy)")
    a, b = (node.url.removeprefix("http://") for node in two_nodes)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    config = tmp_path_factory.mktemp("haproxy") / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(fd=listener.fileno(), a=a, b=b))
    process = subprocess.Popen(
        [HAPROXY, "-f", str(config), "-db"], pass_fds=(listener.fileno(),),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, f"haproxy exited with {process.returncode}"
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass  # still starting
            assert time.monotonic() < deadline, "haproxy did not answer in time"
            time.sleep(0.1)
        yield url
    finally:
        process.kill()
        process.wait(10)
        listener.close()


class FromAddress(requests.adapters.HTTPAdapter):
    """Connects from another loopback address: a client of its own as the balancer sees it."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


def client_at(address, forged):
    browser = Browser(address=forged)  # what the client itself writes in X-Forwarded-For
    browser.http.mount("http://", FromAddress(address))
    return browser


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
    # Otherwise the failures were counted before the right password came: no race to lose.
    assert result["wrong_finished_before_it_was_sent"] < 5, result
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


def test_behind_haproxy_each_client_is_counted_by_its_own_address_and_needs_no_sticky_session(
    two_nodes, balancer, accounts
):
    """TRUSTED_PROXY_COUNT=1 behind one HAProxy: the nodes see each client's address, not the
    balancer's, whatever the client writes in X-Forwarded-For itself. (With 0 every client would
    be the balancer, 127.0.0.1: one lockout for all, one API budget for all.)"""
    mallory = client_at("127.0.0.2", forged="198.51.100.9")
    guesses = [mallory.sign_in(balancer, accounts.target_email, "not-the-password").status_code for _ in range(5)]
    assert guesses == [200, 200, 200, 200, 429]
    mallory.address = "198.51.100.10"  # a new forged address changes nothing
    assert mallory.sign_in(balancer, accounts.target_email, accounts.password).status_code == 429

    owner = client_at("127.0.0.3", forged="127.0.0.2")  # nor does pretending to be someone else
    assert owner.sign_in(balancer, accounts.target_email, accounts.password).status_code == 302
    marker = f"via-balancer-{os.getpid()}-{time.monotonic_ns()}"
    pages = [owner.get(f"{balancer}/servers/?{marker}").status_code for _ in range(4)]
    assert pages == [200] * 4
    assert served_by_each(two_nodes, marker, requests=4) == [2, 2]  # round robin, and the session held on both


def served_by_each(nodes, marker, *, requests, within_seconds=5.0):
    """How many requests carrying `marker` each node's access log shows. Gunicorn writes a
    request's line after its response has gone, so the last one may not be there yet."""
    deadline = time.monotonic() + within_seconds
    while True:
        served = [node.log_path.read_text().count(marker) for node in nodes]
        if sum(served) >= requests or time.monotonic() > deadline:
            return served
        time.sleep(0.05)
