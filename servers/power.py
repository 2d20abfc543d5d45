"""The customer's power actions on their server: reboot, stop, start.

One entry point for the server page and the API. The decision is taken under
locks: the customer's row FOR NO KEY UPDATE (so the per-customer rate limit is exact, even for
requests racing on several servers, while rows referencing the customer can still be inserted) then the server's (its state, and at most
one operation in flight). The operation itself is lifecycle's ServerOperation,
carried out by the worker through the backend (servers.operations); its
request, completion and failure are rows on the server's timeline with who and
when, and `power_state` follows once the backend has done it.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .models import Server, ServerOperation
from .operations import OperationRefused, operations_open, server_event, server_locked, server_power

POWER_ACTIONS = ("reboot", "stop", "start")
RATE_WINDOW = timedelta(hours=1)
ACTION_LABELS = {"reboot": "Reboot", "stop": "Stop", "start": "Start"}


class PowerActionRefused(ValueError):
    """The server cannot take this action now (the message says why): a 409."""


class PowerRateLimited(PowerActionRefused):
    """The customer asked for too many power actions lately: a 429."""

    def __init__(self, message, retry_after_seconds):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


def power_request(server_id, *, action, user, source, now=None) -> ServerOperation:
    """Queue `action` (reboot, stop or start) on the customer's server.

    The caller has checked the server is `user`'s (others' are 404 before this).
    Raises ValueError for an unknown action, PowerActionRefused unless the server
    is active, without another operation in flight, and in a power state the
    action makes sense for; PowerRateLimited past POWER_ACTIONS_PER_HOUR of the
    customer's requests in the last hour. Writes the operation and a timeline
    row naming the customer in one transaction; the worker is handed it after commit.
    """
    if action not in POWER_ACTIONS:
        raise ValueError(f"Unknown action “{action}”; use one of: {', '.join(POWER_ACTIONS)}.")
    now = now or timezone.now()
    with transaction.atomic():
        # NO KEY UPDATE: it serialises this customer's power requests, yet leaves the KEY SHARE lock free
        # that any insert referencing the customer takes (a renewal inserts its order holding the server
        # lock we take next: FOR UPDATE here made the two deadlock).
        get_user_model().objects.select_for_update(no_key=True).filter(pk=user.pk).first()
        power_rate_check(user, now)
        server = server_locked(server_id)
        power_state_check(server, action)
        in_flight = operations_open(server.pk).order_by("pk").first()
        if in_flight is not None:
            raise PowerActionRefused(
                f"This server already has a {in_flight.action} {in_flight.status}; "
                "try again once it has finished (this page shows when)."
            )
        try:
            operation = server_power(server.pk, action=action, source=source, actor=user, note=f"asked by {user.email}")
        except OperationRefused as exc:
            raise PowerActionRefused(str(exc)) from exc
        server_event(server.pk, f"{action}_requested", source=source, actor=user, note=f"by {user.email}")
    return operation


def power_rate_check(user, now):
    limit = settings.POWER_ACTIONS_PER_HOUR
    recent = list(
        ServerOperation.objects.filter(
            purpose=ServerOperation.Purpose.POWER, actor=user, created_at__gt=now - RATE_WINDOW
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) >= limit:
        retry_after = max(int((recent[-1] + RATE_WINDOW - now).total_seconds()) + 1, 1)
        raise PowerRateLimited(
            f"You have asked for {limit} power actions in the last hour; try again in {retry_after // 60 + 1} minutes.",
            retry_after,
        )


def power_state_check(server, action):
    if server.status != Server.Status.ACTIVE:
        raise PowerActionRefused(
            f"This server is {server.get_status_display().lower()}: power actions need an active server."
        )
    stopped = server.power_state == Server.PowerState.STOPPED
    if action == "start" and not stopped:
        raise PowerActionRefused("This server is already running.")
    if action == "stop" and stopped:
        raise PowerActionRefused("This server is already stopped.")
    if action == "reboot" and stopped:
        raise PowerActionRefused("This server is stopped: start it instead.")


def power_in_flight(server):
    """The server's operation still queued or running, if any (shown on its page)."""
    return operations_open(server.pk).order_by("pk").first()
