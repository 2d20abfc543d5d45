"""Sign-in lockout, carried out by django-axes (settings: AXES_*): 5 failed sign-ins
for one email from one client address within 15 minutes lock that pair out for 15
minutes on /accounts/login/, /admin/login/ and POST /api/v1/auth/token/ alike. The
counters live in the default cache (Redis in production, shared by every web node).
This module holds what axes calls back: the email it counts by, the page or JSON it
answers with, and the alert for a burst of lockouts."""

import logging
from datetime import UTC, timedelta

from axes.signals import user_locked_out
from django.conf import settings
from django.core.cache import cache
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

logger = logging.getLogger("security.lockout")

LOCKOUT_MESSAGE = "Too many failed sign-ins for this email from your address. Try again in 15 minutes."


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
    from alerts.services import incident_open

    logger.warning("sign_in_locked_out email=%s address=%s", username, ip_address)
    if not cache.add(f"security:locked:{username}:{ip_address}", 1, timeout=lockout_seconds()):
        return  # axes tells us again for each refused attempt of a pair already locked
    window = lockout_burst_window(timezone.now().astimezone(UTC))
    key = f"security:lockouts:{window}"
    cache.add(key, 0, timeout=int(timedelta(minutes=30).total_seconds()))
    count = cache.incr(key)
    if count == settings.LOCKOUT_BURST_THRESHOLD:
        incident_open(
            f"sign-in-lockout-burst:{window}",
            f"Burst of sign-in lockouts: {count} since {window}",
            f"{count} email and address pairs were locked out of signing in since {window} "
            f"(the latest: {username} from {ip_address}). Look for a password-guessing attack "
            "in the web logs; lockouts lift by themselves after 15 minutes.",
        )
