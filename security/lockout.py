"""Sign-in lockout, carried out by django-axes (settings: AXES_*): 5 failed sign-ins
for one email from one client address within 15 minutes lock that pair out for 15
minutes on /accounts/login/, /admin/login/ and POST /api/v1/auth/token/ alike. The
counters live in the default cache (Redis in production, shared by every web node);
while that cache is unavailable they are counted in the database (axes' own tables),
so the rule holds through a Redis outage and no one is refused wholesale.
This module holds what axes calls back: the handler that counts, the email it counts
by, the page or JSON it answers with, and the alert for a burst of lockouts."""

import contextlib
import logging
from datetime import UTC, timedelta

from axes.handlers.base import AbstractAxesHandler, AxesBaseHandler
from axes.handlers.cache import AxesCacheHandler
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cache_timeout, get_client_cache_keys, get_client_username, get_failure_limit
from axes.signals import user_locked_out
from django.conf import settings
from django.core.cache import cache
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from redis.exceptions import RedisError

from alerts.services import incident_open

logger = logging.getLogger("security.lockout")

LOCKOUT_MESSAGE = "Too many failed sign-ins for this email from your address. Try again in 15 minutes."


class CacheOrDatabaseAxesHandler(AbstractAxesHandler, AxesBaseHandler):
    """Axes' cache handler, and its database handler for any call the cache cannot answer.

    In the cache, a sign-in takes one of the pair's five attempts before its password is
    checked (`is_allowed`), by an atomic increment: axes counts a failure only after the
    check, so guesses in flight together were all checked (one per thread of every web
    node) and the right password among them signed in. A refused attempt gives its count
    back; a failed one keeps it; a successful one resets the pair (AXES_RESET_ON_SUCCESS).

    A failure counted in the database during an outage is not seen by the cache once it is back (and
    the reverse): for those 15 minutes a guesser may get up to twice five tries, never an unlimited
    number, and no customer is locked out by the outage itself."""

    def __init__(self):
        self.in_cache = AxesCacheHandler()
        self.in_cache.cache = cache  # the proxy, not the backend of the moment (tests swap CACHES)
        self.in_database = AxesDatabaseHandler()

    def counted(self, method, *args, **kwargs):
        try:
            return getattr(self.in_cache, method)(*args, **kwargs)
        except RedisError as exc:
            logger.warning("lockout_counts_in_database call=%s cache_error=%r", method, exc)
            return getattr(self.in_database, method)(*args, **kwargs)

    def is_allowed(self, request, credentials=None):
        if (
            credentials is None
            or self.is_blacklisted(request, credentials)
            or self.is_whitelisted(request, credentials)
        ):
            return super().is_allowed(request, credentials)
        try:
            return self.attempt_take(request, credentials)
        except RedisError as exc:
            logger.warning("lockout_counts_in_database call=is_allowed cache_error=%r", exc)
            return super().is_allowed(request, credentials)  # counts through get_failures: the database now

    def attempt_take(self, request, credentials):
        """True, with the attempt counted, while the pair has attempts left; False (nothing
        counted) once it has had its five."""
        keys = get_client_cache_keys(request, credentials)
        counts = [attempt_count_up(key, get_cache_timeout(request)) for key in keys]
        if max(counts) <= get_failure_limit(request, credentials):
            request.axes_attempt_counted, request.axes_attempt_keys = max(counts), keys
            return True
        for key in keys:
            # A sign-in that succeeded meanwhile deleted the count: nothing to give back then.
            with contextlib.suppress(ValueError):
                cache.decr(key)
        return False

    def get_failures(self, request, credentials=None):
        return self.counted("get_failures", request, credentials)

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        counted = getattr(request, "axes_attempt_counted", None)
        if counted is None:  # refused before its password was checked, or counted in the database
            return self.counted("user_login_failed", sender, credentials, request, **kwargs)
        try:  # the 15 minutes run from the latest failure, as in axes' own cache handler
            for key in get_client_cache_keys(request, credentials):
                cache.touch(key, get_cache_timeout(request))
        except RedisError as exc:
            logger.warning("lockout_cool_off_not_renewed cache_error=%r", exc)
        request.axes_failures_since_start = counted
        if counted >= get_failure_limit(request, credentials):
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )

    def user_logged_in(self, sender, request, user, **kwargs):
        return self.counted("user_logged_in", sender, request, user, **kwargs)

    def user_logged_out(self, sender, request, user, **kwargs):
        return self.counted("user_logged_out", sender, request, user, **kwargs)

    def reset_attempts(self, *, ip_address=None, username=None, ip_or_username=False):
        """Both stores: a reset (e.g. axes_reset) must clear what either counted."""
        cleared = self.in_database.reset_attempts(
            ip_address=ip_address, username=username, ip_or_username=ip_or_username
        )
        try:
            cleared += self.in_cache.reset_attempts(
                ip_address=ip_address, username=username, ip_or_username=ip_or_username
            )
        except RedisError as exc:
            logger.warning("lockout_reset_cache_skipped cache_error=%r", exc)
        return cleared

    def post_save_access_attempt(self, instance, **kwargs):
        """Nothing to do (axes' proxy calls it on every saved attempt row)."""

    def post_delete_access_attempt(self, instance, **kwargs):
        """Nothing to do."""


def attempt_count_up(key, timeout):
    """The key's count plus one, made at 1 if missing. Made and raised in two steps (the
    cache API has no upsert), so a successful sign-in resetting the pair in between is
    answered by making it again."""
    for _ in range(3):
        if cache.add(key, 1, timeout=timeout):
            return 1
        try:
            return cache.incr(key)
        except ValueError:
            continue  # deleted by a reset after our add found it: add it again
    raise RedisError(f"the count {key} kept vanishing")


def lockout_attempt_give_back(request):
    """A sign-in whose password was right but which was refused after the check (a
    customer at the staff door) was no guess: its attempt is given back, or five of
    them would lock the customer out of their own sign-in for the cool-off."""
    keys = getattr(request, "axes_attempt_keys", None)
    if not keys:
        return
    request.axes_attempt_counted = request.axes_attempt_keys = None
    try:
        for key in keys:
            with contextlib.suppress(ValueError):  # a reset or the cool-off removed it: nothing to give back
                cache.decr(key)
    except RedisError as exc:
        logger.warning("lockout_attempt_not_given_back cache_error=%r", exc)


def lockout_sign_in_succeeded(request, user):
    """For a door that signs in without Django's login() (the API's token): the pair's count
    is reset as a page's sign-in resets it, which also ends the attempt taken for it."""
    AxesProxyHandler.user_logged_in(sender=type(user), request=request, user=user)


def lockout_username(request, credentials):
    """The email a sign-in attempt is counted against, as sign-in itself reads it (case
    and surrounding spaces ignored), whether the form called it `username` or the API `email`."""
    for source in (credentials or {}, getattr(request, "POST", {})):
        for field in ("email", "username"):
            value = source.get(field)
            if isinstance(value, str) and value.strip():
                return value.strip().lower()
    return None


def lockout_seconds():
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(request, original_response=None, credentials=None):
    """Axes' answer for a locked-out attempt: JSON for the API, the sign-in page's own
    message for a browser. 429 either way, with Retry-After."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": LOCKOUT_MESSAGE}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": LOCKOUT_MESSAGE}, status=429)
    response["Retry-After"] = str(lockout_seconds())
    return response


def lockout_burst_window(now):
    """The 15-minute window `now` falls in, as a label."""
    start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    return start.strftime("%Y-%m-%dT%H:%MZ")


@receiver(user_locked_out)
def lockout_burst_alert(sender, request=None, username=None, ip_address=None, **kwargs):
    """Count each (email, address) lockout once per cool-off, and alert staff once per
    15-minute window in which LOCKOUT_BURST_THRESHOLD of them happen: an attack on many
    accounts, or a broken client hammering sign-in."""
    logger.warning("sign_in_locked_out email=%s address=%s", username, ip_address)
    window = lockout_burst_window(timezone.now().astimezone(UTC))
    key = f"security:lockouts:{window}"
    try:
        if not cache.add(f"security:locked:{username}:{ip_address}", 1, timeout=lockout_seconds()):
            return  # axes tells us again for each refused attempt of a pair already locked
        cache.add(key, 0, timeout=int(timedelta(minutes=30).total_seconds()))
        count = cache.incr(key)
    except RedisError as exc:
        # The lockout itself holds (counted in the database); only the burst alert waits for the cache.
        logger.warning("lockout_burst_not_counted cache_error=%r", exc)
        return
    if count == settings.LOCKOUT_BURST_THRESHOLD:
        incident_open(
            f"sign-in-lockout-burst:{window}",
            f"Burst of sign-in lockouts: {count} since {window}",
            f"{count} email and address pairs were locked out of signing in since {window} "
            f"(the latest: {username} from {ip_address}). Look for a password-guessing attack "
            "in the web logs; lockouts lift by themselves after 15 minutes.",
        )
