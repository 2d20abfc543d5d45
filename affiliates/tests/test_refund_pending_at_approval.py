"""A refund asked inside the hold and still pending when it ends (issue 23, item 2).

No commission is approved while a refund of the payment that paid its order is
pending; a refund asked before approval reverses or reduces the commission when
Razorpay processes it, whenever that is; audit_ledger reports a commission that
kept money a refund asked before its approval took back.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from affiliates.models import Commission
from affiliates.services import commissions_approve_due
from billing.models import OrderEvent, Refund
from ops.audit import ledger_audit
from payments.refunds import order_refund
from payments.tests.conftest import post_webhook

from .conftest import paid_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def commission(alice, carol, plan, fake_razorpay):
    """Carol's order of G.8GB for a month (subtotal 224000, total 264320) earned alice 22400;
    its hold ends a minute from now (time moved by data: hold_until)."""
    commission = Commission.objects.get(order=paid_order(carol, plan, fake_razorpay))
    Commission.objects.filter(pk=commission.pk).update(hold_until=timezone.now() + timedelta(minutes=1))
    commission.refresh_from_db()
    return commission


def after_the_hold(commission, **later):
    return commission.hold_until + timedelta(seconds=1, **later)


def refund_pending(commission, staff, fake_razorpay, **amount):
    """Staff refund inside the hold; Razorpay answers `pending`, as it often does."""
    fake_razorpay.refund_status = "pending"
    refund = order_refund(commission.order.number, reason="Customer cancelled", actor=staff, **amount)
    assert refund.status == Refund.Status.PENDING
    return refund


def refund_processed(fake_razorpay, refund):
    """Razorpay processes the refund and says so by webhook."""
    entity = fake_razorpay.refund_settle(refund.razorpay_refund_id)
    assert post_webhook(Client(), *fake_razorpay.webhook("refund.processed", refund=entity)).status_code == 200


def commission_problems(order_number):
    return [
        item["problem"]
        for item in ledger_audit(alert=False).problems
        if item["order"] == order_number and item["check"] == "commission"
    ]


def test_no_approval_while_a_full_refund_is_pending_and_it_is_reversed_once_processed(commission, staff, fake_razorpay):
    refund = refund_pending(commission, staff, fake_razorpay)
    assert commissions_approve_due(after_the_hold(commission)) == []
    commission.refresh_from_db()
    assert commission.status == Commission.Status.PENDING

    refund_processed(fake_razorpay, refund)
    commission.refresh_from_db()
    assert commission.status == Commission.Status.REVERSED
    assert commission_problems(commission.order.number) == []


def test_a_partial_refund_pending_at_the_hold_reduces_the_commission_before_it_is_approved(
    commission, staff, fake_razorpay
):
    refund = refund_pending(commission, staff, fake_razorpay, amount_paise=66080)  # a quarter of 264320
    assert commissions_approve_due(after_the_hold(commission)) == []
    refund_processed(fake_razorpay, refund)
    assert commissions_approve_due(after_the_hold(commission, hours=1)) == [commission.pk]
    commission.refresh_from_db()
    assert (commission.status, commission.amount_paise) == (Commission.Status.APPROVED, 16800)


def test_a_failed_refund_lets_the_commission_be_approved_at_the_next_run(commission, staff, fake_razorpay):
    refund = refund_pending(commission, staff, fake_razorpay)
    assert commissions_approve_due(after_the_hold(commission)) == []
    entity = fake_razorpay.refund_settle(refund.razorpay_refund_id, status="failed")
    assert post_webhook(Client(), *fake_razorpay.webhook("refund.failed", refund=entity)).status_code == 200
    assert commissions_approve_due(after_the_hold(commission, hours=1)) == [commission.pk]


def approved_while_pending(commission, refund):
    """What the old approval did: approve the commission while the refund was pending."""
    Commission.objects.filter(pk=commission.pk).update(
        status=Commission.Status.APPROVED, approved_at=refund.created_at + timedelta(seconds=1)
    )


def test_a_refund_asked_before_an_approval_reverses_it_when_processed_later(commission, staff, fake_razorpay):
    refund = refund_pending(commission, staff, fake_razorpay)
    approved_while_pending(commission, refund)  # approved by the code before this fix
    refund_processed(fake_razorpay, refund)
    commission.refresh_from_db()
    assert commission.status == Commission.Status.REVERSED


def test_a_partial_refund_asked_before_an_approval_reduces_it_when_processed_later(commission, staff, fake_razorpay):
    refund = refund_pending(commission, staff, fake_razorpay, amount_paise=66080)
    approved_while_pending(commission, refund)
    refund_processed(fake_razorpay, refund)
    commission.refresh_from_db()
    assert (commission.status, commission.amount_paise) == (Commission.Status.APPROVED, 16800)


def test_audit_reports_a_commission_approved_while_the_refund_that_took_the_money_back_was_pending(
    commission, staff, fake_razorpay
):
    refund = refund_pending(commission, staff, fake_razorpay)
    refund_processed(fake_razorpay, refund)
    # Planted: the commission approved a day after the refund was asked, Razorpay
    # processing it two days later still, and the commission never reversed.
    approved_at = refund.created_at + timedelta(days=1)
    Commission.objects.filter(pk=commission.pk).update(
        status=Commission.Status.APPROVED, approved_at=approved_at, reversed_at=None
    )
    OrderEvent.objects.filter(order=commission.order, kind="status", to_status="refunded").update(
        at=approved_at + timedelta(days=2)
    )
    problems = commission_problems(commission.order.number)
    assert any("₹2,643.20" in problem and "asked before" in problem for problem in problems), problems


def test_audit_reports_a_commission_not_reduced_for_a_partial_refund_asked_before_approval(
    commission, staff, fake_razorpay
):
    refund = refund_pending(commission, staff, fake_razorpay, amount_paise=66080)
    refund_processed(fake_razorpay, refund)
    Commission.objects.filter(pk=commission.pk).update(
        status=Commission.Status.APPROVED, approved_at=refund.created_at + timedelta(seconds=1), amount_paise=22400
    )
    problems = commission_problems(commission.order.number)
    assert any("₹224.00" in problem and "₹168.00" in problem for problem in problems), problems


def test_a_refund_asked_after_approval_still_leaves_the_commission_standing(commission, staff, fake_razorpay):
    Commission.objects.filter(pk=commission.pk).update(hold_until=timezone.now() - timedelta(minutes=1))
    assert commissions_approve_due(timezone.now()) == [commission.pk]
    refund = refund_pending(commission, staff, fake_razorpay)
    refund_processed(fake_razorpay, refund)
    commission.refresh_from_db()
    assert commission.status == Commission.Status.APPROVED and commission.amount_paise == 22400
    assert commission_problems(commission.order.number) == []
