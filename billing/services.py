"""State changes of orders: building and recording an order, its history rows
and status moves, and the gap-free document numbers. The money side (the
Razorpay order, capture, the payment funnel, verify) is in payments.services;
`order_flag` (an order put in front of staff) is here, for payments and servers.
"""

from django.conf import settings
from django.db import transaction

from alerts.services import incident_open
from core.sql import increment_and_return, insert_row
from core.templatetags.money import rupees

from . import pricing
from .models import InvoiceSequence, Order, OrderEvent


class OrderError(ValueError):
    """Bad input for an order: unknown/inactive plan, bad cycle."""


def order_event(order, kind, *, source, actor=None, message="", from_status="", to_status="", data=None):
    event = OrderEvent(
        order=order,
        kind=kind,
        source=source,
        actor=actor,
        message=message,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
    )
    insert_row(event)  # every payment writes one or two of these
    return event


def order_events(orders, kind, *, source, actor=None, to_status="", data=()):
    """order_event for many orders in one INSERT (a billing day's slice); `data`
    gives each order's data, in the same order as `orders`."""
    data = list(data) or [{}] * len(orders)
    OrderEvent.objects.bulk_create(
        [
            OrderEvent(order=order, kind=kind, source=source, actor=actor, to_status=to_status, data=facts)
            for order, facts in zip(orders, data, strict=True)
        ]
    )


def order_transition(order, new_status, *, source, actor=None, message=""):
    """Move an order along Order.TRANSITIONS and leave a history row. Caller holds the row lock."""
    if not order.can_transition_to(new_status):
        raise ValueError(f"Order {order.number} cannot go from {order.status} to {new_status}")
    old_status = order.status
    order.status = new_status
    order_event(
        order, "status", source=source, actor=actor, message=message, from_status=old_status, to_status=new_status
    )


# --- Orders ---------------------------------------------------------------------


def order_build(
    *, user, plan, billing_cycle_months, buyer=None, kind=Order.Kind.NEW, renews_server=None, referrer_id=None
) -> Order:
    """An unsaved order priced by `pricing.quote`, with the plan's snapshot and the
    buyer's details. Raises OrderError for a bad cycle."""
    try:
        quote = pricing.quote(plan, billing_cycle_months)
    except pricing.PricingError as exc:
        raise OrderError(str(exc)) from exc
    return Order(
        user=user,
        referrer_id=referrer_id,
        kind=kind,
        renews_server=renews_server,
        billing_cycle_months=billing_cycle_months,
        **plan_snapshot(plan),
        unit_price_paise=quote.unit_price_paise,
        discount_paise=quote.discount_paise,
        subtotal_paise=quote.subtotal_paise,
        gst_rate_percent=quote.gst_rate_percent,
        tax_paise=quote.tax_paise,
        total_paise=quote.total_paise,
        currency=quote.currency,
        **order_buyer_fields(user, buyer),
    )


def plan_snapshot(plan) -> dict:
    """What an order keeps of its plan: later plan edits change nothing on the order."""
    return {
        "plan": plan,
        "plan_slug": plan.slug,
        "plan_name": plan.name,
        "plan_vcpu": plan.vcpu,
        "plan_ram_gb": plan.ram_gb,
        "plan_disk_gb": plan.disk_gb,
        "plan_provider_size": plan.provider_size,
        "plan_provider_image": plan.provider_image,
    }


def upgrade_order_build(server, new_plan, *, today=None) -> Order:
    """An unsaved upgrade order moving `server` from the plan it runs to `new_plan` for
    the rest of its period (CONTRACT: Plan changes), priced by pricing.upgrade_quote at
    the server's cycle, with both plans and the days it pays for kept on the order.
    Raises OrderError when `new_plan` is not dearer for that cycle."""
    old_plan = server.plan
    try:
        quote = pricing.upgrade_quote(
            old_plan,
            new_plan,
            billing_cycle_months=server.billing_cycle_months,
            paid_until=server.paid_until,
            today=today,
        )
    except pricing.PricingError as exc:
        raise OrderError(str(exc)) from exc
    return Order(
        user=server.user,
        referrer_id=server.order.referrer_id,
        kind=Order.Kind.UPGRADE,
        upgrades_server=server,
        billing_cycle_months=server.billing_cycle_months,
        **plan_snapshot(new_plan),
        previous_plan=old_plan,
        previous_plan_name=old_plan.name,
        service_from=quote.service_from,
        service_until=quote.service_until,
        days_left=quote.days_left,
        period_days=quote.period_days,
        unit_price_paise=new_plan.price_paise,
        subtotal_paise=quote.subtotal_paise,
        gst_rate_percent=quote.gst_rate_percent,
        tax_paise=quote.tax_paise,
        total_paise=quote.total_paise,
        currency=quote.currency,
        **order_buyer_fields(server.user, None),
    )


def order_buyer_fields(user, buyer) -> dict:
    """The order's buyer snapshot. From checkout, exactly what the customer
    submitted (a GSTIN left blank stays blank: the profile's may be another
    state's); from the API, which takes no billing details, the saved profile."""
    if buyer is None:
        buyer = {
            "name": user.billing_name,
            "address": user.billing_address,
            "state": user.billing_state,
            "gstin": user.gstin,
        }
    return {
        "buyer_name": buyer.get("name") or user.billing_name or user.full_name or user.email,
        "buyer_address": buyer.get("address") or "",
        "buyer_state": buyer.get("state") or "",
        "buyer_gstin": (buyer.get("gstin") or "").upper(),
    }


# --- Invoices -------------------------------------------------------------------


def financial_year(day) -> str:
    """Indian financial year of a date, April to March: 2026-11-26 -> "2026-27"."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def sequence_next(sequence_model, prefix, day) -> str:
    """Next number of a gap-free series per financial year ("HP/26-27/000123",
    15 characters; GST allows 16). Call inside the transaction that writes the
    document, so a rollback consumes no number; the counter row is locked until
    commit."""
    fy = financial_year(day)
    number = increment_and_return(sequence_model, "last_number", financial_year=fy)
    if number is None:  # first document of the year; the unique constraint settles a tie
        sequence_model.objects.get_or_create(financial_year=fy)
        number = increment_and_return(sequence_model, "last_number", financial_year=fy)
    return f"{prefix}/{fy[2:]}/{number:06d}"


def invoice_number_assign(order, day):
    """The next invoice number, in the transaction that marks the order paid."""
    order.invoice_number = sequence_next(InvoiceSequence, "HP", day)
    order.invoice_date = day


def order_flag(order, payment_id, reason, *, source, consequence=None, alert_key=None, alert_title=None):
    """Put an order in front of staff and alert, once per problem payment: the same
    payment arriving again (verify, webhook, reconcile) flags nothing new, while a
    new one re-opens an order staff had already marked handled. The alert is a
    payment mismatch unless `alert_key`/`alert_title`/`consequence` say otherwise.
    A record of the order (here, below payments and servers): the funnel flags a
    payment that cannot pay, a termination flags prepaid renewal money."""
    flagged = order.payment_metadata.get("flagged_payment_ids", [])
    if payment_id in flagged:
        return
    order.payment_metadata = {**order.payment_metadata, "flagged_payment_ids": [*flagged, payment_id]}
    order.needs_attention = True
    order.attention_reason = reason
    order.handled_at, order.handled_by, order.handled_reason = None, None, ""
    order.save(
        update_fields=[
            "payment_metadata",
            "needs_attention",
            "attention_reason",
            "handled_at",
            "handled_by",
            "handled_reason",
            "updated_at",
        ]
    )
    order_event(order, "flagged", source=source, message=reason)
    if consequence is None:
        consequence = {
            Order.Kind.NEW: "No server was created.",
            Order.Kind.RENEWAL: "No server was extended.",
            Order.Kind.UPGRADE: "No server was moved to another plan.",
        }[order.kind]
    detail = f"Order {order.number} ({order.user.email}, total {rupees(order.total_paise)}): {reason}. {consequence}"
    transaction.on_commit(
        lambda: incident_open(
            alert_key or f"amount-mismatch:{order.number}",
            alert_title or f"Payment mismatch on order {order.number}",
            detail,
            link=f"{settings.SITE_URL}/admin/orphaned-orders/",
        )
    )
