"""Django's Redis cache, keeping one redis client per connection pool.

Django's RedisCacheClient builds a new redis.Redis for every cache operation,
and redis-py's constructor sets its eighty-odd response callbacks one by one:
with the throttles and the lockout counters that was a fifth of a millisecond
of CPU on every API request. A redis.Redis is safe to share between threads
(each command takes a connection from the pool and gives it back), so one is
kept per pool. After a fork, redis-py's pool notices the new process id and
opens its own connections.
"""

from django.core.cache.backends import redis as django_redis


class KeptClientRedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}  # pool index -> redis.Redis

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            client = self._clients.setdefault(index, self._client(connection_pool=self._pools[index]))
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = KeptClientRedisCacheClient
