"""Due dates through the payment funnel: set by a new order, extended by a renewal, exactly once."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from billing.models import Order
from lifecycle.renewals import renewal_issue, renewal_order_build
from ops.selectors import orphaned_orders
from payments.services import order_gateway_ensure
from payments.tests.conftest import post_webhook
from servers.models import RenewalExtension, Server
from servers.periods import period_end

from .conftest import active_server, verify_payment

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")


def at(*args):
    return datetime(*args, tzinfo=IST)


@pytest.mark.parametrize(
    "start,months,end",
    [
        (at(2027, 1, 31, 10), 1, at(2027, 2, 28, 10)),
        (at(2028, 1, 31, 10), 1, at(2028, 2, 29, 10)),  # a leap year
        (at(2027, 8, 31, 23, 30), 3, at(2027, 11, 30, 23, 30)),
        (at(2027, 3, 15, 9), 12, at(2028, 3, 15, 9)),
    ],
)
def test_a_period_ends_the_same_day_months_later_clamped_to_the_months_end(start, months, end):
    assert period_end(start, months) == end


def test_months_are_counted_in_the_portals_calendar_not_utc():
    # 31 January 03:00 in India is still 30 January in UTC: one month later is 28 February here.
    assert period_end(at(2027, 1, 31, 3), 1) == at(2027, 2, 28, 3)


@pytest.mark.parametrize("months", [1, 3])
def test_paying_a_new_order_sets_paid_until_to_paid_at_plus_its_months(api, plan, fake_razorpay, months):
    number = api.post("/api/v1/orders/", {"plan": plan.slug, "billing_cycle_months": months}, format="json").json()[
        "number"
    ]
    order = Order.objects.get(number=number)
    response, _ = verify_payment(api, fake_razorpay, order)
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    server = Server.objects.get(order=order)
    assert server.paid_until == period_end(order.paid_at, months)
    assert server.billing_cycle_months == months
    assert order.kind == "new"


def test_a_paid_renewal_extends_from_the_old_due_date_even_when_paid_late(api, alice, plan, fake_razorpay):
    old_due = timezone.now() - timedelta(days=2)  # two days overdue
    server = active_server(alice, plan, paid_until=old_due)
    renewal = renewal_issue(server.pk, source="test")

    response, _ = verify_payment(api, fake_razorpay, renewal)

    assert response.status_code == 200, response.content
    assert response.json()["server"]["id"] == server.pk
    server.refresh_from_db()
    assert server.paid_until == period_end(old_due, 1)  # not from the day of payment
    renewal.refresh_from_db()
    assert renewal.status == "paid" and renewal.invoice_number  # its own GST invoice
    assert renewal.invoice_number != server.order.invoice_number
    assert Server.objects.count() == 1  # a renewal gets no server of its own
    assert renewal not in orphaned_orders()


def test_a_renewal_due_on_31_january_is_extended_to_28_february(api, alice, plan, fake_razorpay):
    server = active_server(alice, plan, paid_until=at(2027, 1, 31, 12))
    renewal = renewal_issue(server.pk, source="test")
    verify_payment(api, fake_razorpay, renewal)
    server.refresh_from_db()
    assert server.paid_until == at(2027, 2, 28, 12)


def test_a_renewal_for_another_cycle_extends_by_its_months_and_sets_the_servers_cycle(api, alice, plan, fake_razorpay):
    server = active_server(alice, plan, paid_until=at(2027, 1, 31, 12))
    renewal = renewal_issue(server.pk, billing_cycle_months=6, source="test")
    verify_payment(api, fake_razorpay, renewal)
    server.refresh_from_db()
    assert (server.paid_until, server.billing_cycle_months) == (at(2027, 7, 31, 12), 6)


def test_the_same_renewal_payment_by_verify_and_by_two_webhooks_extends_once(api, server, fake_razorpay):
    old_due = server.paid_until
    renewal = renewal_issue(server.pk, source="test")
    response, payment = verify_payment(api, fake_razorpay, renewal)
    assert response.status_code == 200
    for event in ("payment.captured", "order.paid"):
        assert post_webhook(Client(), *fake_razorpay.webhook(event, payment)).status_code == 200

    server.refresh_from_db()
    assert server.paid_until == period_end(old_due, 1)
    assert RenewalExtension.objects.filter(order=renewal).count() == 1


def test_the_database_refuses_a_second_extension_by_one_renewal_order(server):
    renewal = renewal_issue(server.pk, source="test")
    due = server.paid_until
    RenewalExtension.objects.create(
        order=renewal, server=server, months=1, old_paid_until=due, new_paid_until=period_end(due, 1), source="test"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        RenewalExtension.objects.create(
            order=renewal, server=server, months=1, old_paid_until=due, new_paid_until=period_end(due, 1), source="test"
        )


def test_the_database_refuses_a_second_unpaid_renewal_for_one_server(server):
    renewal_order_build(server, 1).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        renewal_order_build(server, 3).save()


def test_a_renewal_order_must_name_its_server_and_a_new_order_must_not(server):
    orphan = renewal_order_build(server, 1)
    orphan.renews_server = None
    with pytest.raises(IntegrityError), transaction.atomic():
        orphan.save()


def test_issuing_a_renewal_twice_for_the_same_cycle_gives_the_same_order_and_another_cycle_replaces_it(server):
    first = renewal_issue(server.pk, source="test")
    assert renewal_issue(server.pk, source="test") == first
    second = renewal_issue(server.pk, billing_cycle_months=12, source="test")
    first.refresh_from_db()
    assert first.status == "cancelled" and second.status == "created" and second.billing_cycle_months == 12
    assert second.kind == "renewal" and second.renews_server_id == server.pk
    assert second.razorpay_order_id is None  # made when the customer pays, not when issued


def test_a_renewal_is_priced_from_the_plans_current_price_and_an_inactive_plan_still_renews(server, plan):
    plan.price_paise, plan.is_active = 300000, False
    plan.save()
    renewal = renewal_issue(server.pk, source="test")
    assert (renewal.subtotal_paise, renewal.tax_paise, renewal.total_paise) == (300000, 54000, 354000)


def test_paying_the_renewal_of_a_server_suspended_overdue_brings_it_back(
    api, alice, plan, fake_razorpay, django_capture_on_commit_callbacks
):
    from servers.operations import server_suspend

    server = active_server(alice, plan, paid_until=timezone.now() - timedelta(days=4))
    renewal = renewal_issue(server.pk, source="test")
    with django_capture_on_commit_callbacks(execute=True):
        server_suspend(server.pk, reason="overdue", source="billing")
    server.refresh_from_db()
    assert server.status == "suspended"

    with django_capture_on_commit_callbacks(execute=True):
        verify_payment(api, fake_razorpay, renewal)

    server.refresh_from_db()
    assert (server.status, server.suspension_reason, server.power_state) == ("active", "", "running")


def test_a_staff_suspension_survives_paying_the_renewal(
    api, alice, plan, fake_razorpay, django_capture_on_commit_callbacks
):
    from servers.operations import server_suspend

    server = active_server(alice, plan)
    renewal = renewal_issue(server.pk, source="test")
    with django_capture_on_commit_callbacks(execute=True):
        server_suspend(server.pk, reason="staff", source="admin")
    with django_capture_on_commit_callbacks(execute=True):
        verify_payment(api, fake_razorpay, renewal)
    server.refresh_from_db()
    assert (server.status, server.suspension_reason) == ("suspended", "staff")
    assert server.extensions.count() == 1  # paid for, so extended, but still suspended


def test_a_payment_for_a_renewal_cancelled_at_termination_is_flagged_and_revives_nothing(
    api, alice, plan, fake_razorpay, alert_recipients, django_capture_on_commit_callbacks
):
    from servers.operations import server_terminate

    server = active_server(alice, plan, paid_until=timezone.now() - timedelta(days=15))
    renewal = renewal_issue(server.pk, source="test")
    renewal = order_gateway_ensure(renewal)  # the customer had opened Checkout
    with django_capture_on_commit_callbacks(execute=True):
        server_terminate(server.pk, source="billing")
    renewal.refresh_from_db()
    assert renewal.status == "cancelled"

    with django_capture_on_commit_callbacks(execute=True):
        verify_payment(api, fake_razorpay, renewal)

    renewal.refresh_from_db()
    server.refresh_from_db()
    assert renewal.needs_attention and "refund" in renewal.attention_reason
    assert server.status == "terminated" and not server.extensions.exists()


def test_the_customer_is_mailed_the_renewal_payment_with_the_new_due_date(
    api, server, fake_razorpay, django_capture_on_commit_callbacks
):
    from django.core import mail

    from outbox.models import OutboundMail
    from outbox.services import outbox_sweep

    renewal = renewal_issue(server.pk, source="test")
    with django_capture_on_commit_callbacks(execute=True):
        verify_payment(api, fake_razorpay, renewal)
    subject = f"Payment received for renewal {renewal.number}"
    # Written with the payment, due at once, and no task published for it (tasks run
    # eagerly here: a published one would have sent it already): the payment path
    # publishes at most once per payment, and a renewal has nothing to provision.
    queued = OutboundMail.objects.get(cause_key=f"payment-received:{renewal.pk}")
    assert queued.status == "queued" and queued.next_attempt_at <= timezone.now()
    assert [m for m in mail.outbox if m.subject == subject] == []

    assert outbox_sweep(now=timezone.now()) == {"sent": 1}  # the next sweep, within a minute
    [sent] = [m for m in mail.outbox if m.subject == subject]
    server.refresh_from_db()
    assert f"{timezone.localtime(server.paid_until):%d %b %Y}" in sent.body


def test_the_backfill_gives_existing_servers_the_due_date_their_order_paid_for(alice, plan):
    import importlib

    from django.apps import apps

    from servers.factories import ServerFactory

    backfill = importlib.import_module("servers.migrations.0004_server_lifecycle").paid_until_backfill
    server = ServerFactory(
        order__user=alice, order__plan=plan, order__billing_cycle_months=3, order__paid_at=at(2026, 11, 30, 9)
    )
    Server.objects.filter(pk=server.pk).update(paid_until=None, billing_cycle_months=1)
    backfill(apps, None)
    server.refresh_from_db()
    assert (server.paid_until, server.billing_cycle_months) == (at(2027, 2, 28, 9), 3)
