"""Lockout on the three sign-in doors (django-axes, counters in the cache, in PostgreSQL
while the cache is unavailable): 5 failures for one email from one client address within
15 minutes lock that pair for 15 minutes."""

import io
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import redis
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.factories import DEFAULT_PASSWORD, UserFactory
from accounts.models import User
from alerts.models import Incident
from conftest import in_threads
from security.models import SignInAttemptCount

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def login_page(client, email, password, **headers):
    return client.post("/accounts/login/", {"username": email, "password": password}, **headers)


def admin_login(client, email, password, **headers):
    return client.post("/admin/login/?next=/admin/", {"username": email, "password": password}, **headers)


def api_token(client, email, password, **headers):
    return APIClient().post("/api/v1/auth/token/", {"email": email, "password": password}, format="json", **headers)


def signed_in(door, response):
    if door is api_token:
        return response.status_code == 200
    return response.status_code == 302


DOORS = [login_page, admin_login, api_token]


@pytest.fixture
def victim(db):
    return UserFactory(email="victim@example.com", is_staff=True)


def fail(door, client, email, times, **headers):
    return [door(client, email, WRONG, **headers).status_code for _ in range(times)]


@pytest.mark.parametrize("door", DOORS, ids=lambda door: door.__name__)
def test_five_failures_lock_the_email_out_even_with_the_right_password(client, victim, door):
    codes = fail(door, client, victim.email, 4)
    assert 429 not in codes
    assert door(client, victim.email, WRONG).status_code == 429  # the fifth
    locked = door(client, victim.email, DEFAULT_PASSWORD)
    assert locked.status_code == 429 and int(locked["Retry-After"]) == 15 * 60
    if door is api_token:
        assert "Try again in 15 minutes" in locked.json()["detail"]
    else:
        assert "Try again in 15 minutes" in locked.text
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("door", DOORS, ids=lambda door: door.__name__)
def test_four_failures_do_not_lock(client, victim, door):
    fail(door, client, victim.email, 4)
    assert signed_in(door, door(client, victim.email, DEFAULT_PASSWORD))


@pytest.mark.parametrize("door", DOORS, ids=lambda door: door.__name__)
def test_other_emails_and_other_addresses_are_unaffected(client, victim, door):
    neighbour = UserFactory(email="neighbour@example.com", is_staff=True)
    fail(door, client, victim.email, 5, REMOTE_ADDR="198.51.100.1")
    assert door(client, victim.email, DEFAULT_PASSWORD, REMOTE_ADDR="198.51.100.1").status_code == 429
    assert signed_in(door, door(client, neighbour.email, DEFAULT_PASSWORD, REMOTE_ADDR="198.51.100.1"))
    client.logout()
    assert signed_in(door, door(client, victim.email, DEFAULT_PASSWORD, REMOTE_ADDR="198.51.100.2"))


def test_failures_on_one_door_count_on_the_others(client, victim):
    fail(login_page, client, victim.email, 2)
    fail(admin_login, client, victim.email, 2)
    fail(api_token, client, victim.email, 1)
    assert api_token(client, victim.email, DEFAULT_PASSWORD).status_code == 429
    assert login_page(client, victim.email, DEFAULT_PASSWORD).status_code == 429


def test_a_token_issued_resets_the_count_as_a_page_sign_in_does(client, victim, settings):
    """Each sign-in takes an attempt before its password is checked (security.lockout); the
    API's door signs in without Django's login(), so it hands its attempt back itself."""
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "token": "100/min"}
    assert fail(api_token, client, victim.email, 4) == [400] * 4
    assert api_token(client, victim.email, DEFAULT_PASSWORD).status_code == 200
    assert fail(api_token, client, victim.email, 4) == [400] * 4
    assert [api_token(client, victim.email, DEFAULT_PASSWORD).status_code for _ in range(6)] == [200] * 6


def test_changing_the_case_of_the_email_does_not_dodge_the_lockout(client, victim):
    for typed in [
        "Victim@example.com",
        "VICTIM@EXAMPLE.COM",
        " victim@example.com",
        "victim@Example.com",
        "viCtim@example.com",
    ]:
        login_page(client, typed, WRONG)
    assert login_page(client, victim.email, DEFAULT_PASSWORD).status_code == 429


def test_the_lockout_lifts_after_the_cool_off(client, victim, settings):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=2)
    fail(login_page, client, victim.email, 5)
    assert login_page(client, victim.email, DEFAULT_PASSWORD).status_code == 429
    time.sleep(2.2)
    assert login_page(client, victim.email, DEFAULT_PASSWORD).status_code == 302


@pytest.mark.parametrize("door", DOORS, ids=lambda door: door.__name__)
def test_rotating_x_forwarded_for_without_a_trusted_proxy_changes_nothing(client, victim, door, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(5):
        door(client, victim.email, WRONG, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert door(client, victim.email, DEFAULT_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429


@pytest.mark.parametrize("door", DOORS, ids=lambda door: door.__name__)
def test_behind_one_proxy_the_address_it_appended_is_the_one_locked(client, victim, door, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(5):  # the client rotates what it writes; the proxy appends its real address
        door(client, victim.email, WRONG, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.7")
    rotated = door(client, victim.email, DEFAULT_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99, 198.51.100.7")
    assert rotated.status_code == 429
    client.logout()
    elsewhere = door(client, victim.email, DEFAULT_PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert signed_in(door, elsewhere)


def test_staff_are_alerted_once_on_a_burst_of_lockouts(client, settings, django_capture_on_commit_callbacks):
    settings.LOCKOUT_BURST_THRESHOLD = 3
    settings.ALERT_EMAILS = ["ops@example.com"]
    for n in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            fail(login_page, client, f"target{n}@example.com", 6)
    incident = Incident.objects.get()
    assert incident.key.startswith("sign-in-lockout-burst:") and "3" in incident.title
    assert incident.notified_at is not None


WEB_NODE = """
import sys, django
django.setup()
from django.test import Client
email, password, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
codes = [Client().post("/accounts/login/", {"username": email, "password": password}).status_code for _ in range(times)]
print(codes[-1])
"""


def web_node_signs_in(email, password, times=1):
    """A separate portal process (a second web node) sharing only the database and CACHE_URL."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CACHE_URL": REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "hostingportal.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", WEB_NODE, email, password, str(times)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_counters_live_in_the_shared_cache_so_every_web_node_sees_them():
    """With CACHE_URL on Redis, failures counted by one process lock the pair on another."""
    shared = redis.Redis.from_url(REDIS_URL)
    victim = UserFactory(email="victim@example.com")
    try:
        assert web_node_signs_in(victim.email, WRONG, times=5) == 429
        assert any(shared.scan_iter("*axes-*"))
        assert web_node_signs_in(victim.email, DEFAULT_PASSWORD) == 429
    finally:
        for key in shared.scan_iter("*axes-*"):
            shared.delete(key)


def test_a_right_password_that_does_not_sign_in_takes_no_attempt_for_good(client):
    """A customer's right password at the staff door is refused after it was checked
    (not a staff account): that is not a guess, and five of them must not lock the
    customer out of their own sign-in for 15 minutes."""
    customer = UserFactory(email="customer@example.com", is_staff=False)
    refused = [admin_login(client, customer.email, DEFAULT_PASSWORD).status_code for _ in range(5)]
    assert refused == [200] * 5  # the admin's form again: not a staff account
    assert signed_in(login_page, login_page(client, customer.email, DEFAULT_PASSWORD))


@pytest.fixture
def cache_down(settings):
    """The shared cache is a Redis where nothing listens: every call to it raises RedisError
    (the real backend, core.cache), so the lockout counts in PostgreSQL."""
    settings.CACHES = {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    AxesProxyHandler.get_implementation(force=True)  # axes keeps its handler across requests
    yield
    AxesProxyHandler.get_implementation(force=True)


@pytest.fixture
def passwords_checked(monkeypatch):
    """Every password the sign-in checked (ModelBackend calls User.check_password)."""
    checked = []
    check_password = User.check_password

    def counted(user, raw_password):
        checked.append(raw_password)
        return check_password(user, raw_password)

    monkeypatch.setattr(User, "check_password", counted)
    return checked


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_with_the_cache_down_simultaneous_guesses_get_five_passwords_checked_not_twelve(cache_down, passwords_checked):
    """Each guess takes its attempt from the pair's row in PostgreSQL before its password is
    checked; counted after the check (axes' database handler), all twelve were checked."""
    victim = UserFactory(email="victim@example.com")
    guesses = [f"guess-{n}" for n in range(12)]
    codes, errors = in_threads(
        [lambda guess=guess: login_page(Client(), victim.email, guess).status_code for guess in guesses]
    )
    assert not errors, errors
    assert len(passwords_checked) == 5, passwords_checked
    assert sorted(codes) == [200] * 4 + [429] * 8  # the fifth failure answers 429 too
    assert login_page(Client(), victim.email, DEFAULT_PASSWORD).status_code == 429
    assert len(passwords_checked) == 5


def test_with_the_cache_down_five_failures_lock_and_the_sixth_is_not_checked(
    client, victim, cache_down, passwords_checked
):
    assert fail(login_page, client, victim.email, 5) == [200] * 4 + [429]
    assert admin_login(client, victim.email, DEFAULT_PASSWORD).status_code == 429
    assert len(passwords_checked) == 5
    assert SignInAttemptCount.objects.get().attempts == 5  # the refused attempt took nothing


def test_with_the_cache_down_a_right_password_refused_at_the_staff_door_gives_its_attempt_back(client, cache_down):
    customer = UserFactory(email="customer@example.com", is_staff=False)
    fail(login_page, client, customer.email, 3)
    refused = [admin_login(client, customer.email, DEFAULT_PASSWORD).status_code for _ in range(3)]
    assert refused == [200] * 3  # the admin's form again: not a staff account
    assert fail(login_page, client, customer.email, 1) == [200]  # four attempts kept, not seven
    assert signed_in(login_page, login_page(client, customer.email, DEFAULT_PASSWORD))


def test_with_the_cache_down_a_success_resets_the_pair(client, victim, cache_down):
    fail(api_token, client, victim.email, 4)
    assert signed_in(api_token, api_token(client, victim.email, DEFAULT_PASSWORD))
    assert fail(login_page, client, victim.email, 4) == [200] * 4
    assert signed_in(login_page, login_page(client, victim.email, DEFAULT_PASSWORD))
    assert not SignInAttemptCount.objects.exists()


def test_with_the_cache_down_the_lockout_lifts_after_the_cool_off(client, victim, cache_down):
    fail(login_page, client, victim.email, 5)
    assert login_page(client, victim.email, DEFAULT_PASSWORD).status_code == 429
    SignInAttemptCount.objects.update(expires_at=timezone.now())  # as if the 15 minutes had passed
    assert fail(login_page, client, victim.email, 4) == [200] * 4  # a fresh count: five again
    assert signed_in(login_page, login_page(client, victim.email, DEFAULT_PASSWORD))


@pytest.mark.parametrize(
    "command",
    [
        ["axes_reset_username", "victim@example.com"],
        ["axes_reset_ip", "127.0.0.1"],
        ["axes_reset_ip_username", "127.0.0.1", "victim@example.com"],
    ],
    ids=lambda command: command[0],
)
def test_with_the_cache_down_a_reset_lifts_the_lockout(client, victim, cache_down, command):
    fail(login_page, client, victim.email, 5)
    assert login_page(client, victim.email, DEFAULT_PASSWORD).status_code == 429
    call_command(*command, stdout=io.StringIO())
    assert signed_in(login_page, login_page(client, victim.email, DEFAULT_PASSWORD))


@pytest.fixture
def shared_redis_cache(settings):
    """The shared cache is a real Redis (keys under a prefix of the test's own)."""
    prefix = f"lockout-{os.getpid()}-{time.monotonic_ns()}"
    settings.CACHES = {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}}
    shared = redis.Redis.from_url(REDIS_URL)
    yield shared
    for key in shared.scan_iter(f"{prefix}:*"):
        shared.delete(key)


@pytest.mark.django_db
def test_a_pair_locked_in_the_cache_stays_locked_when_one_cache_command_fails(
    shared_redis_cache, passwords_checked, monkeypatch
):
    """The reviewer's finding: a refused guess whose give-back (INCRBY -1) got no answer was
    counted again in the database, from nought, and five more passwords were checked."""
    victim = UserFactory(email="victim-mid@example.com")
    client = Client(REMOTE_ADDR="198.51.100.77")

    def guess(n):
        return client.post("/accounts/login/", {"username": victim.email, "password": f"guess-{n}"}).status_code

    assert [guess(n) for n in range(6)] == [200] * 4 + [429, 429]  # locked in Redis
    assert len(passwords_checked) == 5
    send = redis.connection.AbstractConnection.send_packed_command
    failed = []

    def one_lost_reply(connection, command, *args, **kwargs):  # at the driver: Redis answers all but one
        packed = b"".join(command) if isinstance(command, list) else command
        if not failed and b"INCRBY" in packed and b"-1" in packed:
            failed.append(packed)
            raise redis.exceptions.ConnectionError("one lost reply")
        return send(connection, command, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", one_lost_reply)
    assert [guess(n) for n in range(6, 12)] == [429] * 6
    assert failed and len(passwords_checked) == 5
    assert client.post("/accounts/login/", {"username": victim.email, "password": DEFAULT_PASSWORD}).status_code == 429


@pytest.mark.django_db
def test_a_pair_locked_in_the_cache_stays_locked_when_the_cache_goes_down(
    shared_redis_cache, passwords_checked, settings
):
    victim = UserFactory(email="victim-down@example.com")
    client = Client(REMOTE_ADDR="198.51.100.78")

    def guess(n):
        return client.post("/accounts/login/", {"username": victim.email, "password": f"guess-{n}"}).status_code

    assert [guess(n) for n in range(5)] == [200] * 4 + [429]
    settings.CACHES = {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    assert [guess(n) for n in range(5, 10)] == [429] * 5
    assert len(passwords_checked) == 5
    assert client.post("/accounts/login/", {"username": victim.email, "password": DEFAULT_PASSWORD}).status_code == 429


@pytest.mark.parametrize(
    "command",
    [
        ["axes_reset_username", "Victim@Example.com"],
        ["axes_reset_ip", "127.0.0.1"],
        ["axes_reset"],
    ],
    ids=lambda command: command[0],
)
def test_with_the_cache_up_a_reset_lifts_the_lockout(client, victim, shared_redis_cache, command):
    fail(login_page, client, victim.email, 5)
    assert login_page(client, victim.email, DEFAULT_PASSWORD).status_code == 429
    out = io.StringIO()
    call_command(*command, stdout=out)
    assert "attempts removed" in out.getvalue()
    assert signed_in(login_page, login_page(client, victim.email, DEFAULT_PASSWORD))


@pytest.mark.parametrize(
    "command",
    [["axes_reset_username", "victim@example.com"], ["axes_reset_ip", "198.51.100.1"]],
    ids=lambda command: command[0],
)
def test_with_the_cache_up_a_reset_leaves_other_locked_pairs_locked(client, victim, shared_redis_cache, command):
    neighbour = UserFactory(email="neighbour@example.com")
    fail(login_page, client, victim.email, 5, REMOTE_ADDR="198.51.100.1")
    fail(login_page, client, neighbour.email, 5, REMOTE_ADDR="198.51.100.2")
    fail(login_page, client, victim.email, 5, REMOTE_ADDR="198.51.100.2")
    call_command(*command, stdout=io.StringIO())
    assert signed_in(login_page, login_page(client, victim.email, DEFAULT_PASSWORD, REMOTE_ADDR="198.51.100.1"))
    client.logout()
    assert login_page(client, neighbour.email, DEFAULT_PASSWORD, REMOTE_ADDR="198.51.100.2").status_code == 429
    if command[0] == "axes_reset_ip":  # the victim from the other address is still locked too
        assert login_page(client, victim.email, DEFAULT_PASSWORD, REMOTE_ADDR="198.51.100.2").status_code == 429


def test_with_the_cache_down_a_reset_by_email_reads_it_as_sign_in_does(client, victim, cache_down):
    fail(login_page, client, victim.email, 5)
    call_command("axes_reset_username", " Victim@Example.com", stdout=io.StringIO())
    assert signed_in(login_page, login_page(client, victim.email, DEFAULT_PASSWORD))


def test_in_a_per_process_cache_a_reset_by_email_lifts_the_lockout_too(client, victim):
    """locmem (development): the pairs indexes are a get and a set there."""
    fail(login_page, client, victim.email, 5)
    assert login_page(client, victim.email, DEFAULT_PASSWORD).status_code == 429
    call_command("axes_reset_username", "VICTIM@example.com", stdout=io.StringIO())
    assert signed_in(login_page, login_page(client, victim.email, DEFAULT_PASSWORD))
