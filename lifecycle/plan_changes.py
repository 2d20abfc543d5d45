"""Plan changes (CONTRACT: Plan changes): upgrades charged to the day, downgrades at period end.

An upgrade is an order of kind `upgrade` (billing.services.upgrade_order_build, priced by
pricing.upgrade_quote); once paid, the funnel hands it to `upgrade_paid` (registered in
payments.hooks by lifecycle.registrations), which moves the
server to the new plan and queues the machine's resize. A downgrade is only scheduled
on the server (`plan_change_to`, `plan_change_at` = paid_until): renewals are priced at
the new plan, and `run_billing` moves the server and queues the resize once the period
that renewal paid for has begun (`downgrades_due` / `downgrades_apply`).

Locks: decisions here take the server's row lock and re-check under it. The payment
funnel and refunds hold the order's lock first (order, then server). Holding a server's
lock, another order (an unpaid renewal or upgrade) is taken only with SKIP LOCKED: an
order being paid right now is never waited for.
"""

import logging

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from billing.models import HostingPlan, Order
from billing.services import order_event, order_flag, upgrade_order_build
from servers.models import PlanChange, Server
from servers.operations import (
    renewal_orders_cancel,
    resize_decide,
    server_event,
    server_locked,
    termination_decided,
)
from servers.selectors import termination_open

from .renewals import renewal_order_build

logger = logging.getLogger("lifecycle.plan_changes")


class PlanChangeInvalid(ValueError):
    """The plan asked for cannot be had: unknown, inactive, or the server's own (400)."""


class PlanChangeRefused(ValueError):
    """No plan change for this server now: not active, cancelled at period end, an order being paid (409)."""


def unpaid_order_locked(server_id, *, kind):
    """The server's unpaid renewal or upgrade order, locked, or None when it has none.
    Raises PlanChangeRefused when it is being paid at this very moment (SKIP LOCKED)."""
    server_field = "renews_server_id" if kind == Order.Kind.RENEWAL else "upgrades_server_id"
    unpaid = Order.objects.filter(**{server_field: server_id}, kind=kind, status=Order.Status.CREATED)
    if not unpaid.exists():
        return None
    locked = unpaid.select_for_update(skip_locked=True).first()
    if locked is None:
        raise PlanChangeRefused(f"The server's {kind} order is being paid right now; try again in a minute.")
    return locked


def renewal_reprice(server, *, source, actor=None, strict=True):
    """Replace the locked server's unpaid renewal if it is priced at another plan than
    its renewal plan now is. With `strict`, a renewal being paid right now refuses
    (PlanChangeRefused); without (the funnel, refunds), it is left to its payment."""
    try:
        unpaid = unpaid_order_locked(server.pk, kind=Order.Kind.RENEWAL)
    except PlanChangeRefused:
        if strict:
            raise
        logger.warning("renewal_reprice_skipped server=%s: its renewal is being paid", server.pk)
        return None
    if unpaid is None or unpaid.plan_id == server.renewal_plan.pk:
        return None
    renewal_orders_cancel([unpaid], source=source, actor=actor, reason=f"Replaced: now {server.renewal_plan}")
    order = renewal_order_build(server, unpaid.billing_cycle_months)
    order.save()
    order_event(order, "created", source=source, actor=actor, to_status=order.status, data={"server": server.pk})
    server_event(
        server.pk, "renewal_issued", source=source, actor=actor, note=f"Order {order.number}, {order.plan_name}"
    )
    return order


def plan_change_check(server, plan):
    if not isinstance(plan, HostingPlan) or not plan.is_active:
        raise PlanChangeInvalid("This plan is not available.")
    if plan.pk == server.plan_id:
        raise PlanChangeInvalid("The server runs this plan already.")
    if server.status != Server.Status.ACTIVE or server.suspension_reason or termination_decided(server.pk):
        raise PlanChangeRefused("Only an active server can change its plan.")
    if server.cancel_at_period_end:
        raise PlanChangeRefused("This server is cancelled at the end of its period; resume it to change its plan.")


def plan_change_request(server_id, plan, *, source, actor=None, today=None) -> Order | Server:
    """The customer asks to move the server to `plan` (POST .../plan-change/).

    Dearer (`price_paise` higher): returns a new unpaid `upgrade` order, replacing an
    unpaid one. Cheaper: schedules the downgrade for paid_until, reprices an unpaid
    renewal and returns the server; the same downgrade again changes nothing.
    Under the server's lock. Raises PlanChangeInvalid (400) or PlanChangeRefused (409)."""
    with transaction.atomic():
        server = server_locked(server_id)
        plan_change_check(server, plan)
        previous_upgrade = unpaid_order_locked(server.pk, kind=Order.Kind.UPGRADE)
        if plan.price_paise > server.plan.price_paise:
            if previous_upgrade is not None and previous_upgrade.plan_id == plan.pk:
                replacement = upgrade_order_build(server, plan, today=today)
                if replacement.total_paise == previous_upgrade.total_paise:
                    return previous_upgrade  # asked again the same day: the same order
            order = upgrade_order_build(server, plan, today=today)
            if previous_upgrade is not None:
                renewal_orders_cancel(
                    [previous_upgrade], source=source, actor=actor, reason="Replaced by a new upgrade"
                )
            order.save()
            order_event(
                order, "created", source=source, actor=actor, to_status=order.status, data={"server": server.pk}
            )
            server_event(
                server.pk, "upgrade_ordered", source=source, actor=actor,
                note=f"Order {order.number}: {server.plan.name} → {plan.name}",
            )  # fmt: skip
            return order
        if previous_upgrade is not None:
            renewal_orders_cancel(
                [previous_upgrade], source=source, actor=actor, reason="A downgrade was asked instead"
            )
        if server.plan_change_to_id == plan.pk:
            return server
        server.plan_change_to, server.plan_change_at = plan, server.paid_until
        server.save(update_fields=["plan_change_to", "plan_change_at", "updated_at"])
        renewal_reprice(server, source=source, actor=actor)
        server_event(
            server.pk, "downgrade_scheduled", source=source, actor=actor,
            note=f"{server.plan.name} → {plan.name} from {timezone.localtime(server.paid_until):%d %b %Y}",
        )  # fmt: skip
    return server


def plan_change_cancel(server_id, *, source, actor=None) -> Server:
    """Cancel a scheduled downgrade (the unpaid renewal goes back to the plan the
    server runs) and an unpaid upgrade order (DELETE .../plan-change/). Idempotent.
    Raises PlanChangeRefused when one of those orders is being paid right now."""
    with transaction.atomic():
        server = server_locked(server_id)
        upgrade = unpaid_order_locked(server.pk, kind=Order.Kind.UPGRADE)
        if upgrade is not None:
            renewal_orders_cancel([upgrade], source=source, actor=actor, reason="Upgrade withdrawn by the customer")
            server_event(server.pk, "upgrade_withdrawn", source=source, actor=actor, note=f"Order {upgrade.number}")
        if server.plan_change_to_id:
            note = f"{server.plan_change_to.name} no longer scheduled"
            server.plan_change_to, server.plan_change_at = None, None
            server.save(update_fields=["plan_change_to", "plan_change_at", "updated_at"])
            renewal_reprice(server, source=source, actor=actor)
            server_event(server.pk, "downgrade_withdrawn", source=source, actor=actor, note=note)
    return server


def plan_move(server, to_plan, *, kind, order=None, source, actor=None, note=""):
    """Move the locked server to `to_plan`: history row, timeline, the resize queued."""
    from_plan = server.plan
    server.plan = to_plan
    server.save(update_fields=["plan", "plan_change_to", "plan_change_at", "updated_at"])
    PlanChange.objects.create(
        server=server, from_plan=from_plan, to_plan=to_plan, kind=kind, order=order, source=source, actor=actor,
        note=note,
    )  # fmt: skip
    server_event(
        server.pk, f"plan_{kind}", source=source, actor=actor, note=f"{from_plan.name} → {to_plan.name}. {note}"
    )
    resize_decide(server, to_plan=to_plan, from_plan=from_plan, source=source, actor=actor)


def upgrade_apply(order, *, source, actor=None) -> tuple[Server, str]:
    """The paid upgrade `order` moves its server to the order's plan (the funnel calls
    this once, with the order's row lock held and the order just marked paid; the
    server's lock is taken here). A scheduled downgrade is dropped; an unpaid renewal
    at the old plan is replaced (one being paid now is left to its payment); the resize
    is queued for the worker; paid_until does not move. Returns the server and "" or,
    when nothing may move, why (the funnel flags the payment for a refund)."""
    server = server_locked(order.upgrades_server_id)
    if server.status == Server.Status.TERMINATED or termination_decided(server.pk):
        return server, f"server #{server.pk} is terminated"
    if server.plan_id != order.previous_plan_id:
        return server, f"server #{server.pk} no longer runs {order.previous_plan_name}"
    if server.paid_until is None or timezone.localdate(server.paid_until) != order.service_until:
        return server, f"server #{server.pk}'s period changed since the upgrade was priced"
    server.plan_change_to, server.plan_change_at = None, None
    plan_move(
        server, order.plan, kind=PlanChange.Kind.UPGRADE, order=order, source=source, actor=actor,
        note=f"Order {order.number}",
    )  # fmt: skip
    renewal_reprice(server, source=source, actor=actor, strict=False)
    logger.info("upgrade_applied server=%s order=%s plan=%s", server.pk, order.number, order.plan_slug)
    return server, ""


def upgrade_paid(order, gateway_payment, *, source, actor=None):
    """The funnel's handler for an upgrade just marked paid (payments.hooks): the server
    moves (upgrade_apply). Paid for a server that no longer runs the plan it was priced
    from, whose period moved on, or that is terminated, it is money for nothing:
    flagged for a refund, the server unchanged."""
    server, refused = upgrade_apply(order, source=source, actor=actor)
    if refused:
        order_flag(
            order, gateway_payment.id, f"Upgrade paid by {gateway_payment.id} but {refused}; refund it", source=source
        )
    return server


def upgrade_refund_move_back(order, *, source, actor=None):
    """A paid upgrade refunded in full moves its server back to the previous plan (a
    resize back), unless the server has moved on since (terminated, or another plan).
    Called once, with the order's transition to refunded, under its lock."""
    server = server_locked(order.upgrades_server_id)
    if server.status == Server.Status.TERMINATED or server.plan_id != order.plan_id or order.previous_plan is None:
        server_event(
            server.pk, "upgrade_refunded", source=source, actor=actor,
            note=f"Order {order.number} refunded; the server runs {server.plan} now and stays on it",
        )  # fmt: skip
        return
    plan_move(
        server, order.previous_plan, kind=PlanChange.Kind.REFUND, order=order, source=source, actor=actor,
        note=f"Order {order.number} refunded in full",
    )  # fmt: skip
    renewal_reprice(server, source=source, actor=actor, strict=False)


# --- run_billing: a downgrade takes effect when the period its renewal paid for begins ---


def downgrades_due(ctx):
    """Servers with a downgrade scheduled whose paid_until has passed the date it was
    scheduled for (the renewal at the new plan is paid) and whose new period has begun."""
    return (
        Server.objects.filter(status__in=(Server.Status.ACTIVE, Server.Status.SUSPENDED))
        .filter(plan_change_to__isnull=False, plan_change_at__lte=ctx.now, paid_until__gt=F("plan_change_at"))
        .filter(~Exists(termination_open()))
        .select_related("plan", "plan_change_to")
    )


def downgrades_apply(servers, ctx, report):
    """Move each locked server to its scheduled plan and queue its resize."""
    for server in servers:
        to_plan = server.plan_change_to
        server.plan_change_to, server.plan_change_at = None, None
        plan_move(server, to_plan, kind=PlanChange.Kind.DOWNGRADE, source="run_billing", note="Its period began")
        logger.info("downgrade_applied server=%s plan=%s", server.pk, to_plan.slug)


# --- audit_ledger ----------------------------------------------------------------------


def upgrade_ledger_problems() -> list[dict]:
    """Paid, unrefunded upgrades whose server runs neither the upgrade's plan nor one it
    moved to later (a resize that failed and moved it back does not count), in one query."""
    later = PlanChange.objects.filter(server_id=OuterRef("upgrades_server_id"), at__gt=OuterRef("paid_at")).exclude(
        order_id=OuterRef("pk")
    )
    stranded = (
        Order.objects.filter(kind=Order.Kind.UPGRADE, status=Order.Status.PAID)
        .exclude(upgrades_server__plan_id=F("plan_id"))
        .filter(~Exists(later.exclude(kind=PlanChange.Kind.RESIZE_FAILED)))
        .select_related("upgrades_server__plan")
        .order_by("pk")
    )
    return [
        {
            "order": order.number,
            "problem": f"paid upgrade to {order.plan_name} but server #{order.upgrades_server_id} "
            f"runs {order.upgrades_server.plan}",
        }
        for order in stranded
    ]
