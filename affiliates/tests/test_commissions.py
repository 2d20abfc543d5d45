"""Commissions written by the payment funnel: amounts, uniqueness, cost on the payment path."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from affiliates.models import Commission
from billing import pricing
from billing.factories import HostingPlanFactory

from .conftest import api_client, paid_order


def test_commission_is_the_percent_of_the_subtotal_rounded_half_up():
    assert pricing.commission_paise(112345, Decimal("10")) == 11235  # 11234.5 rounds up
    assert pricing.commission_paise(112344, Decimal("10")) == 11234  # 11234.4 rounds down
    assert pricing.commission_paise(224000, Decimal("7.5")) == 16800
    assert pricing.commission_paise(99, Decimal("12.25")) == 12  # 12.1275
    assert pricing.commission_paise(0, Decimal("10")) == 0
    with pytest.raises(pricing.PricingError):
        pricing.commission_paise(100, Decimal("1.005"))


def test_a_partial_refund_scales_from_the_original_amount():
    assert pricing.reduced_in_proportion(11235, 66284, 132568) == 5618  # half refunded: 5617.5 rounds up
    assert pricing.reduced_in_proportion(11235, 119310, 132567) == 10111  # 10111.47
    assert pricing.reduced_in_proportion(11235, 0, 132567) == 0
    assert pricing.reduced_in_proportion(11235, 132567, 132567) == 11235


@pytest.mark.django_db
def test_a_referred_customers_paid_order_earns_the_referrer_its_percent(alice, carol, fake_razorpay, settings):
    settings.AFFILIATE_COMMISSION_PERCENT = Decimal("10")
    settings.AFFILIATE_HOLD_DAYS = 30
    odd = HostingPlanFactory(slug="odd", price_paise=112345)  # an odd subtotal: 10 % is 11234.5 paise
    order = paid_order(carol, odd, fake_razorpay)

    commission = Commission.objects.get(order=order)
    assert commission.affiliate == alice
    assert commission.status == "pending"
    assert commission.subtotal_paise == 112345 and commission.percent == Decimal("10")
    assert commission.amount_paise == commission.original_amount_paise == 11235
    assert commission.hold_until == order.paid_at + timedelta(days=30)


@pytest.mark.django_db
def test_every_paid_order_of_a_referred_customer_earns_not_only_the_first(alice, carol, plan, fake_razorpay):
    first = paid_order(carol, plan, fake_razorpay)
    second = paid_order(carol, plan, fake_razorpay, months=3)
    amounts = dict(Commission.objects.values_list("order_id", "amount_paise"))
    assert amounts == {
        first.pk: pricing.commission_paise(first.subtotal_paise, Decimal("10")),
        second.pk: pricing.commission_paise(second.subtotal_paise, Decimal("10")),
    }


@pytest.mark.django_db
def test_the_terms_are_fixed_when_the_order_is_paid(alice, carol, plan, fake_razorpay, settings):
    settings.AFFILIATE_COMMISSION_PERCENT = Decimal("12.5")
    order = paid_order(carol, plan, fake_razorpay)
    settings.AFFILIATE_COMMISSION_PERCENT = Decimal("5")
    commission = Commission.objects.get(order=order)
    assert commission.percent == Decimal("12.5") and commission.amount_paise == 28000


@pytest.mark.django_db
def test_a_customer_nobody_referred_earns_nobody_anything(alice, bob, plan, fake_razorpay):
    paid_order(bob, plan, fake_razorpay)
    assert not Commission.objects.exists()


@pytest.mark.django_db
def test_the_same_payment_delivered_again_by_webhook_gives_one_commission(alice, carol, plan, fake_razorpay, client):
    from billing.models import Order
    from payments.tests.conftest import post_webhook

    api = api_client(carol)
    order = Order.objects.get(number=api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"])
    payment = fake_razorpay.pay(order.razorpay_order_id)
    assert (
        api.post("/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), format="json").status_code == 200
    )
    assert post_webhook(client, *fake_razorpay.webhook("payment.captured", payment)).status_code == 200
    assert post_webhook(client, *fake_razorpay.webhook("order.paid", payment)).status_code == 200
    assert Commission.objects.filter(order=order).count() == 1


def payment_apply_statements(user, plan, fake_razorpay):
    """The SQL payment_apply sends to pay one new order of `user`."""
    from payments.gateways import get_gateway
    from payments.services import order_create, payment_apply

    order = order_create(user=user, plan=plan, billing_cycle_months=1)
    gateway_payment = get_gateway().payment_fetch(fake_razorpay.pay(order.razorpay_order_id)["id"])
    with CaptureQueriesContext(connection) as queries:
        outcome = payment_apply(
            razorpay_order_id=order.razorpay_order_id, gateway_payment=gateway_payment, source="test"
        )
    assert outcome.result == "paid"
    return [query["sql"] for query in queries.captured_queries]


@pytest.mark.django_db
def test_the_payment_path_sends_no_statement_for_a_customer_nobody_referred(alice, bob, plan, fake_razorpay):
    statements = payment_apply_statements(bob, plan, fake_razorpay)
    assert not [sql for sql in statements if "affiliates_" in sql]


@pytest.mark.django_db
def test_the_payment_path_writes_a_commission_with_one_insert_and_no_read(alice, bob, carol, plan, fake_razorpay):
    payment_apply_statements(bob, plan, fake_razorpay)  # the year's first invoice creates its counter
    stranger = payment_apply_statements(bob, plan, fake_razorpay)
    referred = payment_apply_statements(carol, plan, fake_razorpay)
    touching = [sql for sql in referred if "affiliates_" in sql]
    assert len(touching) == 1 and touching[0].startswith('INSERT INTO "affiliates_commission"')
    assert "ON CONFLICT" in touching[0]
    # ...and nothing else: the statements of a customer nobody referred, plus that one.
    assert len(referred) == len(stranger) + 1


@pytest.mark.django_db
def test_the_ledger_check_finds_a_missing_a_wrong_and_an_unreversed_commission(alice, carol, plan, fake_razorpay):
    from affiliates.selectors import commission_ledger_problems

    orders = [paid_order(carol, plan, fake_razorpay) for _ in range(3)]
    assert commission_ledger_problems() == []

    Commission.objects.filter(order=orders[0]).delete()
    Commission.objects.filter(order=orders[1]).update(original_amount_paise=22401, amount_paise=22401)
    orders[2].status = "refunded"
    orders[2].save(update_fields=["status"])

    problems = {problem["order"]: problem["problem"] for problem in commission_ledger_problems()}
    assert problems == {
        orders[0].number: "paid order of a referred customer has no commission",
        orders[1].number: "commission is ₹224.01 on a subtotal of ₹2,240.00; 10.00 % of ₹2,240.00 is ₹224.00",
        orders[2].number: "order refunded but its commission is pending",
    }


@pytest.mark.django_db
def test_a_paid_renewal_earns_the_referrer_its_commission_too(alice, carol, fake_razorpay, settings):
    from billing.models import Order
    from lifecycle.tests.conftest import active_server, verify_payment

    settings.SIMULATED_PROVISIONING_DELAY_SECONDS = 0
    odd = HostingPlanFactory(slug="odd", price_paise=112345)
    server = active_server(carol, odd, order__referrer=alice)  # carol bought it a month ago through alice's link
    api = api_client(carol)
    renewal = api.post(f"/api/v1/servers/{server.pk}/renew/", {}, format="json")
    assert renewal.status_code == 200, renewal.content
    order = Order.objects.get(number=renewal.json()["number"])
    assert order.kind == "renewal" and order.referrer == alice

    response, _ = verify_payment(api, fake_razorpay, order)
    assert response.status_code == 200, response.content
    commission = Commission.objects.get(order=order)
    assert commission.affiliate == alice and commission.amount_paise == 11235  # 10 % of 112345, half-up


@pytest.mark.django_db
def test_audit_ledger_reports_a_paid_order_of_a_referred_customer_without_its_commission(
    alice, carol, plan, fake_razorpay
):
    import io
    import json

    from django.core.management import CommandError, call_command

    order = paid_order(carol, plan, fake_razorpay)
    Commission.objects.filter(order=order).delete()
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("audit_ledger", "--json", stdout=out)
    problems = json.loads(out.getvalue())["problems"]
    assert {"order": order.number, "problem": "paid order of a referred customer has no commission"} in problems
