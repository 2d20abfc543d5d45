"""run_billing racing the renewal's own payment, on PostgreSQL with real row locks and threads."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Order
from conftest import in_threads
from lifecycle.billing_day import billing_run
from lifecycle.renewals import renewal_issue
from payments.services import order_gateway_ensure
from payments.tests.conftest import post_webhook
from servers.models import RenewalExtension, Server, ServerOperation
from servers.periods import period_end

from .conftest import active_server

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def paid_at_razorpay(server, fake_razorpay):
    renewal = order_gateway_ensure(renewal_issue(server.pk, source="test"))
    return renewal, fake_razorpay.pay(renewal.razorpay_order_id)


def race(alice, fake_razorpay, payment, *, billing_runs, now):
    def verify():
        client = APIClient()
        client.force_authenticate(alice)
        return client.post(
            "/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), format="json"
        ).status_code

    def webhook():
        return post_webhook(Client(), *fake_razorpay.webhook("payment.captured", payment)).status_code

    def billing():
        return billing_run(now=now).as_json()

    results, errors = in_threads([billing] * billing_runs + [verify, webhook])
    assert not errors, errors
    return results


def test_ten_billing_runs_against_verify_and_webhook_give_one_extension_one_invoice_and_an_active_server(
    alice, plan, fake_razorpay
):
    now = timezone.now()
    due = now - timedelta(days=settings.SUSPEND_AFTER_DAYS + 1)  # past its suspension day
    server = active_server(alice, plan, paid_until=due)
    renewal, payment = paid_at_razorpay(server, fake_razorpay)

    results = race(alice, fake_razorpay, payment, billing_runs=10, now=now)

    assert results.count(200) == 2
    reports = [r for r in results if isinstance(r, dict)]
    assert all(not report["errors"] for report in reports)
    assert sum(len(report["suspended"]) for report in reports) <= 1  # decided once, if the payment lost the race
    renewal.refresh_from_db()
    server.refresh_from_db()
    assert renewal.status == "paid" and renewal.invoice_number
    assert Order.objects.filter(invoice_number=renewal.invoice_number).count() == 1
    assert RenewalExtension.objects.filter(server=server).count() == 1
    assert server.paid_until == period_end(due, 1)
    # Either the payment came first (never suspended) or it lifted the overdue suspension:
    # the machine runs, and nothing is left to do.
    assert (server.status, server.suspension_reason, server.power_state) == ("active", "", "running")
    assert not ServerOperation.objects.filter(server=server, status__in=ServerOperation.OPEN).exists()
    assert not Order.objects.filter(renews_server=server, status="created").exists()  # paid, none reissued


def test_billing_runs_at_the_termination_day_against_the_payment_end_one_way_or_the_other(alice, plan, fake_razorpay):
    now = timezone.now()
    due = now - timedelta(days=settings.TERMINATE_AFTER_DAYS)
    server = active_server(alice, plan, paid_until=due)
    renewal, payment = paid_at_razorpay(server, fake_razorpay)

    results = race(alice, fake_razorpay, payment, billing_runs=8, now=now)

    reports = [r for r in results if isinstance(r, dict)]
    terminated = sum(len(report["terminated"]) for report in reports)
    renewal.refresh_from_db()
    server.refresh_from_db()
    assert renewal.status == "paid" and Order.objects.filter(renews_server=server, kind="renewal").count() == 1
    if terminated:  # termination won: the money is flagged for a refund, nothing revived
        assert terminated == 1
        assert server.status == "terminated" and renewal.needs_attention
        assert not RenewalExtension.objects.filter(server=server).exists()
    else:  # the payment won: extended once, never terminated
        assert server.status in (Server.Status.ACTIVE,) and not renewal.needs_attention
        assert RenewalExtension.objects.filter(server=server).count() == 1
        assert server.paid_until == period_end(due, 1)
