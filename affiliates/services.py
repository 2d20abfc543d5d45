"""State changes of referrals, commissions and payouts.

A commission is written by `commission_record_for_paid_order`, inside the
payment funnel's transaction: no external call, no read, at most one INSERT
(none at all when nobody referred the buyer). After that it moves only through
`commission_transition` (pending -> approved -> paid, pending -> reversed) or is
reduced while pending, each change leaving a CommissionEvent.
"""

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, OuterRef, Sum
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from accounts.models import User
from billing import pricing
from billing.models import Refund
from core.client_address import client_address
from core.sql import insert_row, insert_unless_exists
from core.templatetags.money import rupees
from security.audit import staff_action_record

from .models import Commission, CommissionEvent, Payout, Referral

logger = logging.getLogger("affiliates")

REFERRAL_COOKIE = "portal_ref"
REFERRAL_CODE_SHAPE = re.compile(r"[a-z0-9]{1,16}")
APPROVE_BATCH = 500


class PayoutError(ValueError):
    """A payout that cannot be recorded as asked; nothing was written."""


# --- Referrals ------------------------------------------------------------------


def referral_code_owner(code) -> User | None:
    """The customer whose referral code this is, or None for anything else (no
    code, a malformed or unknown one): links and cookies come from outside."""
    if not isinstance(code, str):
        return None
    code = code.strip().lower()
    if not REFERRAL_CODE_SHAPE.fullmatch(code):  # a NUL or a megabyte never reaches the database
        return None
    return User.objects.filter(referral_code=code, is_active=True).only("pk", "referral_code").first()


def referral_attribute(user, code) -> Referral | None:
    """Record at sign-up that the owner of `code` referred `user`.

    Returns the new Referral, or None when nothing is recorded: no code, an
    unknown one, the user's own code, or a user already referred (the first
    referral stands; the OneToOne on Referral.referred guarantees it even for
    two sign-up requests at once). Never raises for a bad code.
    """
    referrer = referral_code_owner(code)
    if referrer is None or referrer.pk == user.pk:
        return None
    try:
        with transaction.atomic():
            return Referral.objects.create(referred=user, referrer=referrer, code=referrer.referral_code)
    except IntegrityError:  # already referred: the first referral stands
        return None


def referrer_id_for(user) -> int | None:
    """The id of the affiliate who referred `user`, or None; copied onto each new order."""
    return Referral.objects.filter(referred_id=user.pk).values_list("referrer_id", flat=True).first()


# --- Commissions ----------------------------------------------------------------


def commission_record_for_paid_order(order) -> Commission | None:
    """Write the commission a referred customer's paid order earns its referrer.

    Called by payments.services.payment_apply in its transaction, with the order
    row locked and the order just marked paid. Nobody referred the buyer
    (`order.referrer_id` is empty): returns None without touching the database.
    Otherwise one `INSERT ... ON CONFLICT (order_id) DO NOTHING`: the amount is
    computed here from the order's own subtotal, and the unique order column
    makes a second write (another door delivering the same payment) a no-op.
    The row itself records its creation (when, the terms, the amount); the
    history rows record every change after it.
    """
    if order.referrer_id is None:
        return None
    percent = settings.AFFILIATE_COMMISSION_PERCENT
    amount = pricing.commission_paise(order.subtotal_paise, percent)
    paid_at = order.paid_at or timezone.now()
    commission = Commission(
        order_id=order.pk,
        affiliate_id=order.referrer_id,
        status=Commission.Status.PENDING,
        subtotal_paise=order.subtotal_paise,
        percent=percent,
        original_amount_paise=amount,
        amount_paise=amount,
        hold_until=paid_at + timedelta(days=settings.AFFILIATE_HOLD_DAYS),
    )
    return commission if insert_unless_exists(commission, "order") else None


def commission_event(commission, kind, *, from_status, amount_before, source, actor=None, note="", data=None):
    event = CommissionEvent(
        commission=commission,
        kind=kind,
        from_status=from_status,
        to_status=commission.status,
        amount_before_paise=amount_before,
        amount_after_paise=commission.amount_paise,
        source=source,
        actor=actor,
        note=note,
        data=data or {},
    )
    insert_row(event)
    return event


def commission_transition(commission, new_status, *, at, source, actor=None, note="", **fields):
    """Move a locked commission along Commission.TRANSITIONS, stamp its time, save it
    and leave a history row. Raises ValueError for a move the table forbids."""
    if not commission.can_transition_to(new_status):
        raise ValueError(f"Commission {commission.pk} cannot go from {commission.status} to {new_status}")
    from_status = commission.status
    commission.status = new_status
    stamp = {Commission.Status.APPROVED: "approved_at", Commission.Status.PAID: "paid_at"}.get(
        new_status, "reversed_at"
    )
    setattr(commission, stamp, at)
    for name, value in fields.items():
        setattr(commission, name, value)
    commission.save(update_fields=["status", stamp, "updated_at", *fields])
    commission_event(
        commission,
        new_status,
        from_status=from_status,
        amount_before=commission.amount_paise,
        source=source,
        actor=actor,
        note=note,
    )


def paying_payment_refund(status, **outer):
    """Refunds in `status` of the payment that paid the commission's order (the
    commission queryset's row, through OuterRef); for Exists()."""
    return Refund.objects.filter(
        status=status,
        payment__order_id=OuterRef("order_id"),
        payment__razorpay_payment_id=KeyTextTransform("captured_payment_id", OuterRef("order__payment_metadata")),
        **outer,
    )


def commissions_approve_due(now, *, dry_run=False, batch=APPROVE_BATCH) -> list[int]:
    """Approve every pending commission whose hold ended by `now`; a step of run_billing.

    Batches of `batch` rows, each in its own transaction, claimed with
    SELECT ... FOR UPDATE SKIP LOCKED on the commission and its order, so a
    second runner, or a refund or payment holding the order, never waits or
    approves twice; the status is re-read under the lock. A commission whose
    order was refunded meanwhile is reversed, never approved. One with a refund
    of its order's paying payment still pending is left pending (issue 23): the
    refund reverses or reduces it when processed, and a later run approves what
    is left. Re-runnable: a second call at the same `now` changes nothing.
    Returns the ids approved (with `dry_run`, those it would approve, writing
    nothing).
    """
    due = Commission.objects.filter(status=Commission.Status.PENDING, hold_until__lte=now).exclude(
        Exists(paying_payment_refund(Refund.Status.PENDING))
    )
    if dry_run:
        return list(due.order_by("hold_until", "pk").values_list("pk", flat=True))
    approved = []
    while True:
        with transaction.atomic():
            claimed = list(
                due.select_for_update(skip_locked=True, of=("self", "order"))
                .select_related("order")
                .order_by("hold_until", "pk")[:batch]
            )
            # Decided under the order's lock, by a statement that sees every refund
            # committed before it (no refund is asked while we hold the order).
            refund_pending = set(
                Commission.objects.filter(pk__in=[commission.pk for commission in claimed])
                .filter(Exists(paying_payment_refund(Refund.Status.PENDING)))
                .values_list("pk", flat=True)
            )
            for commission in claimed:
                if commission.pk in refund_pending:
                    continue
                if commission.order.status == commission.order.Status.REFUNDED:
                    commission_transition(
                        commission,
                        Commission.Status.REVERSED,
                        at=now,
                        source="run_billing",
                        note=f"Order {commission.order.number} was refunded",
                    )
                    continue
                commission_transition(commission, Commission.Status.APPROVED, at=now, source="run_billing")
                approved.append(commission.pk)
        if len(claimed) < batch:
            return approved


def commissions_approve_step(ctx):
    """run_billing's step (lifecycle.billing_day.STEPS): approve the commissions whose
    hold ended by the run's time (a dry run's transaction is rolled back by run_billing).
    Its JSON keeps the contract's keys, so approvals are logged, not listed there; a
    database failure is logged and reported in `errors`, and the other steps stand."""
    try:
        approved = commissions_approve_due(ctx.now)
    except DatabaseError as exc:
        logger.exception("commissions_approve_failed")
        ctx.report.errors.append({"server": None, "error": f"approve_commissions: {exc}"})
        return
    logger.info("commissions_approved dry_run=%s count=%d ids=%s", ctx.report.dry_run, len(approved), approved[:50])


def commission_adjust_for_refund(order, *, refunded_paise, refund_id="", source="refund", actor=None):
    """Follow a processed refund of `order` in its commission; None when it has none.

    Call inside the refund's transaction with the order row locked, once the
    refund is recorded. `refunded_paise` is everything processed so far against
    the payment that paid the order. While the commission is pending (in its
    hold, which is the refund window): a full refund reverses it; a partial one
    reduces it to original x (total - refunded) / total, half-up, computed from
    the original so successive refunds never compound rounding. An approved
    commission follows only the refunds asked before its approval (approval
    waits for pending refunds, so those were approved by older code): whenever
    they are processed, they reverse or reduce it as above; one asked after
    approval leaves it standing, and a paid commission is left as it stands
    (audit_ledger reports it). Idempotent: the same refunded total applied again
    changes nothing.
    """
    commission = Commission.objects.select_for_update().filter(order_id=order.pk).first()
    if commission is None or commission.status not in (Commission.Status.PENDING, Commission.Status.APPROVED):
        return commission
    if commission.status == Commission.Status.APPROVED:
        refunded_paise = refunded_before_paise(order, commission_approved_moment(commission))
        if refunded_paise <= 0:
            return commission
        whole = refunded_paise >= order.total_paise
    else:
        whole = refunded_paise >= order.total_paise or order.status == order.Status.REFUNDED
    data = {"refund_id": refund_id, "refunded_paise": refunded_paise}
    if whole:
        commission_transition(
            commission,
            Commission.Status.REVERSED,
            at=timezone.now(),
            source=source,
            actor=actor,
            note=f"Order {order.number} refunded in full",
        )
        return commission
    reduced = pricing.reduced_in_proportion(
        commission.original_amount_paise, order.total_paise - refunded_paise, order.total_paise
    )
    if reduced < commission.amount_paise:
        before = commission.amount_paise
        commission.amount_paise = reduced
        commission.save(update_fields=["amount_paise", "updated_at"])
        commission_event(
            commission,
            "reduced",
            from_status=commission.status,
            amount_before=before,
            source=source,
            actor=actor,
            note=f"Order {order.number}: {rupees(refunded_paise)} of {rupees(order.total_paise)} refunded",
            data=data,
        )
    return commission


def commission_approved_moment(commission):
    """When the commission was approved: the earlier of its `approved_at` (the
    approving run's time) and the moment its approval was written."""
    written = commission.events.filter(kind=Commission.Status.APPROVED).values_list("at", flat=True).first()
    return min(commission.approved_at, written) if written else commission.approved_at


def refunded_before_paise(order, moment) -> int:
    """Processed refunds of the payment that paid `order`, asked before `moment`."""
    total = Refund.objects.filter(
        status=Refund.Status.PROCESSED,
        payment__order_id=order.pk,
        payment__razorpay_payment_id=order.payment_metadata.get("captured_payment_id"),
        created_at__lt=moment,
    ).aggregate(total=Sum("amount_paise"))["total"]
    return total or 0


# --- Payouts --------------------------------------------------------------------


def payout_record(
    *, affiliate, amount_paise, reference, paid_on, recorded_by, request=None, via="admin", note=""
) -> Payout:
    """Record money staff sent `affiliate` and mark the approved commissions it
    settles `paid`, oldest approval first.

    The amount must be exactly what the oldest approved commissions add up to
    (the first one, the first two, ...), so every paisa paid is tied to the
    commissions it paid; anything else raises PayoutError and writes nothing.
    The affiliate's approved commissions are locked first, so two staff
    recording the same payout at once cannot pay one commission twice, and a
    reference is unique per affiliate (a form submitted twice is refused).
    Needs the `affiliates.pay_commission` permission; the staff audit records who,
    when, from which address (`request`'s, when there is one) and what, in the
    same transaction.
    """
    if not recorded_by.has_perm("affiliates.pay_commission"):
        raise PermissionDenied("Recording an affiliate payout needs the affiliates.pay_commission permission.")
    reference = (reference or "").strip()
    if not reference:
        raise PayoutError("Give the transfer's reference.")
    if not isinstance(amount_paise, int) or amount_paise <= 0:
        raise PayoutError("The amount must be more than ₹0.00.")
    with transaction.atomic():
        approved = list(
            Commission.objects.select_for_update()
            .filter(affiliate_id=affiliate.pk, status=Commission.Status.APPROVED)
            .order_by("approved_at", "pk")
        )
        settled, running, possible = [], 0, []
        for commission in approved:
            if running >= amount_paise:
                break
            running += commission.amount_paise
            settled.append(commission)
            possible.append(running)
        if running != amount_paise:
            raise PayoutError(payout_amount_hint(amount_paise, possible, approved))
        if Payout.objects.filter(affiliate_id=affiliate.pk, reference=reference).exists():
            raise PayoutError(f"A payout with reference {reference} is already recorded for this affiliate.")
        payout = Payout.objects.create(
            affiliate_id=affiliate.pk,
            amount_paise=amount_paise,
            reference=reference,
            paid_on=paid_on,
            note=note,
            recorded_by=recorded_by,
            recorded_from=(client_address(request) or None) if request is not None else None,
        )
        now = timezone.now()
        for commission in settled:
            commission_transition(
                commission,
                Commission.Status.PAID,
                at=now,
                source=via,
                actor=recorded_by,
                note=f"Payout {payout.pk}, reference {reference}",
                payout=payout,
            )
        staff_action_record(
            "affiliates.pay_commission",
            target=payout,
            actor=recorded_by,
            request=request,
            via=via,
            reason=note or f"Payout, reference {reference}",
            details={
                "affiliate": affiliate.email,
                "amount_paise": amount_paise,
                "reference": reference,
                "paid_on": paid_on.isoformat(),
                "commissions": [commission.pk for commission in settled],
            },
        )
    logger.info("affiliate_payout affiliate=%s payout=%s amount_paise=%s", affiliate.pk, payout.pk, amount_paise)
    return payout


def payout_amount_hint(amount_paise, possible, approved):
    if not approved:
        return "This affiliate has no approved commissions to pay."
    total = sum(commission.amount_paise for commission in approved)
    if amount_paise > total:
        return f"That is more than the {rupees(total)} of approved commissions."
    fits = ", ".join(rupees(value) for value in possible[-3:])
    return (
        f"A payout settles whole commissions, oldest first: {rupees(amount_paise)} falls inside one. "
        f"Amounts that settle whole commissions include {fits} (all approved: {rupees(total)})."
    )
