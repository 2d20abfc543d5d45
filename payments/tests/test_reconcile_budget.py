"""Reconcile with a budget: per-order backoff over the capture window, nothing
asked about settled or flagged orders (issue 13: ~480 calls per abandoned order)."""

from datetime import timedelta

import pytest

from billing.models import Order
from payments.reconcile import payments_reconcile


def calls_about(fake, order):
    return [request for request in fake.requests if order.razorpay_order_id in request[1]]


def every_15_minutes_for(order, days, hours=1):
    steps = int((timedelta(days=days, hours=hours)).total_seconds() // 900)
    return [order.created_at + timedelta(minutes=15 * step) for step in range(steps + 1)]


@pytest.mark.django_db
def test_an_abandoned_order_costs_at_most_30_calls_over_its_capture_window(portal_order, fake_razorpay):
    fake_razorpay.requests.clear()
    for now in every_15_minutes_for(portal_order, days=5):
        payments_reconcile(since_hours=120, now=now, budget=True)
    calls = calls_about(fake_razorpay, portal_order)
    assert len(calls) <= 30, len(calls)
    assert len(calls) >= 10  # still asked about early and through the window
    portal_order.refresh_from_db()
    assert portal_order.status == "cancelled"  # the last look past the window cancelled it


@pytest.mark.django_db
def test_a_flagged_order_is_not_asked_about_again(portal_order, fake_razorpay):
    fake_razorpay.pay(portal_order.razorpay_order_id, amount=portal_order.total_paise - 1)  # a mismatch
    first = portal_order.created_at + timedelta(minutes=20)
    payments_reconcile(since_hours=120, now=first, budget=True)
    portal_order.refresh_from_db()
    assert portal_order.needs_attention and portal_order.status == "created"
    fake_razorpay.requests.clear()
    for now in every_15_minutes_for(portal_order, days=2):
        payments_reconcile(since_hours=120, now=now, budget=True)
    assert calls_about(fake_razorpay, portal_order) == []


@pytest.mark.django_db
def test_a_payment_lost_by_verify_and_webhook_is_found_at_the_first_look(portal_order, fake_razorpay):
    fake_razorpay.pay(portal_order.razorpay_order_id)
    assert payments_reconcile(now=portal_order.created_at + timedelta(minutes=5), budget=True).checked == 0
    report = payments_reconcile(now=portal_order.created_at + timedelta(minutes=15), budget=True)
    assert report.applied and report.applied[0]["result"] == "paid"
    assert Order.objects.get(pk=portal_order.pk).status == "paid"


@pytest.mark.django_db
def test_a_late_run_skips_the_looks_it_missed_instead_of_catching_up(portal_order, fake_razorpay):
    fake_razorpay.requests.clear()
    payments_reconcile(since_hours=120, now=portal_order.created_at + timedelta(hours=30), budget=True)
    payments_reconcile(since_hours=120, now=portal_order.created_at + timedelta(hours=30, minutes=15), budget=True)
    assert len(calls_about(fake_razorpay, portal_order)) == 1
    portal_order.refresh_from_db()
    assert portal_order.reconcile_next_at == portal_order.created_at + timedelta(hours=48)
