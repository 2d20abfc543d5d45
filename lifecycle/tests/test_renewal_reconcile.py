"""Reconcile and a renewal being paid (issue 23, item 1).

`run_billing` issues a renewal RENEWAL_NOTICE_DAYS ahead without a Razorpay
order; the customer may pay it days later. Razorpay's capture window runs from
when its order was made (or the last payment attempt), not from when we issued
the renewal, and an unpaid renewal is `run_billing`'s to cancel (at
termination), never the reconciler's.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Order
from lifecycle.renewals import renewal_issue
from payments.gateways import GatewayError
from payments.reconcile import payments_reconcile
from payments.services import order_create
from servers.models import Server

from .conftest import active_server

pytestmark = pytest.mark.django_db


def issued_days_ago(order, days):
    """The renewal was issued `days` ago (run_billing issues it a week ahead)."""
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=days))
    order.refresh_from_db()
    return order


@pytest.fixture
def renewal(alice, plan):
    """A renewal issued by run_billing six days ago, one day before the server's due date, still without a Razorpay order."""
    server = active_server(alice, plan, paid_until=timezone.now() + timedelta(days=1))
    return issued_days_ago(renewal_issue(server.pk, source="run_billing"), days=6)


def open_checkout(api, order):
    """The customer presses Pay: the renew API makes the Razorpay order now."""
    response = api.post(f"/api/v1/servers/{order.renews_server_id}/renew/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["number"] == order.number
    order.refresh_from_db()
    assert order.razorpay_order_id
    return order


def test_a_renewal_being_paid_is_not_cancelled_by_the_first_periodic_look(api, renewal, fake_razorpay):
    order = open_checkout(api, renewal)
    # The periodic reconcile runs minutes after Checkout opened, before the customer has finished.
    report = payments_reconcile(since_hours=120, budget=True)
    assert report.cancelled == []
    order.refresh_from_db()
    assert order.status == Order.Status.CREATED

    # The customer completes Checkout: the authorized payment is captured by verify and extends the server.
    payment = fake_razorpay.pay(order.razorpay_order_id, status="authorized")
    response = api.post("/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["order_status"] == "paid"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert fake_razorpay.payments[payment["id"]]["status"] == "captured"


def test_an_unpaid_renewal_is_never_cancelled_by_reconcile_even_past_the_window(api, renewal, fake_razorpay):
    order = open_checkout(api, renewal)
    fake_razorpay.pay(order.razorpay_order_id, status="failed")
    later = timezone.now() + timedelta(days=6)  # past any capture window: the server is overdue by now
    report = payments_reconcile(since_hours=120, now=later)
    assert report.cancelled == []
    order.refresh_from_db()
    assert order.status == Order.Status.CREATED  # run_billing cancels it when it terminates the server


def test_a_renewal_whose_debit_is_pending_is_never_cancelled_by_reconcile(api, renewal, fake_razorpay):
    """The autopay case: the Razorpay order made days after the renewal was issued,
    the debit authorized (or still pending at the bank); reconcile leaves it alone."""
    order = open_checkout(api, issued_days_ago(renewal, days=8))
    pending = fake_razorpay.pay(order.razorpay_order_id, status="created")  # a debit the bank has not settled
    authorized = fake_razorpay.pay(order.razorpay_order_id, status="authorized")
    fake_razorpay.payments[authorized["id"]]["created_at"] -= 6 * 24 * 3600  # too old to capture now
    for hours in (1, 24, 72, 130):
        report = payments_reconcile(since_hours=120, now=timezone.now() + timedelta(hours=hours), budget=True)
        assert report.cancelled == []
        assert ("POST", f"/v1/payments/{pending['id']}/capture") not in fake_razorpay.requests
    order.refresh_from_db()
    assert order.status == Order.Status.CREATED
    assert Server.objects.get(pk=order.renews_server_id).status == Server.Status.ACTIVE


def test_a_new_order_is_judged_from_when_its_razorpay_order_was_made(client, alice, plan, fake_razorpay):
    """A new order whose Razorpay order could not be made at checkout and was made
    by the Pay button days later is not cancelled as if its window had run out."""
    fake_razorpay.fail_next = 10  # Razorpay down at checkout: the order is kept without a Razorpay order
    with pytest.raises(GatewayError):
        order_create(user=alice, plan=plan, billing_cycle_months=1)
    fake_razorpay.fail_next = 0
    order = Order.objects.get(user=alice)
    assert not order.razorpay_order_id
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=6))
    client.force_login(alice)
    assert client.post(f"/orders/{order.number}/pay/").status_code == 302
    order.refresh_from_db()
    assert order.razorpay_order_id
    report = payments_reconcile(since_hours=120)
    assert report.cancelled == []
    order.refresh_from_db()
    assert order.status == Order.Status.CREATED


def test_verify_after_a_cancellation_says_the_order_was_cancelled(api, renewal, fake_razorpay):
    """A renewal cancelled (the server terminated for non-payment) and then paid:
    verify does not claim another payment paid it."""
    from servers.operations import renewal_orders_cancel

    order = open_checkout(api, renewal)
    renewal_orders_cancel([order], source="run_billing", reason="Server terminated for non-payment")
    payment = fake_razorpay.pay(order.razorpay_order_id, status="authorized")
    response = api.post("/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), format="json")
    assert response.status_code == 202, response.content
    detail = response.json()["detail"]
    assert "another payment" not in detail
    assert "cancelled" in detail
    assert fake_razorpay.payments[payment["id"]]["status"] == "authorized"  # not taken
