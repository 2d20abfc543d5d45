"""The API throttles count each request atomically in the shared cache, over a window
that slides (an estimate from this and the previous fixed window)."""

import os
import threading
import uuid

import pytest
import redis
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.test import RequestFactory

from core.throttles import AnonThrottle
from servers.tests.test_worker import REDIS_URL, redis_reachable

MINUTE_START = 1_800_000_000.0  # a whole minute since the epoch: window boundaries are easy to read


@pytest.fixture(autouse=True)
def _budget_of_six(settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "anon": "6/min"}


def ask(at, address="203.0.113.7"):
    """One anonymous request at time `at`; (allowed, Retry-After seconds or None)."""
    request = RequestFactory().get("/api/v1/plans/", REMOTE_ADDR=address)
    request.user = AnonymousUser()
    throttle = AnonThrottle()
    throttle.timer = lambda: at  # DRF's clock hook
    allowed = throttle.allow_request(request, None)
    return allowed, None if allowed else throttle.wait()


needs_redis = pytest.mark.skipif(not redis_reachable(), reason=f"Redis is not reachable at {REDIS_URL}")


@pytest.fixture
def redis_cache(settings):
    """The default cache is our Redis cache, under a prefix of this test's own; (prefix, raw redis client)."""
    prefix = f"throttles-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}}
    raw = redis.Redis.from_url(REDIS_URL)
    yield prefix, raw
    for key in raw.scan_iter(f"{prefix}:*"):
        raw.delete(key)


@pytest.fixture(params=["locmem", pytest.param("redis", marks=needs_redis)])
def either_cache(request, settings):
    """Development's cache (add, incr, get) and production's (one script in Redis) count alike."""
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def round_trips(monkeypatch):
    """The commands sent to Redis, one entry per send (a round trip), at the driver boundary."""
    sent = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counted(connection, command, *args, **kwargs):
        packed = b"".join(command) if isinstance(command, list) else command
        sent.append(packed.split(b"\r\n")[2].decode().upper())  # *<n> $<len> <name> ...
        return send(connection, command, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    return sent


@needs_redis
def test_an_allowed_request_is_counted_in_one_round_trip_to_redis(redis_cache, round_trips):
    assert ask(MINUTE_START + 1)[0]  # opens the connection and loads the script
    round_trips.clear()

    assert ask(MINUTE_START + 2)[0]
    assert round_trips == ["EVALSHA"]  # before: SET NX, EXISTS, INCRBY (Django's incr), GET
    for second in range(3, 7):
        ask(MINUTE_START + second)
    round_trips.clear()
    assert ask(MINUTE_START + 7) == (False, 60 - 7 + 10)  # the refusal gives its count back: a second trip
    assert round_trips[0] == "EVALSHA" and "INCRBY" in round_trips[1:], round_trips


@needs_redis
def test_counts_in_redis_carry_the_cache_prefix_and_version(redis_cache, settings):
    prefix, raw = redis_cache
    settings.CACHES = {"default": {**settings.CACHES["default"], "VERSION": 3}}
    ask(MINUTE_START + 1)
    ask(MINUTE_START + 2)

    window_key = f"throttle_anon_203.0.113.7:{int(MINUTE_START) // 60}"
    assert raw.keys(f"{prefix}:*") == [f"{prefix}:3:{window_key}".encode()]
    assert raw.get(f"{prefix}:3:{window_key}") == b"2"
    assert 110 < raw.ttl(f"{prefix}:3:{window_key}") <= 120  # kept through the next window
    assert cache.get(window_key, version=3) == 2 and cache.decr(window_key, version=3) == 1
    settings.CACHES = {"default": {**settings.CACHES["default"], "VERSION": 4}}
    assert all(ask(MINUTE_START + 3)[0] for _ in range(6))  # another version counts afresh
    assert raw.get(f"{prefix}:4:{window_key}") == b"6"


@pytest.mark.usefixtures("either_cache")
def test_the_budget_holds_within_a_window_and_a_refused_request_does_not_count():
    answers = [ask(MINUTE_START + n) for n in range(7)]
    assert [allowed for allowed, _ in answers] == [True] * 6 + [False]
    # The next minute weighs this one's six: room for one more once 1/6 of it has passed.
    assert answers[6][1] == 60 - 6 + 10
    assert [ask(MINUTE_START + 20)[0] for _ in range(3)] == [False] * 3  # refusals spent nothing
    assert ask(MINUTE_START + 70)[0] and not ask(MINUTE_START + 70)[0]
    assert ask(MINUTE_START + 5, address="203.0.113.8")[0]  # another client has its own budget


@pytest.mark.usefixtures("either_cache")
def test_the_previous_window_counts_for_the_part_of_it_still_within_the_last_minute():
    assert all(ask(MINUTE_START + 59)[0] for _ in range(6))
    halfway = MINUTE_START + 60 + 30  # half of the previous minute's six still count: three more
    assert [ask(halfway)[0] for _ in range(4)] == [True, True, True, False]
    assert ask(MINUTE_START + 60 + 55)[0]  # by then the six weigh 0.5


@pytest.mark.skipif(not redis_reachable(), reason=f"Redis is not reachable at {REDIS_URL}")
def test_requests_at_the_same_moment_spend_one_budget_in_redis(settings):
    """The finding in one process: DRF's throttle read the request times and wrote them
    back, so threads at the same moment each saw room (two web nodes: 11 to 16 of 24)."""
    settings.CACHES = {
        "default": {"BACKEND": "core.cache.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": f"throttles-{os.getpid()}"}
    }
    address = f"2001:db8::{os.getpid():x}"
    barrier, answers = threading.Barrier(8), []

    def spend():
        barrier.wait()
        answers.extend(ask(MINUTE_START + 1, address)[0] for _ in range(3))

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(answers) == 24 and answers.count(True) == 6, answers.count(True)


@pytest.fixture
def redis_without_scripts(settings, redis_cache):
    """Our Redis cache signed in as a user whose ACL forbids scripts, as some managed Redis do."""
    prefix, raw = redis_cache
    user = f"no-scripts-{uuid.uuid4().hex[:8]}"
    raw.execute_command("ACL", "SETUSER", user, "on", "nopass", "~*", "&*", "+@all", "-@scripting")
    try:
        address = REDIS_URL.split("://", 1)[1]
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://{user}:@{address}"}}
        yield prefix, raw
    finally:
        raw.execute_command("ACL", "DELUSER", user)


@needs_redis
def test_a_redis_that_refuses_scripts_still_throttles(redis_without_scripts, caplog):
    """An ACL's refusal is an answer, not an outage: the throttle fails open on RedisError, so
    without another way to count every request would have passed."""
    allowed = [ask(MINUTE_START + 1 + n)[0] for n in range(8)]
    assert allowed == [True] * 6 + [False, False]
    assert "cache_scripts_refused" in caplog.text
