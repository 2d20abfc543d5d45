"""API throttles whose rates come from settings at request time (so they can be
tuned per deployment by environment variable). Counters live in the default
cache: set CACHE_URL to Redis in production so all web nodes share them.
While that cache is unavailable the throttles let requests through (docs/decisions.md,
"The shared cache fails open"): a limit on request rates is not worth refusing every
customer, and password guessing stays bounded by the lockout, which then counts in the
database."""

import logging

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from core.client_address import client_address

logger = logging.getLogger("core.throttles")


class SettingsRateMixin:
    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except RedisError as exc:
            logger.warning("throttle_skipped scope=%s cache_error=%r", self.scope, exc)
            return True

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
