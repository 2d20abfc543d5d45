"""The mandate's life: registered by a paid autopay order, moved by Razorpay's token
news (webhooks, a token fetch), ended by the customer, the bank or a replacement.

One door per status change: `mandate_transition`, under the mandate's row lock,
checks AutopayMandate.TRANSITIONS and writes a history row. A token event about a
token no mandate holds yet (it came before the payment's own event) is kept as an
AutopayTokenReport and applied when the mandate is registered; both sides take a
transaction-scoped advisory lock on the token id, so neither misses the other.
"""

import logging

from django.db import connection, transaction
from django.utils import timezone

from outbox.services import mails_queue_for_sweep
from payments.gateways import GatewayError, get_gateway

from . import mails
from .models import AutopayMandate, AutopayMandateChange, AutopayTokenReport

logger = logging.getLogger("lifecycle.autopay")

# Razorpay's token statuses (recurring_details.status) and what they make of a mandate.
TOKEN_STATUS = {
    "confirmed": AutopayMandate.Status.ACTIVE,
    "rejected": AutopayMandate.Status.REJECTED,
    "cancelled": AutopayMandate.Status.CANCELLED,
    "paused": AutopayMandate.Status.CANCELLED,
}


class AutopayRefused(ValueError):
    """Nothing to turn off (no live mandate)."""


def token_lock(token_id):
    """Serialise everything about one token (registration against its early events)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 24))", [token_id])


def mandate_transition(mandate, to_status, *, source, actor=None, note="") -> bool:
    """Move a locked mandate along TRANSITIONS with a history row; False (and no
    change) when the move is not allowed from its status (a late or repeated event)."""
    if to_status == mandate.status or to_status not in AutopayMandate.TRANSITIONS[mandate.status]:
        return False
    AutopayMandateChange.objects.create(
        mandate=mandate, from_status=mandate.status, to_status=to_status, source=source, actor=actor, note=note
    )
    mandate.status = to_status
    mandate.save(update_fields=["status", "razorpay_cancelled_at", "updated_at"])
    return True


def mandate_register(order, server, gateway_payment, *, source) -> AutopayMandate | None:
    """The paid autopay `order`'s payment names a token: it becomes `server`'s
    mandate (pending until Razorpay confirms it). Called by the payment funnel in
    its transaction (the order's and the server's locks held). Idempotent per
    token. The server's previous live mandate is cancelled, and cancelled at
    Razorpay after commit. Token reports that came early are applied now."""
    token_id = gateway_payment.token_id
    if not token_id:
        logger.warning("autopay_no_token order=%s payment=%s", order.number, gateway_payment.id)
        return None
    token_lock(token_id)
    existing = AutopayMandate.objects.filter(razorpay_token_id=token_id).first()
    if existing is not None:
        return existing
    replaced = list(
        AutopayMandate.objects.select_for_update().filter(server_id=server.pk, status__in=AutopayMandate.LIVE)
    )
    for old in replaced:
        mandate_transition(old, AutopayMandate.Status.CANCELLED, source=source, note=f"Replaced by {token_id}")
        transaction.on_commit(lambda old_id=old.pk: mandate_cancel_at_razorpay(old_id))
    recurring = order.payment_metadata["recurring"]
    mandate = AutopayMandate.objects.create(
        server_id=server.pk,
        user_id=order.user_id,
        registered_by=order,
        razorpay_customer_id=gateway_payment.customer_id or recurring["customer_id"],
        razorpay_token_id=token_id,
        contact=recurring["contact"],
        method=gateway_payment.method,
        max_amount_paise=recurring["max_amount_paise"],
    )
    AutopayMandateChange.objects.create(
        mandate=mandate, to_status=mandate.status, source=source, note=f"Registered by order {order.number}"
    )
    for report in AutopayTokenReport.objects.filter(razorpay_token_id=token_id, applied_at__isnull=True):
        token_status_apply(mandate, report.status, source="webhook", note=f"Kept event {report.event_id}")
        AutopayTokenReport.objects.filter(pk=report.pk).update(applied_at=timezone.now())
    logger.info("autopay_registered server=%s token=%s order=%s", server.pk, token_id, order.number)
    return mandate


def token_status_apply(mandate, razorpay_status, *, source, note="") -> bool:
    """Razorpay's word on a locked mandate's token. A token Razorpay ended tells the customer."""
    to_status = TOKEN_STATUS.get(razorpay_status)
    if to_status is None:
        return False
    if to_status == AutopayMandate.Status.CANCELLED:
        mandate.razorpay_cancelled_at = mandate.razorpay_cancelled_at or timezone.now()  # gone at Razorpay
    moved = mandate_transition(mandate, to_status, source=source, note=note or f"Token {razorpay_status}")
    if moved and to_status in (AutopayMandate.Status.CANCELLED, AutopayMandate.Status.REJECTED):
        reason = "your bank or Razorpay ended the mandate" if razorpay_status != "rejected" else "your bank refused it"
        mails_queue_for_sweep([mails.autopay_off(mandate, mandate_email(mandate), reason)])
    return moved


def mandate_email(mandate):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.values_list("email", flat=True).get(pk=mandate.user_id)


def token_event_apply(token_id, razorpay_status, *, event_id) -> str:
    """A token.* webhook. Applied to the token's mandate, or kept until the payment
    that registers it is recorded. Idempotent per event."""
    with transaction.atomic():
        token_lock(token_id)
        mandate = AutopayMandate.objects.select_for_update().filter(razorpay_token_id=token_id).first()
        if mandate is None:
            AutopayTokenReport.objects.get_or_create(
                event_id=event_id, defaults={"razorpay_token_id": token_id, "status": razorpay_status}
            )
            return "token_kept"
        moved = token_status_apply(mandate, razorpay_status, source="webhook", note=f"Event {event_id}")
    return f"token_{razorpay_status}" if moved else "token_unchanged"


def mandate_turn_off(server_id, *, source, actor=None) -> AutopayMandate:
    """The customer turns autopay off: from the commit on, no debit is asked for the
    server, whatever Razorpay answers; then the token is cancelled at Razorpay
    (retried by run_billing when Razorpay cannot be reached). Raises AutopayRefused
    when the server has no live mandate. Lock: the mandate row."""
    with transaction.atomic():
        mandate = (
            AutopayMandate.objects.select_for_update()
            .filter(server_id=server_id, status__in=AutopayMandate.LIVE)
            .first()
        )
        if mandate is None:
            raise AutopayRefused("Autopay is not on for this server.")
        mandate_transition(mandate, AutopayMandate.Status.CANCELLED, source=source, actor=actor, note="Turned off")
        mails_queue_for_sweep([mails.autopay_off(mandate, mandate_email(mandate), "you turned it off")])
    mandate_cancel_at_razorpay(mandate.pk)
    return mandate


def mandate_cancel_at_razorpay(mandate_id) -> bool:
    """Tell Razorpay a mandate we ended is cancelled (PUT .../tokens/<id>/cancel).
    Outside any transaction; a failure is logged and left for the retry."""
    mandate = AutopayMandate.objects.get(pk=mandate_id)
    if mandate.status != AutopayMandate.Status.CANCELLED or mandate.razorpay_cancelled_at:
        return True
    try:
        get_gateway().token_cancel(mandate.razorpay_customer_id, mandate.razorpay_token_id)
    except GatewayError as exc:
        logger.warning("autopay_token_cancel_failed mandate=%s error=%s", mandate.pk, exc)
        return False
    AutopayMandate.objects.filter(pk=mandate.pk, razorpay_cancelled_at__isnull=True).update(
        razorpay_cancelled_at=timezone.now()
    )
    return True


def mandates_cancel_owed(limit=100) -> int:
    """Retry the Razorpay cancellations we still owe (run_billing)."""
    owed = AutopayMandate.objects.filter(
        status=AutopayMandate.Status.CANCELLED, razorpay_cancelled_at__isnull=True
    ).values_list("pk", flat=True)[:limit]
    return sum(mandate_cancel_at_razorpay(pk) for pk in owed)


def mandates_refresh_pending(*, now, limit=100) -> int:
    """Ask Razorpay about tokens still pending an hour after registration (a lost
    token.confirmed): their recurring_details.status moves the mandate."""
    pending = list(
        AutopayMandate.objects.filter(
            status=AutopayMandate.Status.PENDING, created_at__lt=now - timezone.timedelta(hours=1)
        )[:limit]
    )
    moved = 0
    for mandate in pending:
        try:
            token = get_gateway().token_fetch(mandate.razorpay_customer_id, mandate.razorpay_token_id)
        except GatewayError as exc:
            logger.warning("autopay_token_fetch_failed mandate=%s error=%s", mandate.pk, exc)
            continue
        with transaction.atomic():
            locked = AutopayMandate.objects.select_for_update().get(pk=mandate.pk)
            moved += token_status_apply(locked, token.status, source="token_fetch")
    return moved


def autopay_mandates_step(ctx):
    """run_billing: ask Razorpay about tokens still pending, retry owed cancellations.
    A dry run asks nothing."""
    if ctx.report.dry_run:
        return
    mandates_refresh_pending(now=ctx.now)
    mandates_cancel_owed()
