"""Django's Redis cache, keeping one redis client per connection pool, with bounded waits and a breaker.

Django's RedisCacheClient builds a new redis.Redis for every cache operation,
and redis-py's constructor sets its eighty-odd response callbacks one by one:
with the throttles and the lockout counters that was a fifth of a millisecond
of CPU on every API request. A redis.Redis is safe to share between threads
(each command takes a connection from the pool and gives it back), so one is
kept per pool. After a fork, redis-py's pool notices the new process id and
opens its own connections.

The cache is on every API request and every sign-in, so it must never hold one
(docs/decisions.md, "The shared cache fails open"): every connect and every
read or write gives up after CACHE_SOCKET_TIMEOUT seconds (redis-py waits
forever by default, and a frozen Redis keeps its connections open), and after a
failure this process skips Redis for CACHE_RETRY_AFTER_SECONDS, raising
CacheUnavailable at once, so a frozen Redis costs a process one timeout per
interval instead of one per operation. The callers (throttles, lockout) decide
what an unavailable cache means for them; the errors are redis-py's, so they
catch `redis.exceptions.RedisError`.

`window_count_up` counts an API request in one round trip: a Lua script that
creates this window's count if missing, increments it and reads the previous
window's, where Django's add, incr (EXISTS then INCRBY) and get took four. The
keys are the cache's own (KEY_PREFIX, VERSION), so `cache.decr` and `cache.get`
of the same key still work. A Redis that refuses scripts (an ACL without EVAL, some
managed offerings) is counted with the three commands instead, after one warning.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.cache.backends import redis as django_redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("core.cache")

# The operations of Django's RedisCacheClient, each of which may meet a stopped or frozen Redis.
CACHE_OPERATIONS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
    "window_count_up",
    "index_add",
    "index_members",
)

# KEYS[1] this window's count, created at 0 for ARGV[1] seconds if missing; KEYS[2] the previous window's.
WINDOW_COUNT_UP = """
redis.call('SET', KEYS[1], 0, 'NX', 'EX', ARGV[1])
return {redis.call('INCR', KEYS[1]), redis.call('GET', KEYS[2])}
"""


class CacheUnavailable(RedisConnectionError):
    """The cache failed moments ago and is not asked again until CACHE_RETRY_AFTER_SECONDS have passed."""


class KeptClientRedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}  # pool index -> redis.Redis
        self._skip_until = 0.0  # time.monotonic(): Redis failed, not asked again before this
        self._skip_lock = threading.Lock()
        self._window_script = None  # redis-py's Script: the text and its SHA1, run on whichever client is asked

    def get_client(self, key=None, *, write=False):
        if time.monotonic() < self._skip_until:
            raise CacheUnavailable("the shared cache failed moments ago; not asking it again yet")
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            client = self._clients.setdefault(index, self._client(connection_pool=self._pools[index]))
        return client

    def window_count_up(self, current_key, previous_key, timeout):
        client = self.get_client(current_key, write=True)
        if self._window_script is None:
            self._window_script = client.register_script(WINDOW_COUNT_UP)
        # EVALSHA; after a Redis restart emptied its script cache, redis-py loads the script again by itself.
        current, previous = self._window_script(keys=[current_key, previous_key], args=[timeout], client=client)
        return current, 0 if previous is None else self._serializer.loads(previous)

    def index_add(self, index_keys, member, timeout):
        # Each index a sorted set of members scored by when they expire: expired ones dropped, this
        # one added or renewed, the set kept `timeout` past its latest add. MULTI/EXEC, not a script:
        # one round trip, atomic, and a Redis that refuses scripts (an ACL) still runs it.
        now = time.time()
        pipeline = self.get_client(index_keys[0], write=True).pipeline(transaction=True)
        for index_key in index_keys:
            pipeline.zremrangebyscore(index_key, "-inf", now)
            pipeline.zadd(index_key, {member: now + timeout})
            pipeline.expire(index_key, timeout)
        pipeline.execute()

    def index_members(self, index_key):
        client = self.get_client(index_key)
        return [member.decode() for member in client.zrangebyscore(index_key, f"({time.time()}", "+inf")]

    def failed(self, operation, exc):
        with self._skip_lock:
            first = time.monotonic() >= self._skip_until
            self._skip_until = time.monotonic() + settings.CACHE_RETRY_AFTER_SECONDS
        if first:
            logger.warning(
                "shared_cache_unavailable operation=%s error=%r skipping_for_s=%s",
                operation,
                exc,
                settings.CACHE_RETRY_AFTER_SECONDS,
            )


def _breaker(name):
    operation = getattr(KeptClientRedisCacheClient, name)

    def guarded(self, *args, **kwargs):
        try:
            return operation(self, *args, **kwargs)
        except CacheUnavailable:
            raise
        except (RedisConnectionError, RedisTimeoutError) as exc:
            self.failed(name, exc)
            raise

    guarded.__name__ = name
    return guarded


for _name in CACHE_OPERATIONS:
    setattr(KeptClientRedisCacheClient, _name, _breaker(_name))


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        options = params.get("OPTIONS", {})
        bounded = {
            "socket_connect_timeout": settings.CACHE_SOCKET_TIMEOUT,
            "socket_timeout": settings.CACHE_SOCKET_TIMEOUT,
            **options,
        }
        super().__init__(server, {**params, "OPTIONS": bounded})
        self._class = KeptClientRedisCacheClient

    scripts_refused = False  # set on an instance (one per thread) whose Redis refused the script

    def window_count_up(self, current_key, previous_key, timeout, version=None):
        """See `window_count_up` below: one round trip, or three where Redis runs no scripts."""
        if not self.scripts_refused:
            try:
                return self._cache.window_count_up(
                    self.make_and_validate_key(current_key, version=version),
                    self.make_and_validate_key(previous_key, version=version),
                    self.get_backend_timeout(timeout),
                )
            except ResponseError as exc:
                # An ACL without EVAL/EVALSHA, or a managed Redis with scripting off: an answer,
                # not an outage, so the breaker stays shut and the throttles would have let every
                # request through. The commands below need no script.
                logger.warning("cache_scripts_refused counting_with=add,incr,get error=%r", exc)
                self.scripts_refused = True
        return window_count_up_in_commands(self, current_key, previous_key, timeout, version=version)

    def index_add(self, index_keys, member, timeout, version=None):
        """See `index_add` below: one round trip for all the indexes."""
        keys = [self.make_and_validate_key(key, version=version) for key in index_keys]
        return self._cache.index_add(keys, member, self.get_backend_timeout(timeout))

    def index_members(self, index_key, version=None):
        return self._cache.index_members(self.make_and_validate_key(index_key, version=version))


def window_count_up(cache, current_key, previous_key, timeout):
    """Add one to the count at `current_key` (created at 0 to live `timeout` seconds if missing)
    and read the count at `previous_key`: (this count, the previous one or 0). Atomic per count,
    never a read written back. One round trip on our Redis cache; on any other backend (locmem
    in development) the backend's own add, incr and get."""
    # `cache` is usually Django's proxy of the default cache, whose backend tests swap: ask it, not its type.
    count_up_in_one_trip = getattr(cache, "window_count_up", None)
    if count_up_in_one_trip is not None:
        return count_up_in_one_trip(current_key, previous_key, timeout)
    return window_count_up_in_commands(cache, current_key, previous_key, timeout)


def window_count_up_in_commands(cache, current_key, previous_key, timeout, version=None):
    """The same with the cache API's add, incr and get: each atomic, the count never read and written back."""
    cache.add(current_key, 0, timeout=timeout, version=version)
    return cache.incr(current_key, version=version), cache.get(previous_key, 0, version=version)


def index_add(cache, index_keys, member, timeout):
    """Add `member` (a string, e.g. another key) to each of `index_keys` for `timeout` seconds,
    renewing it if there already: an index of keys that Redis cannot otherwise look up (a
    hash of what they count). Members past their time drop out. One round trip on our Redis
    cache, atomic per index; on any other backend (locmem in development, one process) a get
    and a set, where two adds at once may lose one."""
    add_in_one_trip = getattr(cache, "index_add", None)
    if add_in_one_trip is not None:
        return add_in_one_trip(index_keys, member, timeout)
    now = time.time()
    for index_key in index_keys:
        members = {m: until for m, until in cache.get(index_key, {}).items() if until > now}
        members[member] = now + timeout
        cache.set(index_key, members, timeout=timeout)
    return None


def index_members(cache, index_key):
    """The members of `index_key` (index_add) whose time has not passed."""
    members_in_one_trip = getattr(cache, "index_members", None)
    if members_in_one_trip is not None:
        return members_in_one_trip(index_key)
    now = time.time()
    return [member for member, until in cache.get(index_key, {}).items() if until > now]
