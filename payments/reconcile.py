"""Ask Razorpay about orders still awaiting payment, and apply what we missed.

The safety net under verify and the webhook: a payment whose browser callback
and webhook were both lost is found here and passed through `payment_apply`,
exactly as the webhook would pass it (source "reconcile"). Authorized payments
are captured first, as verify does.

Razorpay's capture window: an authorized payment not captured within 5 days
of being made is refunded to the customer by Razorpay and can no longer be
captured. So an authorized payment is captured while its own window is open,
whatever the order's age (a customer may pay an old order), and a `new` order
with nothing captured CAPTURE_WINDOW after it became payable (its Razorpay
order made or Checkout reopened: `Order.payable_since`) and after its last
payment attempt is cancelled (a late capture would still mark it paid:
Order.TRANSITIONS allows cancelled -> paid). A renewal is never cancelled here:
it is issued days before it is due and stays payable until `run_billing`
terminates its server and cancels it (issue 23).

The periodic run (ops.tasks) looks back over the whole capture window, so no
order's payment waits for the expiry sweep; the command's `--since` defaults to
72 hours, as the contract says.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import Order, Payment
from billing.services import order_transition

from .gateways import GatewayError, get_gateway
from .services import PAYMENT_STATUS_RANK, payment_apply, payment_capture_once

logger = logging.getLogger("payments.reconcile")

CAPTURE_WINDOW = timedelta(days=5)
DEFAULT_SINCE_HOURS = 72
PERIODIC_SINCE_HOURS = int(CAPTURE_WINDOW.total_seconds() // 3600)

# The periodic run's budget: an unpaid order is asked about at these ages, then
# daily until its capture window closes, then once more to cancel it. Verify and
# the webhook confirm nearly every payment within seconds; these looks are for
# the lost ones, most likely found early, so the gaps grow. About 13 looks over
# five days instead of 480 (docs/benchmarks.md). Flagged orders (staff have them)
# and settled ones are not asked about at all.
RECONCILE_OFFSETS = tuple(
    timedelta(minutes=minutes) for minutes in (15, 30, 60, 120, 240, 480, 960, 1440, 2880, 4320, 5760)
) + (CAPTURE_WINDOW,)


@dataclass
class ReconcileReport:
    checked: int = 0
    applied: list = field(default_factory=list)  # {"order", "payment", "status", "result"}
    cancelled: list = field(default_factory=list)  # order numbers
    errors: list = field(default_factory=list)  # {"order", "error"}

    def as_json(self) -> dict:
        return {"checked": self.checked, "applied": self.applied, "cancelled": self.cancelled, "errors": self.errors}


def orders_to_reconcile(since_hours=DEFAULT_SINCE_HOURS, now=None, *, budget=False):
    """Orders still `created` with a Razorpay order: those payable since the
    last `since_hours`, plus any older `new` one past the capture window, which
    gets one last look before it is cancelled (and then leaves this list; a
    renewal is not cancelled here, so it has no last look). With `budget` (the
    periodic run), only orders whose next look is due, and none that is flagged
    for staff."""
    now = now or timezone.now()
    orders = Order.objects.filter(status=Order.Status.CREATED, razorpay_order_id__isnull=False).alias(
        payable_since=Coalesce("payable_from", "created_at")
    )
    recent = Q(payable_since__gte=now - timedelta(hours=since_hours))
    expired = Q(payable_since__lt=now - CAPTURE_WINDOW) & ~Q(kind=Order.Kind.RENEWAL)
    orders = orders.filter(recent | expired)
    if budget:
        due = Q(reconcile_next_at__lte=now) | Q(
            reconcile_next_at__isnull=True, payable_since__lte=now - RECONCILE_OFFSETS[0]
        )
        orders = orders.filter(due, needs_attention=False)
    return orders.order_by("created_at", "id")


def reconcile_next_look(order, now):
    """When to ask about `order` again after a look at `now`: the first offset
    past both its count of looks and now, so a late run skips the looks it missed.
    Offsets count from when the order became payable (`Order.payable_since`)."""
    checks = order.reconcile_checks + 1
    since = order.payable_since
    for offset in RECONCILE_OFFSETS[checks:]:
        if since + offset > now:
            return checks, since + offset
    return checks, since + CAPTURE_WINDOW  # past the window: due again, to be cancelled


def reconcile_look_recorded(order, now):
    checks, next_at = reconcile_next_look(order, now)
    Order.objects.filter(pk=order.pk).update(reconcile_checks=checks, reconcile_next_at=next_at)


def is_news(gateway_payment, known_statuses) -> bool:
    """Whether Razorpay knows more about this payment than we do. Known payments
    are not re-applied, so a failed attempt is recorded once, not every run."""
    known = known_statuses.get(gateway_payment.id)
    return known is None or PAYMENT_STATUS_RANK.get(gateway_payment.status, 0) > PAYMENT_STATUS_RANK.get(known, 0)


def payment_made_at(gateway_payment, order):
    """When Razorpay says the payment was made (when the order became payable, if it did not say)."""
    made = gateway_payment.raw.get("created_at") if gateway_payment.raw else None
    return datetime.fromtimestamp(made, tz=UTC) if isinstance(made, int) else order.payable_since


def capture_window_open(gateway_payment, order, now) -> bool:
    """Whether Razorpay still lets this authorized payment be captured: timed from
    the payment's own `created_at`."""
    return payment_made_at(gateway_payment, order) >= now - CAPTURE_WINDOW


def order_expired(order, listed, now) -> bool:
    """Whether the reconciler may cancel this unpaid order: a `new` order, with
    CAPTURE_WINDOW gone since it became payable and since its last payment
    attempt still in flight at Razorpay (pending or authorized; a failed one is
    over). Never a renewal: `run_billing` cancels those."""
    if order.kind == Order.Kind.RENEWAL:
        return False
    in_flight = [payment_made_at(payment, order) for payment in listed if payment.status in ("created", "authorized")]
    last_attempt = max([order.payable_since, *in_flight])
    return last_attempt < now - CAPTURE_WINDOW


def order_reconcile(order, gateway, report, now):
    """Apply an order's payments that we missed; cancel a `new` order past the
    capture window with nothing captured (order_expired). Gateway errors
    propagate to the caller."""
    known = dict(Payment.objects.filter(order=order).values_list("razorpay_payment_id", "status"))
    listed = gateway.order_payments(order.razorpay_order_id)
    # Razorpay has just said whether any payment of this order is captured: with
    # none, a lapsed capture claim hides nothing and may be taken over.
    none_captured = not any(payment.status == "captured" for payment in listed)
    for gateway_payment in listed:
        if (
            gateway_payment.status == "authorized"
            and capture_window_open(gateway_payment, order, now)
            and (gateway_payment.amount_paise, gateway_payment.currency) == (order.total_paise, order.currency)
        ):
            # One capture per order: a second authorization is left to lapse.
            gateway_payment, _ = payment_capture_once(gateway, order, gateway_payment, takeover=none_captured, now=now)
        if not is_news(gateway_payment, known):
            continue
        outcome = payment_apply(
            razorpay_order_id=order.razorpay_order_id, gateway_payment=gateway_payment, source="reconcile"
        )
        report.applied.append(
            {
                "order": order.number,
                "payment": gateway_payment.id,
                "status": gateway_payment.status,
                "result": outcome.result,
            }
        )
    if order_expired(order, listed, now) and order_cancel_expired(order.pk):
        report.cancelled.append(order.number)


def order_cancel_expired(order_id) -> bool:
    """Cancel a `created` `new` order past the capture window, under its row lock.
    Returns False if it was paid (or changed) meanwhile; never cancels a renewal."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update()
            .filter(pk=order_id, status=Order.Status.CREATED)
            .exclude(kind=Order.Kind.RENEWAL)
            .first()
        )
        if order is None or order.payments.filter(status=Payment.Status.CAPTURED).exists():
            return False
        order_transition(
            order,
            Order.Status.CANCELLED,
            source="reconcile",
            message=f"Nothing captured within Razorpay's capture window ({CAPTURE_WINDOW.days} days)",
        )
        order.save(update_fields=["status", "updated_at"])
    return True


def payments_reconcile(since_hours=DEFAULT_SINCE_HOURS, now=None, *, budget=False) -> ReconcileReport:
    """Reconcile every order from `orders_to_reconcile`. One order's gateway
    error is reported in `errors` and the others still run. Idempotent. With
    `budget`, each look is recorded and the next one scheduled (also after an
    error: a Razorpay outage does not turn into asking every 15 minutes)."""
    now = now or timezone.now()
    gateway = get_gateway()
    report = ReconcileReport()
    for order in orders_to_reconcile(since_hours, now, budget=budget):
        report.checked += 1
        if budget:
            reconcile_look_recorded(order, now)
        try:
            order_reconcile(order, gateway, report, now)
        except GatewayError as exc:
            logger.warning("reconcile_gateway_error order=%s error=%s", order.number, exc)
            report.errors.append({"order": order.number, "error": f"{type(exc).__name__}: {exc}"})
        except Exception as exc:  # noqa: BLE001 - logged with traceback and reported; the others must still run
            logger.exception("reconcile_failed order=%s", order.number)
            report.errors.append({"order": order.number, "error": f"{type(exc).__name__}: {exc}"})
    logger.info(
        "reconcile checked=%d applied=%d cancelled=%d errors=%d",
        report.checked,
        len(report.applied),
        len(report.cancelled),
        len(report.errors),
    )
    return report
