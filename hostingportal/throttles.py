"""API throttles whose rates come from settings at request time (so they can be
tuned per deployment by environment variable). Counters live in the default
cache: set CACHE_URL to Redis in production so all web nodes share them."""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class SettingsRateMixin:
    def get_rate(self):
        return settings.API_THROTTLE_RATES.get(self.scope)


class AnonThrottle(SettingsRateMixin, AnonRateThrottle):
    scope = "anon"


class UserThrottle(SettingsRateMixin, UserRateThrottle):
    scope = "user"


class TokenIssueThrottle(SettingsRateMixin, AnonRateThrottle):
    """Per-IP limit on password guessing through the token endpoint."""

    scope = "token"
