"""API throttles whose rates come from settings at request time (so they can be
tuned per deployment by environment variable). Counters live in the default
cache: set CACHE_URL to Redis in production so all web nodes share them.

Each request is counted with the cache's atomic increment, never by reading a count
and writing it back: DRF's own throttle reads its list of request times and stores
it again, so requests arriving together on two nodes (or two threads) each saw room,
and 11 to 16 of 24 simultaneous requests passed a budget of 6
(hostingportal/tests/test_two_web_nodes.py). The window slides as an estimate, from
two fixed windows: the previous minute's count, weighted by how much of it still lies
within the last minute, plus this minute's (docs/decisions.md, "Throttles count
atomically"). On our Redis cache that is one round trip per request
(core.cache.window_count_up: a script creates this window's count if missing, adds
one and reads the previous window's; Django's add, incr and get took four, and an
anonymous request passes two throttles); a refusal gives its count back with a
second call. Other caches (locmem in development) count with their add, incr and get.
While that cache is unavailable the throttles let requests through (docs/decisions.md,
"The shared cache fails open"): a limit on request rates is not worth refusing every
customer, and password guessing stays bounded by the lockout, which then counts in the
database."""

import logging
import math

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from core.cache import window_count_up
from core.client_address import client_address

logger = logging.getLogger("core.throttles")


class SettingsRateMixin:
    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        try:
            return self.count_request()
        except RedisError as exc:
            logger.warning("throttle_skipped scope=%s cache_error=%r", self.scope, exc)
            return True

    def count_request(self):
        """Count this request in the current window and let it through while the estimate of
        requests within the last `duration` seconds is within the budget. A refused request
        takes its count back, so hammering a closed door does not keep it closed."""
        window, into = divmod(self.timer(), self.duration)
        current_key, previous_key = f"{self.key}:{int(window)}", f"{self.key}:{int(window) - 1}"
        # Kept through the next window too, which weighs it as its previous one.
        current, previous = window_count_up(self.cache, current_key, previous_key, timeout=2 * self.duration)
        if previous * (1 - into / self.duration) + current <= self.num_requests:
            return True
        self.cache.decr(current_key)
        self.wait_seconds = self.seconds_until_room(previous, current - 1, into)
        return False

    def seconds_until_room(self, previous, current, into):
        """When one more request would fit, with `previous` and `current` counted so far."""
        room = self.num_requests - current - 1  # what the previous window's weight must fall to
        if room >= 0 and previous > 0:
            return self.duration * (1 - room / previous) - into
        # This window is full by itself: wait for it to end and then to weigh little enough.
        return self.duration - into + self.duration * max(0.0, 1 - (self.num_requests - 1) / max(current, 1))

    def wait(self):
        return math.ceil(self.wait_seconds)

    def get_rate(self):
        return settings.API_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        # DRF's default trusts the whole client-sent X-Forwarded-For, so rotating that
        # header reset the count; this is the address the lockout uses too.
        return client_address(request)


class AnonThrottle(SettingsRateMixin, AnonRateThrottle):
    scope = "anon"


class UserThrottle(SettingsRateMixin, UserRateThrottle):
    scope = "user"


class TokenIssueThrottle(SettingsRateMixin, AnonRateThrottle):
    """Per-IP limit on password guessing through the token endpoint."""

    scope = "token"
