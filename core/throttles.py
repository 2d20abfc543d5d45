"""API throttles whose rates come from settings at request time (so they can be
tuned per deployment by environment variable). Counters live in the default
cache: set CACHE_URL to Redis in production so all web nodes share them."""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from core.client_address import client_address


class SettingsRateMixin:
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
