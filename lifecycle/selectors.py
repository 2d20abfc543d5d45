"""What the customer sees of a server's subscription: due date, renewal, what happens next, the timeline."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from billing import pricing
from billing.models import BILLING_CYCLES, HostingPlan, Order, RazorpayCustomer
from servers.models import Server
from servers.selectors import unpaid_renewals

from .autopay.models import AutopayDebit, AutopayMandate
from .autopay.selectors import mandate_current

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
    "upgrade_ordered": "Upgrade ordered",
    "upgrade_withdrawn": "Upgrade order withdrawn",
    "downgrade_scheduled": "Downgrade scheduled",
    "downgrade_withdrawn": "Downgrade withdrawn",
    "plan_upgrade": "Plan upgraded",
    "plan_downgrade": "Plan downgraded",
    "plan_refund": "Upgrade refunded: plan moved back",
    "upgrade_refunded": "Upgrade refunded",
    "resized": "Machine resized",
    "plan_moved_back": "Resize failed: plan moved back",
}
# Events whose note is safe and useful to show (order numbers, dates).
EVENTS_WITH_NOTES = {
    "renewal_issued", "renewed", "reboot_requested", "stop_requested", "start_requested",
    "ssh_key_requested", "ssh_key_added",  # the key's name and fingerprint
    "upgrade_ordered", "downgrade_scheduled", "downgrade_withdrawn", "plan_upgrade", "plan_downgrade", "plan_refund",
    "resized", "plan_moved_back",
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
    plan_options: list  # PlanOption for the change-plan form (empty when no change is possible now)
    upgrade: Order | None  # the unpaid upgrade order
    autopay: object = None  # the server's latest AutopayMandate, or None
    debit: object = None  # the unpaid renewal's AutopayDebit, or None
    contact_known: bool = False  # a mobile number for autopay is remembered
    autopay_limit_paise: int = 0


@dataclass
class PlanOption:
    plan: HostingPlan
    upgrade: pricing.UpgradeQuote | None  # what it costs today; None: a downgrade, from `starts`
    starts: object
    scheduled: bool = False  # this downgrade is the one scheduled


def plan_options(server, today=None) -> list[PlanOption]:
    """The other active plans with what moving to each costs today (an upgrade: the
    formula's figures) or from when it applies (a downgrade: the end of the paid period)."""
    if server.status != Server.Status.ACTIVE or server.suspension_reason or server.cancel_at_period_end:
        return []
    if server.plan is None or server.paid_until is None:
        return []
    options = []
    for plan in HostingPlan.objects.filter(is_active=True).exclude(pk=server.plan_id):
        if plan.price_paise > server.plan.price_paise:
            try:
                quote = pricing.upgrade_quote(
                    server.plan, plan, billing_cycle_months=server.billing_cycle_months, paid_until=server.paid_until,
                    today=today,
                )  # fmt: skip
            except pricing.PricingError:  # dearer a month, cheaper for this cycle after discounts: not offered
                continue
            options.append(PlanOption(plan, quote, quote.service_from))
        else:
            options.append(PlanOption(plan, None, server.paid_until, scheduled=plan.pk == server.plan_change_to_id))
    return options


def days_left(paid_until, now) -> int | None:
    """Calendar days from today to the due date, in the portal's time zone; negative when overdue."""
    return None if paid_until is None else (timezone.localdate(paid_until) - timezone.localdate(now)).days


def autopay_shown(server):
    """The server's latest mandate for its page: from servers_for_user's annotation
    (no query) when there, with its status's label; else read."""
    if not hasattr(server, "autopay_latest"):
        return mandate_current(server.pk)
    if server.autopay_latest is None:
        return None
    latest = dict(server.autopay_latest)
    status = latest["status"]
    return {**latest, "get_status_display": AutopayMandate.Status(status).label}


def server_subscription(server, now=None) -> Subscription:
    now = now or timezone.now()
    due = server.paid_until
    plan = server.renewal_plan
    renewal = unpaid_renewals(server.pk).first()
    return Subscription(
        server=server,
        paid_until=due,
        days_left=days_left(due, now),
        renewal=renewal,
        suspend_on=due and due + timedelta(days=settings.SUSPEND_AFTER_DAYS),
        terminate_on=due and due + timedelta(days=settings.TERMINATE_AFTER_DAYS),
        overdue=bool(due and due <= now and server.status in (Server.Status.ACTIVE, Server.Status.SUSPENDED)),
        cycle_quotes=[(months, pricing.quote(plan, months)) for months in BILLING_CYCLES],
        plan_options=plan_options(server),
        # Only an active server can have one (a plan change needs it): no query for the others.
        upgrade=Order.objects.filter(upgrades_server=server, status=Order.Status.CREATED).first()
        if server.status == Server.Status.ACTIVE
        else None,
        autopay=autopay_shown(server),
        debit=AutopayDebit.objects.filter(order=renewal).first() if renewal else None,
        contact_known=(
            server.autopay_contact_known
            if hasattr(server, "autopay_contact_known")  # annotated by servers_for_user
            else RazorpayCustomer.objects.filter(user_id=server.user_id).exists()
        ),
        autopay_limit_paise=settings.AUTOPAY_MAX_PAISE,
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
