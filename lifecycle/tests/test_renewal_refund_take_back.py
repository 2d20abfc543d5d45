import pytest

from lifecycle.renewals import renewal_issue
from payments.refunds import order_refund

from .conftest import active_server, verify_payment
from .test_funnel import at

pytestmark = pytest.mark.django_db


def test_a_fully_refunded_renewal_gives_back_exactly_the_due_date_it_extended(api, alice, plan, fake_razorpay):
    server = active_server(alice, plan, paid_until=at(2027, 1, 31, 12))
    renewal = renewal_issue(server.pk, source="test")
    verify_payment(api, fake_razorpay, renewal)
    server.refresh_from_db()
    assert server.paid_until == at(2027, 2, 28, 12)

    order_refund(renewal.number, reason="Renewed by mistake", source="admin")

    server.refresh_from_db()
    assert server.paid_until == at(2027, 1, 31, 12), server.paid_until
