"""Reads for the back office: a customer's whole history on one page."""

from dataclasses import dataclass
from itertools import chain

from django.db.models import Prefetch, Q

from billing.models import CreditNote, Order, OrderEvent, Payment
from lifecycle.autopay.models import AutopayMandateChange
from security.models import StaffAction
from servers.models import PlanChange, Server, ServerEvent, ServerStatusChange
from support.models import Ticket, TicketEvent, TicketMessage

TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class HistoryEntry:
    at: object  # aware datetime
    what: str  # "order", "server", "ticket"
    subject: object  # the Order, Server or Ticket it is about
    text: str
    actor: object  # a User or None (the system)


@dataclass(frozen=True)
class CustomerHistory:
    customer: object
    orders: list
    credit_notes: list
    servers: list
    tickets: list
    timeline: list
    paid_paise: int
    refunded_paise: int


def customer_history(customer) -> CustomerHistory:
    """Everything the portal knows happened with one customer: orders with their
    payments and refunds, credit notes, servers, tickets, and one timeline of every recorded
    change across them, newest first (the latest TIMELINE_LIMIT)."""
    payments = Payment.objects.prefetch_related("refunds").order_by("created_at")
    orders = list(
        Order.objects.filter(user=customer)
        .select_related("server")
        .prefetch_related(Prefetch("payments", queryset=payments))
        .order_by("-created_at")
    )
    credit_notes = list(
        CreditNote.objects.filter(order__user=customer).select_related("order").order_by("-issued_on", "-pk")
    )
    servers = list(Server.objects.filter(user=customer).select_related("order").order_by("-created_at"))
    tickets = list(Ticket.objects.filter(user=customer).select_related("server", "assignee").order_by("-updated_at"))
    paid = sum(o.total_paise for o in orders if o.status in (Order.Status.PAID, Order.Status.REFUNDED))
    refunded = sum(
        refund.amount_paise
        for order in orders
        for payment in order.payments.all()
        for refund in payment.refunds.all()
        if refund.status == "processed"
    )
    timeline = customer_timeline(customer)
    return CustomerHistory(customer, orders, credit_notes, servers, tickets, timeline, paid, refunded)


def plan_change_text(change) -> str:
    paid_by = f", order {change.order.number}" if change.order else ""
    return f"Plan {change.from_plan.name} → {change.to_plan.name} ({change.get_kind_display()}{paid_by})"


def customer_timeline(customer, limit=TIMELINE_LIMIT):
    order_events = OrderEvent.objects.filter(order__user=customer).select_related("order", "actor")
    server_changes = ServerStatusChange.objects.filter(server__user=customer).select_related("server", "actor")
    # Power requests, cancellation switched on and off, renewals, plan changes: what the
    # server page's timeline shows (it was missing here), with staff-only facts too.
    server_events = ServerEvent.objects.filter(server__user=customer).select_related("server", "actor")
    ticket_events = TicketEvent.objects.filter(ticket__user=customer).select_related("ticket", "actor")
    plan_changes = PlanChange.objects.filter(server__user=customer).select_related(
        "server", "actor", "from_plan", "to_plan", "order"
    )
    messages = TicketMessage.objects.filter(ticket__user=customer).select_related("ticket", "author")
    # Staff actions name their target by type and id (security.StaffAction).
    orders = {str(o.pk): o for o in Order.objects.filter(user=customer)}
    servers = {str(s.pk): s for s in Server.objects.filter(user=customer)}
    audited = StaffAction.objects.filter(
        Q(target_type="billing.order", target_id__in=orders)
        | Q(target_type="servers.server", target_id__in=servers)
        | Q(target_type="accounts.user", target_id=str(customer.pk))
    ).select_related("actor")
    targets = {"billing.order": orders, "servers.server": servers, "accounts.user": {str(customer.pk): customer}}
    autopay = AutopayMandateChange.objects.filter(mandate__user=customer).select_related("mandate__server", "actor")
    entries = chain(
        (
            HistoryEntry(
                c.created_at,
                "autopay",
                c.mandate.server,
                f"autopay {c.mandate.razorpay_token_id}: {c.from_status or '—'} → {c.to_status}"
                + (f": {c.note}" if c.note else "")
                + f" [{c.source}]",
                c.actor,
            )
            for c in autopay.order_by("-created_at")[:limit]
        ),
        (
            HistoryEntry(e.at, "order", e.order, order_event_text(e), e.actor)
            for e in order_events.order_by("-at")[:limit]
        ),
        (
            HistoryEntry(c.at, "server", c.server, server_change_text(c), c.actor)
            for c in server_changes.order_by("-at")[:limit]
        ),
        (
            HistoryEntry(e.at, "server", e.server, server_event_text(e), e.actor)
            for e in server_events.order_by("-at")[:limit]
        ),
        (
            HistoryEntry(c.at, "server", c.server, plan_change_text(c), c.actor)
            for c in plan_changes.order_by("-at")[:limit]
        ),
        (
            HistoryEntry(
                e.at, "ticket", e.ticket, f"{e.get_kind_display()}: {e.from_value or '—'} → {e.to_value}", e.actor
            )
            for e in ticket_events.order_by("-at")[:limit]
        ),
        (
            HistoryEntry(m.created_at, "ticket", m.ticket, m.kind_label, m.author)
            for m in messages.order_by("-created_at")[:limit]
        ),
        (
            HistoryEntry(
                a.created_at,
                "staff action",
                targets[a.target_type][a.target_id],
                # What was done first ("Unsuspend"), then the permission it needed.
                f"{a.label}, {a.action}: {a.reason} (from {a.ip_address or 'no address'}, via {a.via})",
                a.actor,
            )
            for a in audited.order_by("-created_at")[:limit]
        ),
    )
    return sorted(entries, key=lambda entry: entry.at, reverse=True)[:limit]


def order_event_text(event):
    text = event.kind.replace("_", " ")
    if event.to_status:
        text += f" ({event.from_status or '—'} → {event.to_status})"
    if event.message:
        text += f": {event.message}"
    return f"{text} [{event.source}]"


def server_change_text(change):
    text = f"{change.from_status or '—'} → {change.to_status}"
    if change.note:
        text += f": {change.note}"
    return f"{text} [{change.source}]"


def server_event_text(event):
    text = event.kind.replace("_", " ").capitalize()
    if event.note:
        text += f": {event.note}"
    return f"{text} [{event.source}]"
