import pytest
from django.test import Client

from accounts.factories import UserFactory
from billing.models import Order, Refund

from .test_refunds import verified


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["500.50", "1e3", "-5000", "5,000"])
def test_admin_refund_with_an_unreadable_amount_refunds_nothing(api, portal_order, fake_razorpay, typed):
    verified(api, portal_order, fake_razorpay)
    boss = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(boss)
    client.post(
        "/admin/billing/order/",
        {"action": "refund_orders", "_selected_action": [portal_order.pk], "apply": "1",
         "reason": "Partial goodwill", "amount_paise": typed},
    )
    assert not Refund.objects.exists(), [(r.amount_paise, r.status) for r in Refund.objects.all()]
    assert Order.objects.get(pk=portal_order.pk).status == "paid"
