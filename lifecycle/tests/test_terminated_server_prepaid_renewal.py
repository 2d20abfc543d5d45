"""Prepaid renewal money of a server that is terminated (issue 23, item 3).

A full refund of a server's `new` order terminates it; a paid renewal of it that
the customer can no longer use is money kept for nothing. Its unused whole
periods (all of it when none began) are flagged for a refund, and audit_ledger
reports money kept for a terminated server's future.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Order
from core.templatetags.money import rupees
from ops.audit import ledger_audit
from payments.refunds import order_refund
from servers.models import RenewalExtension, Server
from servers.operations import server_terminate
from servers.periods import period_end

from .conftest import active_server, verify_payment

pytestmark = pytest.mark.django_db


def renew_and_pay(api, fake_razorpay, server, months):
    """The customer renews through the API and pays through verify."""
    response = api.post(f"/api/v1/servers/{server.pk}/renew/", {"billing_cycle_months": months}, format="json")
    assert response.status_code == 200, response.content
    renewal = Order.objects.get(number=response.json()["number"])
    paid, _ = verify_payment(api, fake_razorpay, renewal)
    assert paid.status_code == 200, paid.content
    renewal.refresh_from_db()
    return renewal


@pytest.fixture
def bought(api, plan, fake_razorpay, django_capture_on_commit_callbacks):
    """A server bought for a month through the API and verify, and running."""
    answer = api.post("/api/v1/orders/", {"plan": plan.slug, "billing_cycle_months": 1}, format="json")
    order = Order.objects.get(number=answer.json()["number"])
    with django_capture_on_commit_callbacks(execute=True):
        response, _ = verify_payment(api, fake_razorpay, order)
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    return order


def audit_problems(order):
    return [item for item in ledger_audit(alert=False).problems if item["order"] == order.number]


def test_a_full_refund_of_the_new_order_flags_the_prepaid_12_month_renewal_for_a_refund_of_all_of_it(
    api, staff, bought, fake_razorpay, django_capture_on_commit_callbacks
):
    server = Server.objects.get(order=bought)
    renewal = renew_and_pay(api, fake_razorpay, server, months=12)
    assert renewal.total_paise == 3171840  # ₹31,718.40, none of its months begun

    with django_capture_on_commit_callbacks(execute=True):
        order_refund(bought.number, reason="Customer asked for their money back", actor=staff)
    server.refresh_from_db()
    assert server.status == Server.Status.TERMINATED

    renewal.refresh_from_db()
    assert renewal.status == Order.Status.PAID
    assert renewal.needs_attention
    assert "₹31,718.40" in renewal.attention_reason and "12 unused of its 12 months" in renewal.attention_reason
    # Until staff refund it, the audit says money is kept for the terminated server's future.
    assert any(item["check"] == "kept-after-termination" for item in audit_problems(renewal))

    with django_capture_on_commit_callbacks(execute=True):
        order_refund(renewal.number, reason="Server terminated: prepaid renewal back", actor=staff)
    assert audit_problems(renewal) == []


def test_staff_termination_flags_only_the_whole_months_not_begun(
    api, alice, plan, staff, fake_razorpay, django_capture_on_commit_callbacks
):
    server = active_server(alice, plan, paid_until=timezone.now() + timedelta(days=3))
    renewal = renew_and_pay(api, fake_razorpay, server, months=3)
    # Time moved by data: the renewal's period began 42 days ago, so one of its three months is still to come.
    began = timezone.now() - timedelta(days=42)
    RenewalExtension.objects.filter(order=renewal).update(old_paid_until=began, new_paid_until=period_end(began, 3))
    Server.objects.filter(pk=server.pk).update(paid_until=period_end(began, 3))

    with django_capture_on_commit_callbacks(execute=True):
        server_terminate(server.pk, source="admin", actor=staff, note="Abuse report")

    renewal.refresh_from_db()
    assert renewal.needs_attention
    one_third = (2 * renewal.total_paise + 3) // 6  # total / 3, half-up
    assert rupees(one_third) in renewal.attention_reason and "1 unused of its" in renewal.attention_reason


def test_a_renewal_wholly_used_is_not_flagged(
    api, alice, plan, staff, fake_razorpay, django_capture_on_commit_callbacks
):
    server = active_server(alice, plan, paid_until=timezone.now() + timedelta(days=3))
    renewal = renew_and_pay(api, fake_razorpay, server, months=1)
    began = timezone.now() - timedelta(days=20)
    RenewalExtension.objects.filter(order=renewal).update(old_paid_until=began, new_paid_until=period_end(began, 1))
    with django_capture_on_commit_callbacks(execute=True):
        server_terminate(server.pk, source="admin", actor=staff, note="Abuse report")
    renewal.refresh_from_db()
    assert not renewal.needs_attention


def test_audit_reports_money_kept_for_a_terminated_servers_future_when_planted(api, alice, plan, fake_razorpay):
    server = active_server(alice, plan, paid_until=timezone.now() + timedelta(days=3))
    renewal = renew_and_pay(api, fake_razorpay, server, months=12)
    # Planted: the server destroyed today with the paid year still ahead, nothing flagged or refunded.
    Server.objects.filter(pk=server.pk).update(status=Server.Status.TERMINATED, status_changed_at=timezone.now())
    problems = audit_problems(renewal)
    assert [item["check"] for item in problems] == ["kept-after-termination"], problems
    assert "₹31,718.40" in problems[0]["problem"]
