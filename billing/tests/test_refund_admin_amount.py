"""The admin refund's amount is typed in rupees and read exactly (R1): what the
form cannot read refunds nothing, never the whole payment; blank means all that
is left."""

import pytest
from django.test import Client

from accounts.factories import UserFactory
from billing.models import Order, Refund
from payments.tests.test_refunds import verified


def boss_client():
    boss = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(boss)
    return client


def refund_action(client, orders, **form):
    data = {"action": "refund_orders", "_selected_action": [order.pk for order in orders], "apply": "1", **form}
    return client.post("/admin/billing/order/", data, follow=True)


def page_messages(response):
    return [str(message) for message in response.context["messages"]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "typed", ["1e3", "-5000", "5,000", "500.505", "0", "0.00", "₹500", "500.", ".5", "5 00", "५००", "Infinity", "NaN"]
)
def test_admin_refund_with_an_unreadable_amount_refunds_nothing(api, portal_order, fake_razorpay, typed):
    verified(api, portal_order, fake_razorpay)
    response = refund_action(boss_client(), [portal_order], reason="Partial goodwill", amount=typed)
    assert not Refund.objects.exists(), [(r.amount_paise, r.status) for r in Refund.objects.all()]
    assert not fake_razorpay.refunds
    assert Order.objects.get(pk=portal_order.pk).status == "paid"
    [message] = page_messages(response)
    assert message.startswith("Refund not made:") and repr(typed) in message


@pytest.mark.django_db
@pytest.mark.parametrize("typed,paise", [("500.50", 50050), ("500.5", 50050), ("500", 50000), ("0.01", 1)])
def test_admin_refund_reads_rupees_exactly(api, portal_order, fake_razorpay, typed, paise):
    verified(api, portal_order, fake_razorpay)
    response = refund_action(boss_client(), [portal_order], reason="Partial goodwill", amount=typed)
    refund = Refund.objects.get()
    assert refund.amount_paise == paise
    [sent] = fake_razorpay.refunds.values()
    assert sent["amount"] == paise
    assert Order.objects.get(pk=portal_order.pk).status == "paid"
    assert any(message.endswith("is processed.") and "₹" in message for message in page_messages(response))


@pytest.mark.django_db
def test_everything_that_is_left_is_ticked_explicitly_never_the_default_of_a_blank_amount(
    api, portal_order, fake_razorpay
):
    # Issue 28: a blank amount used to mean "refund everything"; now it refunds nothing and asks.
    verified(api, portal_order, fake_razorpay)
    refund_action(boss_client(), [portal_order], reason="Goodwill", amount="1000")
    blank = refund_action(boss_client(), [portal_order], reason="Cancelled", amount="")
    assert page_messages(blank) == ["Refund not made: Type an amount, or tick “everything that is left”."]
    assert sorted(Refund.objects.values_list("amount_paise", flat=True)) == [100000]
    refund_action(boss_client(), [portal_order], reason="Cancelled", amount="", everything="1")
    assert sorted(Refund.objects.values_list("amount_paise", flat=True)) == [100000, 164320]
    assert Order.objects.get(pk=portal_order.pk).status == "refunded"


@pytest.mark.django_db
def test_a_form_still_sending_paise_refunds_nothing(api, portal_order, fake_razorpay):
    # A page opened before amounts were in rupees: its amount must not be ignored into a full refund.
    verified(api, portal_order, fake_razorpay)
    response = refund_action(boss_client(), [portal_order], reason="Goodwill", amount_paise="5000")
    assert not Refund.objects.exists() and not fake_razorpay.refunds
    assert "the amount is now typed in rupees" in page_messages(response)[0]


@pytest.mark.django_db
def test_an_amount_for_several_orders_refunds_nothing(api, portal_order, plan, fake_razorpay):
    verified(api, portal_order, fake_razorpay)
    number = api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"]
    second = Order.objects.get(number=number)
    verified(api, second, fake_razorpay)
    response = refund_action(boss_client(), [portal_order, second], reason="Goodwill", amount="100")
    assert not Refund.objects.exists()
    assert page_messages(response) == [
        "Refund not made: An amount is for one order at a time; for several orders tick “everything that is left”."
    ]


@pytest.mark.django_db
def test_the_confirmation_page_takes_rupees_and_shows_every_figure_in_rupees(api, portal_order, fake_razorpay):
    verified(api, portal_order, fake_razorpay)
    client = boss_client()
    refund_action(client, [portal_order], reason="Goodwill", amount="2643.20")  # all of it
    page = client.post("/admin/billing/order/", {"action": "refund_orders", "_selected_action": [portal_order.pk]})
    assert "Amount in rupees" in page.text and 'name="amount"' in page.text and "paise" not in page.text
    assert f"Order {portal_order.number} has nothing left to refund." in page.text
