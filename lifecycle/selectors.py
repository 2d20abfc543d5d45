"""What the customer sees of a server's subscription: due date, renewal, what happens next, the timeline."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from billing import pricing
from billing.models import BILLING_CYCLES, Order
from servers.models import Server
from servers.selectors import unpaid_renewals

# Timeline entries a customer sees (kind -> label); others (operation failures, with
# provider errors meant for staff) stay in the admin.
EVENT_LABELS = {
    "renewal_issued": "Renewal issued",
    "renewed": "Renewal paid",
    "cancel_at_period_end": "Cancellation at period end requested",
    "cancellation_withdrawn": "Cancellation withdrawn",
    "suspend_decided": "Suspension decided",
    "unsuspend_decided": "Suspension lifted",
    "terminate_decided": "Termination decided",
    "power_stop": "Stopped",
    "power_start": "Started",
    "power_reboot": "Rebooted",
    "reboot_requested": "Reboot requested",
    "stop_requested": "Stop requested",
    "start_requested": "Start requested",
    "ssh_key_requested": "SSH key installation requested",
    "ssh_key_added": "SSH key installed",
    "operation_failed": "Could not be done (our staff are alerted)",
}
# Events whose note is safe and useful to show (order numbers, dates).
EVENTS_WITH_NOTES = {
    "renewal_issued", "renewed", "reboot_requested", "stop_requested", "start_requested",
    "ssh_key_requested", "ssh_key_added",  # the key's name and fingerprint
}  # fmt: skip


@dataclass
class Subscription:
    server: Server
    paid_until: object
    days_left: int | None  # negative when overdue
    renewal: Order | None
    suspend_on: object
    terminate_on: object
    overdue: bool
    cycle_quotes: list  # (months, Quote) for the renew form


def days_left(paid_until, now) -> int | None:
    """Calendar days from today to the due date, in the portal's time zone; negative when overdue."""
    return None if paid_until is None else (timezone.localdate(paid_until) - timezone.localdate(now)).days


def server_subscription(server, now=None) -> Subscription:
    now = now or timezone.now()
    due = server.paid_until
    plan = server.order.plan
    return Subscription(
        server=server,
        paid_until=due,
        days_left=days_left(due, now),
        renewal=unpaid_renewals(server.pk).first(),
        suspend_on=due and due + timedelta(days=settings.SUSPEND_AFTER_DAYS),
        terminate_on=due and due + timedelta(days=settings.TERMINATE_AFTER_DAYS),
        overdue=bool(due and due <= now and server.status in (Server.Status.ACTIVE, Server.Status.SUSPENDED)),
        cycle_quotes=[(months, pricing.quote(plan, months)) for months in BILLING_CYCLES],
    )


def server_timeline(server) -> list[dict]:
    """Status changes and lifecycle events, oldest first."""
    entries = [
        {"kind": change.to_status, "label": Server.Status(change.to_status).label, "at": change.at, "note": ""}
        for change in server.status_changes.all()
        if change.to_status in Server.Status.values
    ]
    entries += [
        {
            "kind": event.kind,
            "label": EVENT_LABELS[event.kind],
            "at": event.at,
            "note": event.note if event.kind in EVENTS_WITH_NOTES else "",
        }
        for event in server.events.filter(kind__in=EVENT_LABELS)
    ]
    return sorted(entries, key=lambda entry: entry["at"])
