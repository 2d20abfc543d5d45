"""`audit_ledger`: the contract's checks over every paid or refunded order, in a
fixed number of statements, one alert per problem, the result on the dashboard."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client

from alerts.models import Incident
from billing.factories import OrderFactory, PaymentFactory
from billing.models import CreditNote, Order
from ops.audit import ledger_audit
from payments.refunds import order_refund
from payments.tests.test_refunds import verified
from servers.factories import ServerFactory


def audit_command(*args):
    out = io.StringIO()
    try:
        call_command("audit_ledger", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def sound_paid_order(user, plan):
    """A paid order as the funnel leaves it: payment, stored invoice, server."""
    order = OrderFactory(user=user, plan=plan, status="paid", invoice_number=None)
    payment = PaymentFactory(order=order)
    order.payment_metadata = {"captured_payment_id": payment.razorpay_payment_id}
    from billing.services import invoice_number_assign

    invoice_number_assign(order, order.created_at.date())
    order.save()
    from billing.invoices import invoice_document

    invoice_document(order).save()
    ServerFactory(order=order, user=user)
    return order


@pytest.mark.django_db
def test_a_sound_ledger_has_no_problem_and_exits_0(api, portal_order, fake_razorpay, staff):
    verified(api, portal_order, fake_razorpay)
    order_refund(portal_order.number, reason="Goodwill", actor=staff, amount_paise=1000)
    code, out = audit_command("--json")
    assert code == 0
    assert json.loads(out) == {"orders_checked": 1, "problems": []}


@pytest.mark.django_db
def test_each_problem_is_named_alerted_once_and_resolved_when_fixed(
    api, portal_order, fake_razorpay, staff, alice, plan
):
    verified(api, portal_order, fake_razorpay)
    order_refund(portal_order.number, reason="Goodwill", actor=staff, amount_paise=1000)
    CreditNote.objects.all().delete()  # a refund without its credit note
    orphan = OrderFactory(user=alice, plan=plan, status="paid", invoice_number=None)  # no payment, invoice or server

    code, out = audit_command("--json")
    assert code == 1
    problems = json.loads(out)["problems"]
    assert {"order": portal_order.number, "problem": "processed refunds ₹10.00, credit notes ₹0.00"} in problems
    orphan_problems = [p["problem"] for p in problems if p["order"] == orphan.number]
    assert "no captured payment recorded for the order" in orphan_problems
    assert "no stored tax invoice" in orphan_problems and "paid new order without a server" in orphan_problems
    keys = set(Incident.objects.filter(resolved_at__isnull=True).values_list("key", flat=True))
    assert f"ledger:{portal_order.number}:credit-notes" in keys and f"ledger:{orphan.number}:no-server" in keys

    audit_command()  # a second run alerts nothing new
    assert Incident.objects.filter(key__startswith="ledger:").count() == len(keys)

    Order.objects.filter(pk=orphan.pk).update(status="cancelled")
    audit_command()
    assert Incident.objects.get(key=f"ledger:{orphan.number}:no-server").resolved_at is not None


@pytest.mark.django_db
def test_a_full_refund_with_a_running_server_is_a_problem(alice, plan):
    order = sound_paid_order(alice, plan)
    from billing.factories import RefundFactory

    RefundFactory(payment=order.payments.get(), status="processed")
    problems = [p["problem"] for p in ledger_audit(alert=False).problems]
    assert "refunded in full but the order is still paid" in problems
    assert any(p.startswith("refunded in full but server #") for p in problems)


@pytest.mark.django_db
@pytest.mark.parametrize("orders", [1, 40])
def test_the_audit_makes_the_same_few_statements_however_many_orders(
    alice, plan, orders, django_assert_max_num_queries
):
    for _ in range(orders):
        sound_paid_order(alice, plan)
    # 6, and the savepoint pair of the stream's transaction (inside the test's own).
    with django_assert_max_num_queries(8):
        report = ledger_audit(alert=True)
    assert report.orders_checked == orders and report.problems == []


@pytest.mark.django_db
def test_the_dashboard_shows_the_latest_audit(alice, plan, staff):
    OrderFactory(user=alice, plan=plan, status="paid", invoice_number=None)
    ledger_audit(alert=False)
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/orphaned-orders/").content.decode()
    assert "Ledger audit: 3 problems in 1 order" in page and "paid new order without a server" in page


def test_beat_runs_the_audit_daily():
    from hostingportal.schedule import BEAT_SCHEDULE
    from ops.tasks import audit_ledger_daily

    entry = BEAT_SCHEDULE["ops-audit-ledger"]
    assert entry["schedule"] == 86400.0 and entry["task"] == audit_ledger_daily.name


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_audit_stream_reads_on_when_another_client_takes_its_connection_between_chunks(alice, plan):
    """Behind a transaction-pooling PgBouncer (.ci/run runs this through one) a cursor
    stays on the server connection it was declared on. Declared outside a transaction
    (Django's .iterator() with server-side cursors on), its next FETCH runs on whatever
    connection PgBouncer lends next: "cursor ... does not exist" once another client has
    that one. The audit declares its cursor inside its transaction (core/streams.py)."""
    from conftest import transaction_held_open
    from core.streams import rows_streamed
    from ops.audit import audited_orders

    numbers = {sound_paid_order(alice, plan).number for _ in range(3)}
    with transaction.atomic():
        stream = rows_streamed(audited_orders(), chunk_size=1)
        first = next(stream)
        with transaction_held_open(lambda: Order.objects.count()):  # PgBouncer lends it a free server connection
            rest = [order.number for order in stream]
    assert {first.number, *rest} == numbers
