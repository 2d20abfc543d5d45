"""An upgrade's payment racing run_billing's renewal, on PostgreSQL with real row locks and threads."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from billing.factories import HostingPlanFactory
from billing.models import Order
from conftest import in_threads
from lifecycle.billing_day import billing_run
from lifecycle.plan_changes import plan_change_request
from payments.services import order_gateway_ensure
from payments.tests.conftest import post_webhook
from servers.models import PlanChange, ServerOperation

from .conftest import active_server

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_ten_threads_paying_an_upgrade_while_run_billing_issues_the_renewal_give_one_plan_change_and_one_renewal_at_the_new_price(
    alice, plan, fake_razorpay
):
    g4 = HostingPlanFactory(slug="g-4gb", name="G.4GB", price_paise=112000, vcpu=2, ram_gb=4, disk_gb=80)
    now = timezone.now()
    server = active_server(alice, g4, paid_until=now + timedelta(days=5))  # its renewal is due now
    upgrade = order_gateway_ensure(plan_change_request(server.pk, plan, source="test"))
    payment = fake_razorpay.pay(upgrade.razorpay_order_id)

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

    results, errors = in_threads([verify, webhook] * 5 + [billing])
    assert not errors, errors
    assert results.count(200) == 10
    [report] = [r for r in results if isinstance(r, dict)]
    assert not report["errors"]
    billing_run(now=now)  # a server the first pass skipped (locked by the payment) is done now

    server.refresh_from_db()
    upgrade.refresh_from_db()
    assert (upgrade.status, upgrade.needs_attention, server.plan_id) == ("paid", False, plan.pk)
    assert PlanChange.objects.filter(server=server).count() == 1
    assert ServerOperation.objects.filter(server=server, action="resize").count() == 1
    [renewal] = Order.objects.filter(renews_server=server, status="created")
    assert (renewal.plan_id, renewal.subtotal_paise) == (plan.pk, 224000)
    # A renewal issued at the old price before the payment won was replaced, never left payable.
    assert all(o.status == "cancelled" for o in Order.objects.filter(renews_server=server, plan=g4))
