"""Commissions follow processed refunds, through billing's real refund services and the SDK."""

import pytest
from django.test import Client

from affiliates.models import Commission, CommissionEvent
from affiliates.services import commissions_approve_due
from payments.refunds import order_refund
from payments.tests.conftest import post_webhook

from .conftest import paid_order


@pytest.fixture
def commission(alice, carol, plan, fake_razorpay):
    """Carol's order of G.8GB for a month (subtotal 224000, total 264320) earned alice 22400."""
    return Commission.objects.get(order=paid_order(carol, plan, fake_razorpay))


@pytest.mark.django_db
def test_a_full_refund_before_approval_reverses_the_commission(commission, staff):
    order_refund(commission.order.number, reason="Customer cancelled", actor=staff)
    commission.refresh_from_db()
    assert commission.status == "reversed"
    assert commission.order.__class__.objects.get(pk=commission.order_id).status == "refunded"
    assert commissions_approve_due(commission.hold_until) == []


@pytest.mark.django_db
def test_a_partial_refund_before_approval_reduces_it_in_proportion(commission, staff):
    order_refund(commission.order.number, reason="A quarter back", actor=staff, amount_paise=66080)
    commission.refresh_from_db()
    assert (commission.status, commission.amount_paise) == ("pending", 16800)
    event = CommissionEvent.objects.get(commission=commission)
    assert event.kind == "reduced" and event.actor == staff and event.data["refunded_paise"] == 66080

    order_refund(commission.order.number, reason="The rest", actor=staff)
    commission.refresh_from_db()
    assert commission.status == "reversed"


@pytest.mark.django_db
def test_a_pending_refund_changes_nothing_until_razorpay_processes_it(commission, staff, fake_razorpay):
    fake_razorpay.refund_status = "pending"
    refund = order_refund(commission.order.number, reason="Customer cancelled", actor=staff)
    commission.refresh_from_db()
    assert commission.status == "pending" and commission.amount_paise == 22400

    entity = fake_razorpay.refund_settle(refund.razorpay_refund_id)
    assert post_webhook(Client(), *fake_razorpay.webhook("refund.processed", refund=entity)).status_code == 200
    commission.refresh_from_db()
    assert commission.status == "reversed"


@pytest.mark.django_db
def test_a_refund_after_approval_leaves_the_commission_standing(commission, staff):
    commissions_approve_due(commission.hold_until)
    order_refund(commission.order.number, reason="Late refund", actor=staff)
    commission.refresh_from_db()
    assert commission.status == "approved" and commission.amount_paise == 22400
