"""Detectors: turn what the selectors find into incidents, one per problem.

`incidents_sync` opens an incident for every problem present now (alerts
sends one alert per open key, however often this runs) and resolves the open
incidents of these kinds whose problem is gone, saying how it went away.
"""

from django.conf import settings
from django.utils import timezone
from django.utils.timesince import timesince

from alerts.models import Incident
from alerts.services import incident_open, incident_resolve
from billing.models import Order, OrderEvent, WebhookEvent
from core.models import PeriodicJob
from core.templatetags.money import rupees
from outbox.selectors import mail_backlog
from servers.models import Server, ServerOperation

from . import selectors

KINDS = (
    "orphaned-order",
    "stuck-server",
    "amount-mismatch",
    "webhook-failed",
    "outbox-backlog",
    "operation-overdue",
    "periodic-job",
)
OUTBOX_BACKLOG_KEY = "outbox-backlog:due"


def dashboard_url():
    return settings.SITE_URL + "/admin/orphaned-orders/"


def order_detail(order, problem, now):
    since = order.paid_at or order.created_at
    return (
        f"{problem}\n"
        f"Order: {order.number}\n"
        f"Customer: {order.user.email}\n"
        f"Amount: {rupees(order.total_paise)}\n"
        f"Age: {timesince(since, now)} (since {since:%Y-%m-%d %H:%M %Z})\n"
        f"Dashboard: {dashboard_url()}"
    )


def problems_now(now) -> dict:
    """{key: (title, detail)} for every problem present now."""
    found = {}
    for order in selectors.orphaned_orders():
        found[f"orphaned-order:{order.number}"] = (
            f"Paid order {order.number} has no server",
            order_detail(order, "A paid order has no server.", now),
        )
    for server in selectors.stuck_servers(now=now):
        problem = f"Server #{server.pk} is {server.status} since {timesince(server.problem_since, now)}."
        if server.last_error:
            problem += f"\nLast error: {server.last_error}"
        found[f"stuck-server:{server.pk}"] = (
            f"Server #{server.pk} stuck in {server.status} (order {server.order.number})",
            order_detail(server.order, problem, now),
        )
    for order in selectors.amount_mismatch_orders():
        found[f"amount-mismatch:{order.number}"] = (
            f"Payment mismatch on order {order.number}",
            order_detail(order, order.attention_reason or "Flagged for staff.", now),
        )
    for event in selectors.failed_webhook_events():
        found[f"webhook-failed:{event.event_id}"] = (
            f"Webhook {event.event_type} {event.event_id} failed",
            f"Event {event.event_id} ({event.event_type}), Razorpay order {event.razorpay_order_id or '-'}, "
            f"{event.attempts} attempt(s), received {timesince(event.received_at, now)} ago.\n"
            f"Error: {event.error}\nDashboard: {dashboard_url()}",
        )
    for operation in selectors.overdue_operations(now):
        lease = (
            "its lease expired (the worker is gone)" if operation.lease_until < now else "its worker still renews it"
        )
        found[f"operation-overdue:{operation.pk}"] = (
            f"Server #{operation.server_id}: {operation.action} running past its expected time",
            f"Operation #{operation.pk}: {operation.action} for {operation.purpose}, attempt {operation.attempts}, "
            f"running since {operation.claimed_at or '?'}; {lease}.\nCustomer: {operation.server.user.email}\n"
            f"Dashboard: {dashboard_url()}",
        )
    for name, title, problem in selectors.periodic_job_problems(now):
        found[f"periodic-job:{name}"] = (
            title,
            f"{problem}\nAdmin → Periodic jobs: {settings.SITE_URL}/admin/core/periodicjob/",
        )
    backlog = mail_backlog(now)
    if backlog.due >= settings.OUTBOX_BACKLOG_ALERT_COUNT:
        found[OUTBOX_BACKLOG_KEY] = (
            f"{backlog.due} mails are waiting to be sent",
            f"{backlog.due} outgoing mails are due and unsent; the oldest has waited "
            f"{timesince(backlog.oldest_due_at, now)}. Is the mail server (EMAIL_HOST or the anymail "
            f"provider) refusing or slow? The sweep sends every minute until none is due.",
        )
    return found


def resolution_note(key) -> str:
    """How a problem went away, for the resolved alert."""
    kind, _, name = key.partition(":")
    if kind == "orphaned-order":
        order = Order.objects.filter(number=name).first()
        server = Server.objects.filter(order__number=name).first()
        if server is not None:
            event = (
                OrderEvent.objects.filter(order__number=name, kind="server_recovered").select_related("actor").last()
            )
            if event is None:
                how = "created outside recovery"
            else:
                how = f"recovered by {event.source}" + (f" ({event.actor})" if event.actor else "")
            return f"Recovered: order {name} now has server #{server.pk} ({server.status}), {how}."
        return f"Order {name} is now {order.status if order else 'gone'}."
    if kind == "stuck-server":
        server = Server.objects.filter(pk=name).first()
        return f"Server #{name} is now {server.status if server else 'gone'}."
    if kind == "amount-mismatch":
        order = Order.objects.filter(number=name).select_related("handled_by").first()
        if order is not None and order.handled_at:
            return f"Marked handled by {order.handled_by}: {order.handled_reason}"
        return f"Order {name} is no longer flagged."
    if kind == "webhook-failed":
        event = WebhookEvent.objects.filter(event_id=name).first()
        return f"Webhook event {name} is now {event.status if event else 'gone'}."
    if kind == "operation-overdue":
        operation = ServerOperation.objects.filter(pk=name).first()
        return f"Operation #{name} is now {operation.status if operation else 'gone'}."
    if kind == "periodic-job":
        job = PeriodicJob.objects.filter(name=name).first()
        if job is None:
            return f"Periodic job {name} is gone from the schedule."
        return f"Periodic job {name} last started {timezone.localtime(job.last_started_at):%Y-%m-%d %H:%M %Z}: {job.get_last_outcome_display()}."
    if kind == "outbox-backlog":
        return f"The outbox is down to {mail_backlog(timezone.now()).due} due mail(s)."
    return "No longer detected."


def incidents_sync(now=None) -> dict:
    """Open an incident per problem found, resolve the ones that are gone.
    Returns {"open": [keys], "resolved": [keys]}."""
    now = now or timezone.now()
    found = problems_now(now)
    for key, (title, detail) in found.items():
        incident_open(key, title, detail, link=dashboard_url())
    open_keys = Incident.objects.filter(resolved_at__isnull=True, key__regex=r"^(" + "|".join(KINDS) + "):")
    resolved = sorted(set(open_keys.values_list("key", flat=True)) - set(found))
    for key in resolved:
        incident_resolve(key, resolution_note(key))
    return {"open": sorted(found), "resolved": resolved}
