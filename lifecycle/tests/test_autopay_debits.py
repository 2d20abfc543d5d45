"""run_billing's autopay debits through the real SDK against the fake Razorpay: one
debit per renewal order, whatever passes, runners or lost answers; outcomes through
the same funnel as every payment. Time moves by `now` and paid_until."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from billing.models import Order, TaxInvoice
from lifecycle.autopay.models import AutopayDebit
from lifecycle.billing_day import billing_run
from outbox.models import OutboundMail
from servers.models import RenewalExtension, Server

from .autopay_world import CONTACT, confirmed_mandate, deliver, mails_with, pay_and_verify
from .conftest import active_server

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def now():
    return timezone.now()


def autopay_server(api, client, alice, plan, fake_razorpay, now):
    """An active server whose autopay is active (registered by paying a renewal), due in 2 days."""
    server = active_server(alice, plan)
    number = api.post(f"/api/v1/servers/{server.pk}/renew/", {"autopay": True, "contact": CONTACT}, format="json")
    response, payment = pay_and_verify(api, fake_razorpay, Order.objects.get(number=number.json()["number"]))
    assert response.status_code == 200, response.content
    mandate = confirmed_mandate(client, fake_razorpay, server.autopay_mandates.get())
    Server.objects.filter(pk=server.pk).update(paid_until=now + 2 * DAY)
    return Server.objects.get(pk=server.pk), mandate


@pytest.fixture
def debit_world(api, client, alice, plan, fake_razorpay, now):
    return autopay_server(api, client, alice, plan, fake_razorpay, now)


def run(now, capture=None):
    if capture is None:
        return billing_run(now=now)
    with capture(execute=True):
        return billing_run(now=now)


def renewal_of(server):
    return Order.objects.get(
        renews_server=server, status__in=["created", "paid"], payment_metadata__has_key="autopay_debit"
    )


def test_two_passes_ask_one_debit_with_two_razorpay_calls_and_one_notice(debit_world, fake_razorpay, now):
    server, mandate = debit_world
    calls_before = len(fake_razorpay.requests)

    first = run(now)
    second = run(now + timedelta(hours=1))

    renewal = renewal_of(server)
    assert first.autopay_requested == [renewal.number] and second.autopay_requested == []
    assert first.renewals_created == [renewal.number]  # issued and debited in one pass
    assert [path for _, path in fake_razorpay.requests[calls_before:]] == [
        "/v1/orders",
        "/v1/payments/create/recurring",
    ]
    debit = AutopayDebit.objects.get()
    assert (debit.status, debit.amount_paise, debit.order) == ("requested", renewal.total_paise, renewal)
    payment = fake_razorpay.payments[debit.razorpay_payment_id]
    assert (payment["amount"], payment["token_id"], payment["notes"]) == (
        renewal.total_paise,
        mandate.razorpay_token_id,
        {"order": renewal.number},
    )
    assert fake_razorpay.orders[renewal.razorpay_order_id]["customer_id"] == mandate.razorpay_customer_id
    [notice] = mails_with("autopay-notice:")
    assert (
        renewal.number in notice.body and f"/servers/{server.pk}/" in notice.body and "turn autopay off" in notice.body
    )


def test_a_debit_is_not_asked_before_the_charge_days(api, client, alice, plan, fake_razorpay, now, settings):
    server, _ = autopay_server(api, client, alice, plan, fake_razorpay, now)
    Server.objects.filter(pk=server.pk).update(paid_until=now + (settings.AUTOPAY_CHARGE_DAYS + 1) * DAY)
    report = run(now)
    assert report.renewals_created and report.autopay_requested == [] and not fake_razorpay.recurring_requests()


def test_captured_extends_once_with_invoice_and_receipt(debit_world, client, fake_razorpay, now):
    server, _ = debit_world
    run(now)
    debit = AutopayDebit.objects.get()
    captured = fake_razorpay.recurring_settle(debit.razorpay_payment_id, "captured")

    deliver(client, fake_razorpay, "payment.captured", payment=captured)
    deliver(client, fake_razorpay, "payment.captured", payment=captured)

    renewal = renewal_of(server)
    assert renewal.status == "paid" and RenewalExtension.objects.filter(order=renewal).count() == 1
    assert Server.objects.get(pk=server.pk).paid_until > now + 28 * DAY
    assert TaxInvoice.objects.filter(order=renewal).exists()
    assert OutboundMail.objects.filter(cause_key=f"payment-received:{renewal.pk}").count() == 1
    debit.refresh_from_db()
    assert debit.status == "captured"


def test_a_failed_debit_is_never_asked_again_stays_payable_by_hand_and_mails_once(
    debit_world, api, client, fake_razorpay, now
):
    server, _ = debit_world
    run(now)
    debit = AutopayDebit.objects.get()
    failed = fake_razorpay.recurring_settle(debit.razorpay_payment_id, "failed")
    deliver(client, fake_razorpay, "payment.failed", payment=failed)
    deliver(client, fake_razorpay, "payment.failed", payment=failed)

    run(now + DAY)
    run(now + 2 * DAY)

    assert len(fake_razorpay.recurring_requests()) == 1
    debit.refresh_from_db()
    assert debit.status == "failed"
    assert len(mails_with("autopay-failed:")) == 1
    renewal = renewal_of(server)
    assert renewal.status == "created" and renewal.payment_metadata["autopay_debit"] == "failed"
    response, _ = pay_and_verify(api, fake_razorpay, renewal)  # by hand, on the same Razorpay order
    assert response.status_code == 200 and renewal_of(server).status == "paid"


def test_a_failure_saying_the_token_is_gone_ends_the_mandate(debit_world, client, fake_razorpay, now):
    server, mandate = debit_world
    run(now)
    debit = AutopayDebit.objects.get()
    failed = fake_razorpay.recurring_settle(
        debit.razorpay_payment_id, "failed", error_description="The token has been cancelled by the customer"
    )
    deliver(client, fake_razorpay, "payment.failed", payment=failed)
    mandate.refresh_from_db()
    assert mandate.status == "cancelled" and len(mails_with("autopay-off:")) == 1


def test_above_the_mandates_limit_no_debit_and_one_mail(debit_world, fake_razorpay, now):
    server, mandate = debit_world
    type(mandate).objects.filter(pk=mandate.pk).update(max_amount_paise=100_000)  # below the renewal's total

    first = run(now)
    run(now + DAY)

    assert first.autopay_requested == [] and not fake_razorpay.recurring_requests()
    assert AutopayDebit.objects.get().status == "over_limit"
    [mail] = mails_with("autopay-over-limit:")
    assert renewal_of_any(server).number in mail.body


def renewal_of_any(server):
    return Order.objects.get(renews_server=server, status="created")


def test_turned_off_the_token_is_cancelled_and_no_debit_is_asked(debit_world, api, fake_razorpay, now):
    server, mandate = debit_world
    assert api.delete(f"/api/v1/servers/{server.pk}/autopay/").status_code == 200
    report = run(now)
    assert report.autopay_requested == [] and not fake_razorpay.recurring_requests()
    assert fake_razorpay.tokens[mandate.razorpay_token_id]["recurring_details"]["status"] == "cancelled"


def test_the_bank_cancelling_the_token_means_no_debit(debit_world, client, fake_razorpay, now):
    server, mandate = debit_world
    cancelled = fake_razorpay.token_update(mandate.razorpay_token_id, "cancelled")
    deliver(client, fake_razorpay, "token.cancelled", token=cancelled)
    assert run(now).autopay_requested == [] and not fake_razorpay.recurring_requests()


def test_a_lost_answer_is_looked_up_never_asked_again(debit_world, fake_razorpay, now, settings):
    server, _ = debit_world
    settings.RAZORPAY_TIMEOUT_SECONDS = 0.5
    fake_razorpay.hold_recurring_answer = threading.Event()  # Razorpay debits, its answer never arrives
    first = run(now)
    fake_razorpay.hold_recurring_answer.set()
    assert first.autopay_requested == [] and AutopayDebit.objects.get().status == "asking"

    second = run(now + timedelta(seconds=1))

    assert len(fake_razorpay.recurring_requests()) == 1
    debit = AutopayDebit.objects.get()
    [payment] = [p for p in fake_razorpay.payments.values() if p.get("notes") == {"order": debit.order.number}]
    assert (debit.status, debit.razorpay_payment_id) == ("requested", payment["id"])
    assert second.autopay_requested == [debit.order.number]
    assert ("GET", f"/v1/orders/{debit.razorpay_order_id}/payments") in fake_razorpay.requests


def test_a_debit_razorpay_never_got_is_failed_not_asked_again(debit_world, fake_razorpay, now):
    server, _ = debit_world
    fake_razorpay.fail_next_recurring = 1  # a 5xx for the debit: nothing was made at Razorpay
    run(now)
    run(now + timedelta(seconds=1))
    run(now + DAY)

    assert len(fake_razorpay.recurring_requests()) == 1
    assert AutopayDebit.objects.get().status == "failed"
    assert len(mails_with("autopay-failed:")) == 1


def test_a_hand_payment_beside_the_debit_is_flagged_for_a_refund(debit_world, api, client, fake_razorpay, now):
    server, _ = debit_world
    run(now)
    debit = AutopayDebit.objects.get()
    renewal = renewal_of(server)
    response, _ = pay_and_verify(api, fake_razorpay, renewal)  # the customer pays by hand too
    assert response.status_code == 200
    captured = fake_razorpay.recurring_settle(debit.razorpay_payment_id, "captured")
    deliver(client, fake_razorpay, "payment.captured", payment=captured)
    renewal.refresh_from_db()
    assert renewal.needs_attention and debit.razorpay_payment_id in renewal.attention_reason
    assert RenewalExtension.objects.filter(order=renewal).count() == 1


def test_a_dry_run_lists_the_debit_and_asks_nothing(debit_world, fake_razorpay, now):
    server, _ = debit_world
    report = billing_run(now=now, dry_run=True)
    assert len(report.autopay_requested) == 1 and not fake_razorpay.recurring_requests()
    assert not AutopayDebit.objects.exists()


def test_the_servers_json_says_autopay_is_active(debit_world, api):
    server, _ = debit_world
    assert api.get(f"/api/v1/servers/{server.pk}/").json()["autopay"]["status"] == "active"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runners_ask_one_debit(api, client, alice, plan, fake_razorpay, now):
    from conftest import in_threads

    autopay_server(api, client, alice, plan, fake_razorpay, now)
    fake_razorpay.delay_seconds = 0.05
    results, errors = in_threads([lambda: billing_run(now=now), lambda: billing_run(now=now)])
    connections.close_all()
    assert not errors
    assert sorted(len(r.autopay_requested) for r in results) == [0, 1]
    assert len(fake_razorpay.recurring_requests()) == 1


def test_a_renewal_whose_debit_is_pending_is_never_cancelled_by_reconcile(debit_world, fake_razorpay, now):
    from payments.reconcile import payments_reconcile

    server, _ = debit_world
    run(now)
    renewal = renewal_of(server)
    for days in (1, 2, 4, 6, 9):  # the periodic reconciler, while the bank takes its time and after
        payments_reconcile(now=now + days * DAY, budget=True)
        payments_reconcile(since_hours=24 * 30, now=now + days * DAY)
    renewal.refresh_from_db()
    assert renewal.status == "created" and AutopayDebit.objects.get().status == "requested"
    assert len(fake_razorpay.recurring_requests()) == 1


def test_reconcile_applies_a_captured_debit_whose_webhook_was_lost(debit_world, fake_razorpay, now):
    from payments.reconcile import payments_reconcile

    server, _ = debit_world
    run(now)
    fake_razorpay.recurring_settle(AutopayDebit.objects.get().razorpay_payment_id, "captured")
    payments_reconcile(since_hours=24 * 30, now=now + DAY)
    assert renewal_of(server).status == "paid" and AutopayDebit.objects.get().status == "captured"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_runner_killed_after_razorpay_answered_asks_none_again(api, client, alice, plan, fake_razorpay):
    """A real run_billing process is killed (SIGKILL) after Razorpay made the debit and
    before its answer was recorded; the next pass looks the payment up and asks nothing."""
    import os
    import subprocess
    import sys

    from django.conf import settings
    from django.db import connection

    from lifecycle.autopay.debits import LEASE

    now = timezone.now()
    server, mandate = autopay_server(api, client, alice, plan, fake_razorpay, now)
    fake_razorpay.hold_recurring_answer = threading.Event()
    fake_razorpay.recurring_asked.clear()
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "CELERY_BROKER_URL": "memory://",
        "RAZORPAY_KEY_ID": fake_razorpay.key_id,
        "RAZORPAY_KEY_SECRET": fake_razorpay.key_secret,
        "RAZORPAY_WEBHOOK_SECRET": fake_razorpay.webhook_secret,
        "RAZORPAY_API_BASE": fake_razorpay.base_url,
        "RAZORPAY_TIMEOUT_SECONDS": "30",
    }
    runner = subprocess.Popen(
        [sys.executable, "manage.py", "run_billing", "--json"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert fake_razorpay.recurring_asked.wait(90), "the runner never asked for the debit"
    finally:
        runner.kill()
        runner.wait(30)
    fake_razorpay.hold_recurring_answer.set()
    debit = AutopayDebit.objects.get()
    [payment] = [p for p in fake_razorpay.payments.values() if p.get("notes") == {"order": debit.order.number}]
    assert debit.status == "asking" and debit.razorpay_payment_id == ""

    billing_run(now=now)  # while the dead runner's lease holds: left alone
    assert AutopayDebit.objects.get().status == "asking"
    report = billing_run(now=now + LEASE + timedelta(minutes=1))

    assert len(fake_razorpay.recurring_requests()) == 1
    debit.refresh_from_db()
    assert (debit.status, debit.razorpay_payment_id) == ("requested", payment["id"])
    assert report.autopay_requested == [debit.order.number]
