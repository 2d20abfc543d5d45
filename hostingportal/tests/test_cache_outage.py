"""The shared cache (Redis: API throttles, sign-in lockout counts) stopped or frozen under a running portal.

A real redis-server on a private port, started by the test, then killed (an outage) or sent SIGSTOP (a
frozen server that keeps its connections open and never answers). Requests go through Django's test client
and the real cache backend (core.cache.RedisCache). Expected (docs/decisions.md, "The shared cache
fails open"): every request is answered in bounded time, the API answers JSON, sign-in works, the
five-failures lockout still holds (counted in the database meanwhile), and a verify after a real payment
succeeds.
"""

import contextlib
import signal
import socket
import subprocess
import time

import pytest
import redis
from axes.handlers.proxy import AxesProxyHandler
from django.test import Client

from accounts.factories import DEFAULT_PASSWORD, api_key_for

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


class PrivateRedis:
    """A redis-server of the test's own, on a free port, without persistence."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self):
        self.process.kill()
        self.process.wait(10)

    @contextlib.contextmanager
    def frozen(self):
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGCONT)

    def close(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def private_redis(settings):
    server = PrivateRedis()
    settings.CACHES = {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": server.url}}
    AxesProxyHandler.get_implementation(force=True)  # axes keeps its handler (and its cache) across requests
    yield server
    server.close()
    AxesProxyHandler.get_implementation(force=True)


def api(path, key, method="get", **data):
    client = Client(raise_request_exception=False)  # a 500 is an answer here, as it is for the customer
    call = getattr(client, method)
    return call(path, data, content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}")


def token_request(email, password):
    client = Client(raise_request_exception=False)
    return client.post("/api/v1/auth/token/", {"email": email, "password": password}, content_type="application/json")


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_with_the_cache_stopped_the_api_answers_json_and_sign_in_works(alice, private_redis):
    key = api_key_for(alice)
    assert api("/api/v1/servers/", key).status_code == 200  # the cache is in use
    private_redis.stop()

    listing = api("/api/v1/servers/", key)
    assert listing.status_code == 200 and listing["Content-Type"] == "application/json", listing.content[:200]
    issued = token_request(alice.email, DEFAULT_PASSWORD)
    assert issued.status_code == 200 and "token" in issued.json(), issued.content[:200]
    browser = Client(raise_request_exception=False)
    signed_in = browser.post("/accounts/login/", {"username": alice.email, "password": DEFAULT_PASSWORD})
    assert signed_in.status_code == 302, signed_in.content[:200]


def test_with_the_cache_stopped_five_failures_still_lock_the_pair_out(alice, bob, private_redis):
    private_redis.stop()
    codes = [token_request(alice.email, WRONG).status_code for _ in range(5)]
    assert codes == [400, 400, 400, 400, 429], codes
    locked = token_request(alice.email, DEFAULT_PASSWORD)
    assert locked.status_code == 429 and locked["Content-Type"] == "application/json"
    assert token_request(bob.email, DEFAULT_PASSWORD).status_code == 200  # nobody else is refused


def test_a_frozen_cache_holds_no_request_for_long(alice, private_redis):
    key = api_key_for(alice)
    with private_redis.frozen():
        answers = [timed(lambda: api("/api/v1/servers/", key)) for _ in range(5)]
        signed_in, sign_in_took = timed(lambda: token_request(alice.email, DEFAULT_PASSWORD))
    assert [response.status_code for response, _ in answers] == [200] * 5
    # One cache timeout at most for the first (0.5 s per operation), then the cache is skipped for a while.
    assert answers[0][1] < 2, answers[0][1]
    assert sum(took for _, took in answers[1:]) < 1, [took for _, took in answers]
    assert signed_in.status_code == 200 and sign_in_took < 2, sign_in_took


def test_after_the_cache_returns_it_is_used_again(alice, private_redis, settings):
    settings.CACHE_RETRY_AFTER_SECONDS = 0.2
    key = api_key_for(alice)
    with private_redis.frozen():
        assert api("/api/v1/servers/", key).status_code == 200
    time.sleep(0.3)
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "2/min"}
    codes = [api("/api/v1/servers/", key).status_code for _ in range(3)]
    assert codes == [200, 200, 429], codes  # the throttle counts again in Redis


def test_a_verify_after_a_real_payment_succeeds_with_the_cache_stopped(alice, plan, fake_razorpay, private_redis):
    from billing.models import Order

    key = api_key_for(alice)
    placed = api("/api/v1/orders/", key, method="post", plan=plan.slug, billing_cycle_months=1)
    assert placed.status_code == 201, placed.content[:300]
    order = Order.objects.get(number=placed.json()["number"])
    payment = fake_razorpay.pay(order.razorpay_order_id)
    private_redis.stop()
    verified = api("/api/v1/payments/verify/", key, method="post", **fake_razorpay.checkout_response(payment))
    assert verified.status_code == 200, verified.content[:300]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_unexpected_error_in_the_api_answers_json_not_an_html_page(alice, settings):
    """Whatever fails under /api/ (here the servers table locked past the statement timeout), an integrator
    gets the API's error shape, never Django's HTML error page."""
    from django.db import connection

    settings.DEBUG = False  # as in production (with DEBUG the traceback page is the answer, on purpose)

    from conftest import transaction_held_open

    key = api_key_for(alice)

    def lock_servers():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE servers_server IN ACCESS EXCLUSIVE MODE")

    with transaction_held_open(lock_servers):
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 300")
        try:
            response = api("/api/v1/servers/", key)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json", response.content[:100]
    assert "try again" in response.json()["detail"]
