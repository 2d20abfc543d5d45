"""Sign-in lockout, carried out by django-axes (settings: AXES_*): 5 failed sign-ins
for one email from one client address within 15 minutes lock that pair out for 15
minutes on /accounts/login/, /admin/login/ and POST /api/v1/auth/token/ alike. The
counters live in the default cache (Redis in production, shared by every web node);
while that cache is unavailable they are counted in PostgreSQL (security.lockout_database,
one row per pair), the same way: each sign-in takes its attempt atomically before its
password is checked, so during an outage too at most five passwords are checked per pair
in 15 minutes, however many guesses arrive together, and no one is refused wholesale. A
lockout counted in the cache is written to the database as well, so it holds if the cache
fails during it. The two stores' counts below the limit are not merged: a pair whose cache
fails (or returns) part-way through its five may get up to five more in the other store.
This module holds what axes calls back: the handler that counts, the email it counts
by, the page or JSON it answers with, and the alert for a burst of lockouts."""

import contextlib
import hashlib
import logging
from datetime import UTC, timedelta

from axes.handlers.base import AbstractAxesHandler, AxesBaseHandler
from axes.handlers.cache import AxesCacheHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import (
    get_cache_timeout,
    get_client_cache_keys,
    get_client_username,
    get_cool_off,
    get_credentials,
    get_failure_limit,
)
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.core.cache import cache
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from redis.exceptions import RedisError

from alerts.services import incident_open
from core.cache import index_add, index_members

from . import lockout_database

logger = logging.getLogger("security.lockout")

LOCKOUT_MESSAGE = "Too many failed sign-ins for this email from your address. Try again in 15 minutes."


class CacheOrDatabaseAxesHandler(AbstractAxesHandler, AxesBaseHandler):
    """Axes' cache handler, with the pair's counts in PostgreSQL (security.lockout_database)
    for any call the cache cannot answer.

    A sign-in takes one of the pair's five attempts before its password is checked
    (`is_allowed`), atomically: an increment in the cache, an upsert on the pair's row in
    the database. Axes counts a failure only after the check, so guesses in flight together
    were all checked (one per thread of every web node) and the right password among them
    signed in. A refused attempt takes nothing; a failed one keeps its attempt and renews
    the cool-off; a right password refused after the check gives it back
    (`lockout_attempt_give_back`); a success resets the pair in both stores
    (AXES_RESET_ON_SUCCESS). The request remembers which store took its attempt.

    A count taken in the database during an outage is not seen by the cache once it is
    back (and the reverse): for those 15 minutes a guesser may get up to twice five tries,
    never more, and no customer is locked out by the outage itself. A lockout itself is
    written to both stores (`user_login_failed`), so a locked pair stays locked whichever
    store answers next."""

    def __init__(self):
        self.in_cache = AxesCacheHandler()
        self.in_cache.cache = cache  # the proxy, not the backend of the moment (tests swap CACHES)

    def is_allowed(self, request, credentials=None):
        if (
            credentials is None
            or self.is_blacklisted(request, credentials)
            or self.is_whitelisted(request, credentials)
        ):
            return super().is_allowed(request, credentials)
        keys = get_client_cache_keys(request, credentials)
        limit = get_failure_limit(request, credentials)
        try:
            # Indexed before it is taken: an index that failed after the take would count it twice.
            pairs_index_add(keys, get_client_username(request, credentials), request.axes_ip_address, request)
            counted, in_database = attempt_take_in_cache(keys, limit, get_cache_timeout(request)), False
        except RedisError as exc:
            logger.warning("lockout_counts_in_database call=is_allowed cache_error=%r", exc)
            counted, in_database = (
                lockout_database.attempts_take(keys, limit=limit, **pair_in_database(request, credentials)),
                True,
            )
        if counted is None:
            return False
        request.axes_attempt_counted, request.axes_attempt_keys = counted, keys
        request.axes_attempt_in_database = in_database
        return True

    def get_failures(self, request, credentials=None):
        try:
            return self.in_cache.get_failures(request, credentials)
        except RedisError as exc:
            logger.warning("lockout_counts_in_database call=get_failures cache_error=%r", exc)
            return lockout_database.attempts_counted(get_client_cache_keys(request, credentials))

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        counted = getattr(request, "axes_attempt_counted", None)
        if counted is None:
            # Refused before its password was checked: axes' handler only sends the lockout
            # signal. (An attempt that skipped is_allowed would be counted in the cache.)
            try:
                return self.in_cache.user_login_failed(sender, credentials, request, **kwargs)
            except RedisError as exc:
                logger.warning("lockout_failure_not_counted cache_error=%r", exc)
                return None
        keys = request.axes_attempt_keys
        # The 15 minutes run from the latest failure, as in axes' own cache handler.
        if request.axes_attempt_in_database:
            lockout_database.attempts_cool_off_renew(keys, get_cool_off(request))
        else:
            try:
                for key in keys:
                    cache.touch(key, get_cache_timeout(request))
            except RedisError as exc:
                logger.warning("lockout_cool_off_not_renewed cache_error=%r", exc)
        request.axes_failures_since_start = counted
        if counted >= get_failure_limit(request, credentials):
            if not request.axes_attempt_in_database:
                # Written down in the database too, so that a lockout counted in the cache
                # holds if the cache fails during it (the database would start at nought).
                lockout_database.attempts_locked_out(keys, limit=counted, **pair_in_database(request, credentials))
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )

    def user_logged_in(self, sender, request, user, **kwargs):
        """Resets the pair in both stores: a count left in the database from an outage
        would otherwise shorten the pair's budget in the next one."""
        if settings.AXES_RESET_ON_SUCCESS:
            lockout_database.attempts_reset(get_client_cache_keys(request, get_credentials(user.get_username())))
        try:
            return self.in_cache.user_logged_in(sender, request, user, **kwargs)
        except RedisError as exc:
            logger.warning("lockout_reset_cache_skipped cache_error=%r", exc)
            return None

    def user_logged_out(self, sender, request, user, **kwargs):
        return self.in_cache.user_logged_out(sender, request, user, **kwargs)  # a log line: no count

    def reset_attempts(self, *, ip_address=None, username=None, ip_or_username=False):
        """Both stores: a reset (axes_reset and its _ip, _username and _ip_username forms)
        must lift what either counted, the email read as sign-in reads it."""
        username = lockout_database.email_as_counted(username)
        cleared = lockout_database.attempts_clear(
            ip_address=ip_address, username=username, ip_or_username=ip_or_username
        )
        try:
            cleared += pairs_in_cache_clear(ip_address=ip_address, username=username, ip_or_username=ip_or_username)
        except RedisError as exc:
            logger.warning("lockout_reset_cache_skipped cache_error=%r", exc)
        return cleared

    def post_save_access_attempt(self, instance, **kwargs):
        """Nothing to do (axes' proxy calls it on every saved attempt row)."""

    def post_delete_access_attempt(self, instance, **kwargs):
        """Nothing to do."""


# A pair's count in the cache is keyed by a hash of (email, address), so a reset by email or by
# address alone finds it through these indexes of the pairs counted per email, per address and
# overall. An entry outlives its count's cool-off by the slack: the failure renews the count a
# moment after its attempt renewed the entry.
PAIRS_INDEX_ALL = "axes-pairs-all"
PAIRS_INDEX_SLACK_SECONDS = 60


def pairs_index_keys(*, username=None, ip_address=None):
    """The indexes a pair of this email and address is listed in (both given), or the one to
    read for that email or that address (one given)."""
    index_keys = []
    if username:
        index_keys.append(f"axes-pairs-user:{hashlib.sha256(username.encode()).hexdigest()}")
    if ip_address:
        index_keys.append(f"axes-pairs-ip:{ip_address}")
    return index_keys


def pairs_index_add(keys, username, ip_address, request):
    timeout = get_cache_timeout(request) + PAIRS_INDEX_SLACK_SECONDS
    index_keys = [*pairs_index_keys(username=username, ip_address=ip_address), PAIRS_INDEX_ALL]
    for key in keys:
        index_add(cache, index_keys, key, timeout)


def pairs_in_cache_clear(*, ip_address=None, username=None, ip_or_username=False) -> int:
    """Delete the cache's counts of the pairs of that email and that address, of that email or
    that address alone (or either, with `ip_or_username`), or of every pair when neither is
    given. `username` as counted (lockout_database.email_as_counted)."""
    if username and ip_address and not ip_or_username:
        # The pair's own key, as axes computes it: found even if counted before the indexes existed.
        keys = set(get_client_cache_keys(AccessAttempt(username=username, ip_address=ip_address)))
    elif username or ip_address:
        keys = set()
        for index_key in pairs_index_keys(username=username, ip_address=ip_address):
            keys.update(index_members(cache, index_key))
    else:
        keys = set(index_members(cache, PAIRS_INDEX_ALL))
    cleared = sum(1 for key in keys if cache.delete(key))
    logger.info("lockout_cache_reset pairs=%s", cleared)
    return cleared


def pair_in_database(request, credentials):
    """What the pair's database row holds beside its count: its email and address, and the cool-off."""
    return {
        "username": get_client_username(request, credentials) or "",
        "ip_address": request.axes_ip_address,
        "cool_off": get_cool_off(request),
    }


def attempt_take_in_cache(keys, limit, timeout):
    """The highest of the keys' counts once each is raised by one, while none passes
    `limit`; None (each raise given back) once the pair has had its `limit`."""
    counts = [attempt_count_up(key, timeout) for key in keys]
    if max(counts) <= limit:
        return max(counts)
    try:
        for key in keys:
            # A sign-in that succeeded meanwhile deleted the count: nothing to give back then.
            with contextlib.suppress(ValueError):
                cache.decr(key)
    except RedisError as exc:
        # The refusal stands (the count decided it); a count left one too high only keeps a
        # locked pair locked. Raised, it sent this guess to the database's count instead.
        logger.warning("lockout_refusal_not_given_back cache_error=%r", exc)
    return None


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
    customer at the staff door) was no guess: its attempt is given back, in the store
    that took it, or five of them would lock the customer out of their own sign-in for
    the cool-off."""
    keys = getattr(request, "axes_attempt_keys", None)
    if not keys:
        return
    request.axes_attempt_counted = request.axes_attempt_keys = None
    if request.axes_attempt_in_database:
        lockout_database.attempts_give_back(keys)
        return
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
