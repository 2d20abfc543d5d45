"""A full refund takes the service back (issue 13: "a full refund leaves the
server running"): a `new` order's server is terminated through the lifecycle's
backend operation, a renewal's months come off paid_until; a partial refund
leaves both as they are."""

from datetime import timedelta

import pytest
from django.utils import timezone

from lifecycle.renewals import renewal_issue
from lifecycle.tests.conftest import active_server, verify_payment
from ops.audit import ledger_audit
from payments.refunds import order_refund
from servers.models import Server
from servers.periods import period_end

from .test_refunds import verified


@pytest.fixture(autouse=True)
def _instant_simulated_backend(settings):
    settings.SIMULATED_PROVISIONING_DELAY_SECONDS = 0


@pytest.mark.django_db
def test_a_full_refund_terminates_the_server_of_a_new_order(
    api, portal_order, fake_razorpay, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        verified(api, portal_order, fake_razorpay)
    server = Server.objects.get(order=portal_order)
    server.refresh_from_db()
    assert server.status == "active"

    with django_capture_on_commit_callbacks(execute=True):
        order_refund(portal_order.number, reason="Customer cancelled", actor=staff)

    server.refresh_from_db()
    assert server.status == "terminated"  # the worker (eager here) destroyed the machine
    assert ledger_audit(alert=False).problems == []


@pytest.mark.django_db
def test_a_partial_refund_leaves_the_server_running(
    api, portal_order, fake_razorpay, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        verified(api, portal_order, fake_razorpay)
        order_refund(portal_order.number, reason="Goodwill", actor=staff, amount_paise=10000)
    server = Server.objects.get(order=portal_order)
    assert server.status == "active" and not server.operations.exists()


@pytest.mark.django_db
def test_a_full_refund_of_a_renewal_takes_its_months_back(alice, api, plan, fake_razorpay, staff):
    due = timezone.now() + timedelta(days=5)
    server = active_server(alice, plan, paid_until=due)
    renewal = renewal_issue(server.pk, source="test")
    response, _ = verify_payment(api, fake_razorpay, renewal)
    assert response.status_code == 200
    server.refresh_from_db()
    assert server.paid_until == period_end(due, 1)

    order_refund(renewal.number, reason="Renewed by mistake", actor=staff)

    server.refresh_from_db()
    renewal.refresh_from_db()
    assert renewal.status == "refunded"
    assert server.paid_until == due and server.status == "active"
    assert server.events.filter(kind="renewal_refunded").exists()
