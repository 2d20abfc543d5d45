"""State changes of payments.

`payment_apply` is the one funnel through which every captured payment passes,
whether it arrives by the browser (verify), a webhook or the reconciler. It
locks the order row, so concurrent arrivals of the same payment serialise and
exactly one of them marks the order paid and writes its server row.
"""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.invoices import invoice_document
from billing.models import HostingPlan, Order, Payment
from billing.recurring import razorpay_contact, recurring_metadata
from billing.services import (
    OrderError,
    invoice_number_assign,
    order_build,
    order_event,
    order_flag,
    order_transition,
)
from core.sql import insert_row, insert_unless_exists, select_row, update_row
from core.templatetags.money import months, rupees
from servers.services import server_create_for_paid_order
from sshkeys.services import order_ssh_keys_attach

from . import hooks
from .gateways import GatewayError, GatewayPayment, GatewayRejected, get_gateway, payment_signature_valid
from .recurring import recurring_terms

logger = logging.getLogger("billing.payments")

# How long verify waits on Razorpay before answering 202 and leaving the rest
# to the webhook or the reconciler.
VERIFY_GATEWAY_TIMEOUT_SECONDS = 3.0

# A later event never moves a payment backwards: a "failed" delivered after
# "captured" is ignored, a capture after a failure is applied.
PAYMENT_STATUS_RANK = {"created": 0, "authorized": 1, "failed": 1, "captured": 2, "refunded": 3}


class PaymentSignatureInvalid(ValueError):
    pass


class OrderNotFound(LookupError):
    pass


def log_step(step, started, **fields):
    parts = " ".join(f"{key}={value}" for key, value in fields.items())
    logger.info("payment_step step=%s %s duration_ms=%.1f", step, parts, (time.monotonic() - started) * 1000)


def order_create(
    *, user, plan, billing_cycle_months, buyer=None, source="checkout", ssh_keys=(), recurring_customer=None
) -> Order:
    """Create an order priced by `pricing.quote`, then its Razorpay order.
    `ssh_keys` (the customer's own SSHKey rows, checked by the caller) are
    copied onto the order in its transaction, to be installed on its server.
    With `recurring_customer` (payments.recurring), paying it registers autopay.

    The portal order is committed first, so a gateway failure leaves a
    `created` order the customer can retry from (order_gateway_ensure);
    raises GatewayError with a customer-facing message in that case.
    """
    if not isinstance(plan, HostingPlan) or not plan.is_active:
        raise OrderError("This plan is not available.")
    order = order_build(
        user=user,
        plan=plan,
        billing_cycle_months=billing_cycle_months,
        buyer=buyer,
        referrer_id=hooks.referrer_id_for(user),
    )
    with transaction.atomic():
        if recurring_customer is not None:
            order.payment_metadata = {"recurring": recurring_metadata(recurring_customer)}
        order.save()
        order_event(order, "created", source=source, actor=user, to_status=order.status)
        if ssh_keys:
            order_ssh_keys_attach(order, ssh_keys)
    return order_gateway_ensure(order, placing=True)


def order_gateway_ensure(order, *, placing=False) -> Order:
    """Give a `created` order its Razorpay order, once, as the customer sets out to
    pay it. Idempotent; the gateway call happens outside any transaction and the
    id is written under the order's lock.

    Razorpay's capture window runs from here, not from when the order was placed
    (a renewal is issued days before it is paid): unless `placing` (checkout,
    making the order and its Razorpay order together), `payable_from` is set to
    now and the reconciler's looks start again from it; so does a customer
    reopening Checkout on an order that already has its Razorpay order."""
    if order.razorpay_order_id:
        if not placing:
            order_payable_from_now(order)
        return order
    started = time.monotonic()
    gateway_order = get_gateway().order_create(
        receipt=order.number,
        amount_paise=order.total_paise,
        currency=order.currency,
        notes={"order_number": order.number},
        recurring=recurring_terms(order),
    )
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if not locked.razorpay_order_id:
            locked.razorpay_order_id = gateway_order.id
            locked.payable_from = None if placing else timezone.now()
            locked.reconcile_checks, locked.reconcile_next_at = 0, None
            locked.save(
                update_fields=[
                    "razorpay_order_id",
                    "payable_from",
                    "reconcile_checks",
                    "reconcile_next_at",
                    "updated_at",
                ]
            )
            order_event(locked, "gateway_order", source="checkout", data={"razorpay_order_id": gateway_order.id})
    log_step("gateway_order_create", started, order=order.number, razorpay_order=gateway_order.id)
    # A concurrent call may have won the lock first: its id is the one kept.
    order.razorpay_order_id, order.updated_at = locked.razorpay_order_id, locked.updated_at
    order.payable_from, order.reconcile_checks, order.reconcile_next_at = (
        locked.payable_from,
        locked.reconcile_checks,
        locked.reconcile_next_at,
    )
    return order


def order_payable_from_now(order):
    """The customer reopened Checkout on an unpaid order: its capture window and
    the reconciler's looks run from now. One UPDATE; nothing for a settled order."""
    now = timezone.now()
    if Order.objects.filter(pk=order.pk, status=Order.Status.CREATED).update(
        payable_from=now, reconcile_checks=0, reconcile_next_at=None, updated_at=now
    ):
        order.payable_from, order.reconcile_checks, order.reconcile_next_at = now, 0, None


def checkout_options(order) -> dict:
    """Options for Razorpay Checkout (`new Razorpay(options)`); amounts from the order only.
    An autopay order adds the customer and `recurring`, which registers the mandate."""
    options = {
        "key": settings.RAZORPAY_KEY_ID,
        "order_id": order.razorpay_order_id,
        "amount": order.total_paise,
        "currency": order.currency,
        "name": settings.SELLER_NAME,
        "description": f"{order.plan_name}, {months(order.billing_cycle_months)}, order {order.number}",
        "prefill": {"email": order.user.email, "name": order.buyer_name},
        "notes": {"order_number": order.number},
    }
    if recurring := order.payment_metadata.get("recurring"):
        options.update(customer_id=recurring["customer_id"], recurring="1")
        options["prefill"]["contact"] = razorpay_contact(recurring["contact"])
    return options


# --- Payments -------------------------------------------------------------------

# How long a capture claim holds: far longer than a capture call may take (the
# SDK's timeout), so a claim never lapses while its capture is in flight.
CAPTURE_CLAIM_SECONDS = 60


class CaptureDecision(StrEnum):
    CLAIMED = "claimed"  # this payment may be captured now
    PAID = "paid"  # the order is paid (or has a captured payment): capture nothing more
    BUSY = "busy"  # another payment holds the claim: leave this one authorized


def capture_claim(razorpay_order_id, payment_id, *, now=None, takeover=False) -> CaptureDecision:
    """Decide, under the order's row lock, whether `payment_id` may be captured,
    and if so claim the capture for it (committed before the capture call, so
    the claim survives a crash between the call and its recording).

    Never two captures per order: refused once the order is not `created` or any
    of its payments is captured, and while another payment's claim holds. A lapsed
    claim may hide a capture that was made and never recorded, so it is taken
    over only with `takeover`, by a caller that has just listed the order's
    payments at Razorpay and seen none captured (the reconciler). Lock order: the
    order row only.
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = select_row(Order, fields=CAPTURE_FIELDS, for_update=True, razorpay_order_id=razorpay_order_id)
        if order is None:
            raise OrderNotFound(f"No portal order has Razorpay order id {razorpay_order_id}")
        if order.status != Order.Status.CREATED or order.payments.filter(status=Payment.Status.CAPTURED).exists():
            return CaptureDecision.PAID
        held_by_another = order.capture_payment_id not in ("", payment_id)
        if held_by_another and (order.capture_claimed_until > now or not takeover):
            return CaptureDecision.BUSY
        order.capture_payment_id = payment_id
        order.capture_claimed_until = now + timedelta(seconds=CAPTURE_CLAIM_SECONDS)
        update_row(order, ("capture_payment_id", "capture_claimed_until", "updated_at"))
    return CaptureDecision.CLAIMED


CAPTURE_FIELDS = ("status", "capture_payment_id", "capture_claimed_until", "updated_at")


def capture_release(razorpay_order_id, payment_id):
    """Give up the claim of a payment Razorpay refused to capture (so another may be)."""
    Order.objects.filter(razorpay_order_id=razorpay_order_id, capture_payment_id=payment_id).update(
        capture_payment_id="", capture_claimed_until=None
    )


def payment_capture_once(gateway, order, gateway_payment, *, timeout=None, takeover=False, now=None):
    """Capture an authorized payment if its order's capture claim is granted
    (capture_claim). Returns (what Razorpay now says about the payment, the
    decision). A refused capture (captured meanwhile, or authorized for another
    amount) is answered with a fresh fetch; a payment still not captured then
    gives the claim back. Gateway errors propagate: an unknown outcome keeps the
    claim until it lapses and the reconciler has looked."""
    decision = capture_claim(order.razorpay_order_id, gateway_payment.id, now=now, takeover=takeover)
    if decision != CaptureDecision.CLAIMED:
        return gateway_payment, decision
    try:
        captured = gateway.payment_capture(gateway_payment.id, order.total_paise, order.currency, timeout=timeout)
    except GatewayRejected:
        captured = gateway.payment_fetch(gateway_payment.id, timeout=timeout)
        if captured.status != Payment.Status.CAPTURED:
            capture_release(order.razorpay_order_id, gateway_payment.id)
    return captured, decision


@dataclass
class PaymentOutcome:
    order: Order
    server: object | None
    payment: Payment | None
    result: str  # "paid", "already_paid", "failed_recorded", "authorized", "mismatch", "refunded", "ignored"


def payment_record(order, gateway_payment: GatewayPayment) -> Payment:
    """Upsert the Payment row for a gateway payment, never moving it backwards. Caller holds the order lock."""
    facts = dict(
        status=gateway_payment.status,
        amount_paise=gateway_payment.amount_paise,
        currency=gateway_payment.currency,
        method=gateway_payment.method,
        error_code=gateway_payment.error_code,
        error_description=gateway_payment.error_description,
        gateway_data=gateway_payment.raw,
    )
    captured_at = timezone.now() if gateway_payment.status == Payment.Status.CAPTURED else None
    payment = Payment(razorpay_payment_id=gateway_payment.id, order=order, captured_at=captured_at, **facts)
    if insert_unless_exists(payment, "razorpay_payment_id"):  # one statement on the first arrival
        transaction.on_commit(lambda: payment_recorded_hand_off(gateway_payment.id))
        return payment
    payment = Payment.objects.get(razorpay_payment_id=gateway_payment.id)
    if PAYMENT_STATUS_RANK.get(gateway_payment.status, 0) >= PAYMENT_STATUS_RANK.get(payment.status, 0):
        for name, value in facts.items():
            # An event without a method or raw entity keeps what an earlier one recorded.
            if value or name not in ("method", "gateway_data"):
                setattr(payment, name, value)
        payment.captured_at = payment.captured_at or captured_at
        payment.save()
    return payment


def payment_recorded_hand_off(razorpay_payment_id):
    """A payment is known now: apply the events that arrived before it."""
    from .webhooks import webhook_events_waiting_apply  # webhooks build on this module

    webhook_events_waiting_apply(razorpay_payment_id)


def payment_mismatch(order, gateway_payment):
    """Why a captured payment cannot pay this order, or "" when it can."""
    problems = []
    if gateway_payment.order_id != order.razorpay_order_id:
        problems.append(f"payment is for Razorpay order {gateway_payment.order_id or '(none)'}")
    if gateway_payment.amount_paise != order.total_paise:
        problems.append(f"captured {rupees(gateway_payment.amount_paise)}, order total is {rupees(order.total_paise)}")
    if gateway_payment.currency != order.currency:
        problems.append(f"currency {gateway_payment.currency}, order is {order.currency}")
    return "; ".join(problems)


def payment_apply(*, razorpay_order_id, gateway_payment: GatewayPayment, source, actor=None) -> PaymentOutcome:
    """The funnel. Idempotent: the same payment applied any number of times, from
    any source, in any order, gives one Payment row, one paid order, one server.

    In one transaction, under the order's row lock: records the payment; if it is
    captured and matches the order's id, amount and currency, marks the order
    paid, assigns the invoice number, writes the server row (pending) and, for a
    referred buyer, the referrer's commission. After commit the server is queued
    for provisioning (one publish); the first provisioning attempt emails the
    customer that the payment was received.
    A captured payment that does not match never provisions: the order is
    flagged for staff and an alert goes out.
    """
    started = time.monotonic()
    with transaction.atomic():
        order = select_row(Order, for_update=True, razorpay_order_id=razorpay_order_id)
        if order is None:
            raise OrderNotFound(f"No portal order has Razorpay order id {razorpay_order_id}")
        payment = payment_record(order, gateway_payment)
        existing_server = order_server(order) if order.status != Order.Status.CREATED else None

        if payment.status == Payment.Status.REFUNDED and order.status in (Order.Status.CREATED, Order.Status.CANCELLED):
            # What we recorded outranks a late event: Razorpay already gave this money
            # back, so a delayed `payment.captured` for it must not provision.
            outcome = PaymentOutcome(order, None, payment, "refunded")
        elif gateway_payment.status == "failed":
            if order.status in (Order.Status.CREATED, Order.Status.CANCELLED):
                order.payment_metadata = {
                    **order.payment_metadata,
                    "last_failure": {
                        "payment_id": gateway_payment.id,
                        "code": gateway_payment.error_code,
                        "description": gateway_payment.error_description,
                    },
                }
                order.save(update_fields=["payment_metadata", "updated_at"])
                order_event(
                    order,
                    "payment_failed",
                    source=source,
                    actor=actor,
                    message=gateway_payment.error_description,
                    data={"payment_id": gateway_payment.id, "code": gateway_payment.error_code},
                )
            outcome = PaymentOutcome(order, existing_server, payment, "failed_recorded")
        elif gateway_payment.status != "captured":
            outcome = PaymentOutcome(order, existing_server, payment, gateway_payment.status)
        elif order.status in (Order.Status.PAID, Order.Status.REFUNDED):
            if gateway_payment.id != order.payment_metadata.get("captured_payment_id"):
                # The customer paid twice for one order: money to give back, not a second server.
                order_flag(
                    order, gateway_payment.id, f"Second captured payment {gateway_payment.id}; refund it", source=source
                )
            outcome = PaymentOutcome(order, existing_server, payment, "already_paid")
        elif problem := payment_mismatch(order, gateway_payment):
            order_flag(
                order,
                gateway_payment.id,
                f"Captured payment {gateway_payment.id} does not match: {problem}",
                source=source,
            )
            outcome = PaymentOutcome(order, None, payment, "mismatch")
        else:
            order_mark_paid(order, gateway_payment, source=source, actor=actor)
            # What the order was bought for: a new server, a renewal's months (payments.hooks).
            server = hooks.paid_handlers[order.kind](order, gateway_payment, source=source, actor=actor)
            for handler in hooks.paid_order_handlers:  # affiliates: one insert, none without a referrer
                handler(order)
            # Last before commit: every payment waits on the year's invoice counter
            # row, so it is held for as short a time as possible.
            invoice_number_assign(order, timezone.localdate(order.paid_at))
            update_row(order, ("status", "paid_at", "payment_metadata", "invoice_number", "invoice_date", "updated_at"))
            insert_row(invoice_document(order))  # the stored tax invoice: one INSERT, rendered as written
            outcome = PaymentOutcome(order, server, payment, "paid")
        for handler in hooks.payment_applied_handlers:  # lifecycle's autopay: only its own orders cost anything
            handler(order, gateway_payment, outcome.result, outcome.server, source=source)
    log_step(
        "payment_apply", started, order=order.number, payment=gateway_payment.id, source=source, result=outcome.result
    )
    return outcome


def order_server(order):
    """The server an order bought (`new`) or extends (`renewal`), or None."""
    if order.kind == Order.Kind.RENEWAL:
        return order.renews_server
    if order.kind == Order.Kind.UPGRADE:
        return order.upgrades_server
    return getattr(order, "server", None)


def new_order_paid(order, gateway_payment, *, source, actor=None):
    """The funnel's handler for a new order just marked paid: its server row,
    pending (registered in payments.hooks by this app's ready())."""
    return server_create_for_paid_order(order, source=source, actor=actor)


def order_mark_paid(order, gateway_payment, *, source, actor=None):
    """Mark the locked order paid in memory and log it; the caller saves it
    after writing the server and the invoice number."""
    now = timezone.now()
    order_transition(
        order, Order.Status.PAID, source=source, actor=actor, message=f"Payment {gateway_payment.id} captured"
    )
    order.paid_at = now
    order.payment_metadata = {
        **order.payment_metadata,
        "captured_payment_id": gateway_payment.id,
        "method": gateway_payment.method,
        "confirmed_by": source,
    }


@dataclass
class VerifyResult:
    order: Order
    server: object | None
    confirmed: bool
    detail: str = ""


BEING_CONFIRMED = "Your payment is being confirmed. This page will update shortly."
VERIFY_ORDER_FIELDS = ("number", "status", "razorpay_order_id", "total_paise", "currency")


def payment_verify(*, user, razorpay_order_id, razorpay_payment_id, razorpay_signature) -> VerifyResult:
    """What the browser's Checkout handler posts. Checks the signature against
    the caller's own order, confirms the capture with Razorpay within a bounded
    time (capturing an authorized payment), then applies it through the funnel.
    Answers "not yet confirmed" rather than waiting when Razorpay is slow or down.
    """
    started = time.monotonic()
    # Only what the checks and the answer need: this runs on every confirmation.
    order = select_row(Order, fields=VERIFY_ORDER_FIELDS, user_id=user.pk, razorpay_order_id=razorpay_order_id)
    if order is None:
        raise OrderNotFound("No such order.")
    if not payment_signature_valid(order.razorpay_order_id, razorpay_payment_id, razorpay_signature):
        log_step("verify_signature_invalid", started, order=order.number, payment=razorpay_payment_id)
        raise PaymentSignatureInvalid("The payment signature is not valid.")
    if (
        order.status in (Order.Status.PAID, Order.Status.REFUNDED)
        and order.payments.filter(razorpay_payment_id=razorpay_payment_id, status__in=["captured", "refunded"]).exists()
    ):
        return VerifyResult(order, order_server(order), True)

    gateway = get_gateway()
    try:
        gateway_payment = gateway.payment_fetch(razorpay_payment_id, timeout=VERIFY_GATEWAY_TIMEOUT_SECONDS)
        if gateway_payment.status == "authorized":
            gateway_payment, decision = payment_capture_once(
                gateway, order, gateway_payment, timeout=VERIFY_GATEWAY_TIMEOUT_SECONDS
            )
            if decision == CaptureDecision.BUSY:
                log_step("verify_capture_busy", started, order=order.number, payment=razorpay_payment_id)
                return VerifyResult(order, None, False, BEING_CONFIRMED)
    except GatewayError as exc:  # unreachable, or refused: the webhook or the reconciler finishes it
        log_step("verify_gateway_error", started, order=order.number, payment=razorpay_payment_id, error=exc)
        return VerifyResult(order, None, False, BEING_CONFIRMED)

    outcome = payment_apply(
        razorpay_order_id=order.razorpay_order_id, gateway_payment=gateway_payment, source="verify", actor=user
    )
    log_step("verify", started, order=order.number, payment=razorpay_payment_id, result=outcome.result)
    if outcome.result in ("paid", "already_paid"):
        return VerifyResult(outcome.order, outcome.server, True)
    if outcome.result == "mismatch":
        return VerifyResult(
            outcome.order,
            None,
            False,
            "Your payment was received but needs a check by our staff; we have been alerted.",
        )
    if outcome.result == "failed_recorded":
        return VerifyResult(outcome.order, None, False, "The payment failed. You can try again.")
    if outcome.result == "refunded":  # not "being confirmed": nothing more will come of it
        return VerifyResult(outcome.order, None, False, "This payment was refunded to you. You can pay again.")
    if outcome.result == "authorized" and outcome.order.status == Order.Status.CANCELLED:
        # Not taken: a cancelled order captures nothing (a renewal is cancelled when its server is terminated).
        return VerifyResult(
            outcome.order,
            None,
            False,
            f"Order {outcome.order.number} was cancelled before this payment arrived, so it was not taken; "
            "your bank releases the hold.",
        )
    if outcome.result == "authorized" and outcome.order.status != Order.Status.CREATED:
        return VerifyResult(
            outcome.order,
            None,
            False,
            "This order is already paid by another payment; this one was not taken and your bank releases the hold.",
        )
    return VerifyResult(outcome.order, None, False, BEING_CONFIRMED)
