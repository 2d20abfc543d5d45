"""Reads for the affiliate page, the API and the admin.

What a referrer sees is their own code, counts and amounts: never who they
referred or which orders earned what (no names, emails or order numbers).
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import BigIntegerField, Count, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Least
from django.urls import reverse

from billing import pricing
from billing.models import Order, OrderEvent, Refund
from core.templatetags.money import rupees

from .models import Commission, CommissionEvent, Payout, Referral


def referral_link(user) -> str:
    return settings.SITE_URL + reverse("affiliates:referral-link", args=[user.referral_code])


def commission_totals(commissions) -> dict:
    """{status: integer paise} over a queryset of commissions, every status present."""
    sums = commissions.aggregate(
        **{status: Sum("amount_paise", filter=Q(status=status), default=0) for status in Commission.Status.values}
    )
    return {status: sums[status] for status in Commission.Status.values}


@dataclass
class AffiliateSummary:
    code: str
    link: str
    referrals: int
    totals: dict  # {status: paise}
    commissions: list  # [Commission], newest first
    payouts: list  # [Payout], newest first


def affiliate_summary(user) -> AffiliateSummary:
    """The signed-in customer's own affiliate figures, and nobody else's."""
    own = Commission.objects.filter(affiliate=user)
    return AffiliateSummary(
        code=user.referral_code,
        link=referral_link(user),
        referrals=Referral.objects.filter(referrer=user).count(),
        totals=commission_totals(own),
        commissions=list(own.only("amount_paise", "status", "created_at").order_by("-created_at", "-id")),
        payouts=list(Payout.objects.filter(affiliate=user).only("amount_paise", "reference", "paid_on")),
    )


def affiliates_with_balances(users):
    """`users` (a User queryset) that referred someone or earned something, annotated
    in paise: referral_count, pending_paise, approved_paise (the balance to pay),
    paid_paise. Subqueries, not joins: a join of referrals and commissions would
    multiply every sum by the number of referrals."""

    def per_user(model, field, aggregate, **where):
        rows = model.objects.filter(**{field: OuterRef("pk")}, **where).values(field).annotate(value=aggregate)
        return Coalesce(Subquery(rows.values("value"), output_field=BigIntegerField()), 0)

    money = {
        f"{status}_paise": per_user(Commission, "affiliate", Sum("amount_paise"), status=status)
        for status in (Commission.Status.PENDING, Commission.Status.APPROVED, Commission.Status.PAID)
    }
    referred_someone = Exists(Referral.objects.filter(referrer=OuterRef("pk")))
    earned = Exists(Commission.objects.filter(affiliate=OuterRef("pk")))
    return users.filter(referred_someone | earned).annotate(
        referral_count=per_user(Referral, "referrer", Count("pk")), **money
    )


def commission_ledger_problems() -> list[dict]:
    """[{"order", "problem"}] for audit_ledger: every paid or refunded order of a
    referred customer has exactly the commission the formula gives, owed to the
    referrer on the order; a refunded order's commission was reversed, unless it had
    already been approved when the refund came (the hold is the refund window)."""
    problems = []
    # When the commission was approved: the earlier of approved_at (the run's time)
    # and when its approval was written; then the processed refunds of the paying
    # payment asked before it. Subqueries of the one statement over the orders.
    approval_written = CommissionEvent.objects.filter(
        commission__order=OuterRef("pk"), kind=Commission.Status.APPROVED
    ).values("at")[:1]
    refunded_before = (
        Refund.objects.filter(
            status=Refund.Status.PROCESSED,
            payment__order=OuterRef("pk"),
            payment__razorpay_payment_id=KeyTextTransform("captured_payment_id", OuterRef("payment_metadata")),
            created_at__lt=OuterRef("approved_moment"),
        )
        .values("payment__order")
        .annotate(total=Sum("amount_paise"))
        .values("total")
    )
    orders = (
        Order.objects.filter(status__in=[Order.Status.PAID, Order.Status.REFUNDED], referrer__isnull=False)
        .select_related("commission")
        .only("number", "status", "subtotal_paise", "total_paise", "referrer_id", "commission")
        .annotate(
            approved_moment=Least(
                "commission__approved_at", Coalesce(Subquery(approval_written), "commission__approved_at")
            )
        )
        .annotate(refunded_before=Coalesce(Subquery(refunded_before, output_field=BigIntegerField()), 0))
        .order_by("pk")
    )
    refunded_at = dict(
        OrderEvent.objects.filter(
            kind="status", to_status=Order.Status.REFUNDED, order__referrer__isnull=False
        ).values_list("order_id", "at")
    )
    for order in orders.iterator(chunk_size=500):
        commission = getattr(order, "commission", None)
        if commission is None:
            problems.append({"order": order.number, "problem": "paid order of a referred customer has no commission"})
            continue
        expected = pricing.commission_paise(order.subtotal_paise, commission.percent)
        if commission.subtotal_paise != order.subtotal_paise or commission.original_amount_paise != expected:
            problems.append(
                {
                    "order": order.number,
                    "problem": f"commission is {rupees(commission.original_amount_paise)} on a subtotal of "
                    f"{rupees(commission.subtotal_paise)}; {commission.percent} % of {rupees(order.subtotal_paise)} "
                    f"is {rupees(expected)}",
                }
            )
        if commission.affiliate_id != order.referrer_id:
            problems.append({"order": order.number, "problem": "commission is owed to someone other than the referrer"})
        if problem := commission_kept_past_refund(order, commission):
            problems.append({"order": order.number, "problem": problem})
        if order.status == Order.Status.REFUNDED and commission.status != Commission.Status.REVERSED:
            approved_at = commission.approved_at
            refund = refunded_at.get(order.pk)
            if approved_at is None or (refund is not None and approved_at > refund):
                problems.append(
                    {"order": order.number, "problem": f"order refunded but its commission is {commission.status}"}
                )
    return problems


def commission_kept_past_refund(order, commission) -> str:
    """Why an approved or paid commission keeps money that refunds asked before its
    approval took back (`order.refunded_before`, annotated), or "" when it does not
    (issue 23: approval waits for a pending refund, and one processed later still
    reverses or reduces it)."""
    if commission.status not in (Commission.Status.APPROVED, Commission.Status.PAID):
        return ""
    before = order.refunded_before
    if before <= 0:
        return ""
    total = order.total_paise
    if before >= total:
        return (
            f"commission is {commission.status} ({rupees(commission.amount_paise)}) but {rupees(before)} of "
            f"{rupees(total)} was refunded by refunds asked before its approval; it should be reversed"
        )
    expected = pricing.reduced_in_proportion(commission.original_amount_paise, total - before, total)
    if commission.amount_paise > expected:
        return (
            f"commission is {commission.status} at {rupees(commission.amount_paise)} but refunds asked before its "
            f"approval took back {rupees(before)} of {rupees(total)}, which leaves {rupees(expected)}"
        )
    return ""
