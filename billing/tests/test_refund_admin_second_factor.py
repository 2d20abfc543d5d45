"""The admin refund action moves money: like the dashboard's refund and the
termination and requeue actions, it wants a fresh code from the staff user's
authenticator app (issue 14), and each refund leaves exactly one staff-audit row.
Through the admin, a real django-otp TOTP device, and the fake Razorpay via the SDK."""

import time

import pytest
from django.test import Client
from django_otp.oath import TOTP

from accounts.factories import UserFactory
from billing.models import Order, Refund
from payments.tests.test_refunds import verified
from security.factories import verified_staff_login
from security.models import StaffAction


def code_at(device, when):
    """The device's 6-digit code at `when`, computed from its key as the staff
    member's phone does."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = when
    return f"{totp.token():06d}"


def refund_action(client, orders, **form):
    data = {"action": "refund_orders", "_selected_action": [order.pk for order in orders], **form}
    return client.post("/admin/billing/order/", data, follow=True)


def page_messages(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def boss(settings, db):
    settings.STAFF_2FA_REQUIRED = True
    user = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.device = verified_staff_login(client, user)
    client.user = user
    return client


@pytest.fixture
def paid_order(api, portal_order, fake_razorpay):
    verified(api, portal_order, fake_razorpay)
    return portal_order


def another_paid_order(api, plan, fake_razorpay):
    number = api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"]
    order = Order.objects.get(number=number)
    verified(api, order, fake_razorpay)
    return order


@pytest.mark.django_db
def test_the_refund_confirmation_asks_for_a_fresh_code_and_refunds_with_one(boss, paid_order, fake_razorpay):
    page = boss.post("/admin/billing/order/", {"action": "refund_orders", "_selected_action": [paid_order.pk]})
    assert page.status_code == 200 and 'name="otp_code"' in page.text and 'name="amount"' in page.text

    done = refund_action(
        boss, [paid_order], apply="1", reason="Wrong plan", amount="500", otp_code=code_at(boss.device, time.time())
    )
    refund = Refund.objects.get()
    assert refund.amount_paise == 50000 and refund.created_by == boss.user and len(fake_razorpay.refunds) == 1
    assert f"{paid_order.number}: refund {refund.razorpay_refund_id} of ₹500.00 is processed." in page_messages(done)


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["", "000000", "12345", "not-a-code", "stale"])
def test_a_refund_with_a_missing_wrong_or_stale_code_refunds_nothing(boss, paid_order, fake_razorpay, code):
    if code == "stale":
        code = code_at(boss.device, time.time() - 300)  # five minutes old: ten steps, outside the tolerance
    response = refund_action(boss, [paid_order], apply="1", reason="Wrong plan", everything="1", otp_code=code)
    assert "Refund not made: type a fresh code from your authenticator app (each code works once)." in page_messages(
        response
    )
    assert not fake_razorpay.refunds and not Refund.objects.exists() and not StaffAction.objects.exists()
    assert Order.objects.get(pk=paid_order.pk).status == "paid"


@pytest.mark.django_db
def test_a_replayed_code_refunds_nothing_the_second_time(boss, paid_order, fake_razorpay):
    code = code_at(boss.device, time.time())
    refund_action(boss, [paid_order], apply="1", reason="Goodwill", amount="100", otp_code=code)
    assert Refund.objects.count() == 1

    again = refund_action(boss, [paid_order], apply="1", reason="Goodwill", amount="100", otp_code=code)
    assert "Refund not made: type a fresh code from your authenticator app (each code works once)." in page_messages(
        again
    )
    assert Refund.objects.count() == 1 and len(fake_razorpay.refunds) == 1


@pytest.mark.django_db
def test_a_refused_amount_or_reason_does_not_spend_the_code(boss, paid_order, fake_razorpay):
    code = code_at(boss.device, time.time())
    refund_action(boss, [paid_order], apply="1", reason="Goodwill", amount="1e3", otp_code=code)
    refund_action(boss, [paid_order], apply="1", reason="  ", amount="100", otp_code=code)
    assert not Refund.objects.exists()

    refund_action(boss, [paid_order], apply="1", reason="Goodwill", amount="100", otp_code=code)
    assert Refund.objects.get().amount_paise == 10000


@pytest.mark.django_db
def test_each_admin_refund_leaves_exactly_one_staff_audit_row(boss, paid_order, api, plan, fake_razorpay):
    second = another_paid_order(api, plan, fake_razorpay)
    code = code_at(boss.device, time.time())
    refund_action(boss, [paid_order, second], apply="1", reason="Service outage", everything="1", otp_code=code)

    refunds = {refund.payment.order_id: refund for refund in Refund.objects.select_related("payment")}
    assert set(refunds) == {paid_order.pk, second.pk}
    rows = list(StaffAction.objects.order_by("target_id"))
    assert [(row.target_type, row.target_id) for row in rows] == sorted(
        [("billing.order", str(paid_order.pk)), ("billing.order", str(second.pk))], key=lambda pair: pair[1]
    )
    for row in rows:
        assert (row.action, row.via, row.actor, row.reason, row.ip_address) == (
            "billing.refund_order", "admin", boss.user, "Service outage", "127.0.0.1"
        )  # fmt: skip
        assert row.details["refund_id"] == refunds[int(row.target_id)].razorpay_refund_id
    assert Order.objects.filter(status="refunded").count() == 2
