"""The shared cache (core.cache): Django's Redis cache with one redis
client per connection pool instead of one per call, against a real Redis."""

import os
import threading

import pytest
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError

from core.cache import CacheUnavailable, RedisCache, window_count_up

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def cache():
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": f"test-cache-{os.getpid()}"})
    yield cache
    cache.clear()


def test_one_client_per_pool_and_the_cache_works(cache):
    client = cache._cache.get_client(write=True)

    assert cache._cache.get_client(write=False) is client  # one server: reads and writes share the pool
    assert cache._cache.get_client(write=True) is client
    # Django's own client builds a new one each call: what this backend is for.
    plain = RedisCacheClient([REDIS_URL])
    assert plain.get_client(write=True) is not plain.get_client(write=True)

    cache.set("a", {"n": 1}, 30)
    assert cache.get("a") == {"n": 1}
    assert cache.incr("a-count", 1) if cache.add("a-count", 0, 30) else True
    assert cache.get("a-count") == 1
    cache.delete("a")
    assert cache.get("a") is None


def test_the_kept_client_is_shared_by_threads(cache):
    errors = []

    def count():
        try:
            for _ in range(50):
                cache.incr("shared")
        except Exception as exc:  # noqa: BLE001 - reported below, the test fails with it
            errors.append(exc)

    cache.set("shared", 0, 30)
    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert cache.get("shared") == 400


def test_settings_use_it_for_a_redis_cache_url():
    from hostingportal.tests.test_settings import PRODUCTION_ENV, run_manage

    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    result = run_manage("shell", "--no-imports", "-c", code, **PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "core.cache.RedisCache"


def test_a_window_is_counted_up_and_the_previous_one_read_in_one_call(cache):
    assert cache.window_count_up("w:2", "w:1", 30) == (1, 0)  # created at 0, then counted
    cache.set("w:1", 5, 30)
    assert cache.window_count_up("w:2", "w:1", 30) == (2, 5)
    assert cache.get("w:2") == 2 and cache.decr("w:2") == 1  # the cache's own key: get and decr still work


def test_other_backends_count_a_window_with_their_own_add_incr_and_get():
    from django.core.cache.backends.locmem import LocMemCache

    locmem = LocMemCache("window-count", {})
    locmem.set("w:1", 4)
    assert [window_count_up(locmem, "w:2", "w:1", 30) for _ in range(2)] == [(1, 4), (2, 4)]


def test_a_failed_window_count_opens_the_breaker(settings):
    settings.CACHE_RETRY_AFTER_SECONDS = 30
    stopped = RedisCache("redis://127.0.0.1:1/0", {})  # nothing listens on port 1

    with pytest.raises(RedisConnectionError) as first:
        stopped.window_count_up("w:2", "w:1", 30)
    with pytest.raises(CacheUnavailable):  # skipped at once, not asked again
        stopped.window_count_up("w:2", "w:1", 30)
    assert not isinstance(first.value, CacheUnavailable)
