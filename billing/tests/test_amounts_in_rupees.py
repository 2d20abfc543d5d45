"""Every figure a person reads is in rupees, never raw paise (issue 13): the
ledger audit's problems (command, dashboard, alert), refusals of refunds, the
refund-failed alert (in test_refunds), a payment that does not match its order, and the guards of
credit notes and the gateway. JSON fields named *_paise stay integers."""

import io
import json
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from alerts.models import Incident
from billing.models import CreditNote
from ops.audit import order_problems
from payments.refunds import RefundRefused, order_refund, order_refund_plan, refund_payment
from payments.tests.test_refunds import verified


def audited(**figures):
    """An order as ops.audit.audited_orders annotates it: a `new` order paid
    ₹2,643.20, with its invoice and a terminated server unless told otherwise."""
    values = {
        "number": "ORD-RUPEES0001",
        "kind": "new",
        "status": "paid",
        "total_paise": 264320,
        "paying_status": "captured",
        "paying_amount": 264320,
        "refunded": 0,
        "credited": 0,
        "tax_invoice": SimpleNamespace(total_paise=264320),
        "server": SimpleNamespace(pk=7, status="active"),
    }
    return SimpleNamespace(**{**values, **figures})


@pytest.mark.parametrize(
    "figures,problem",
    [
        (
            {"paying_amount": 264220},
            "paying payment is captured for ₹2,642.20, order total ₹2,643.20",
        ),
        (
            {"tax_invoice": SimpleNamespace(total_paise=224000)},
            "invoice total ₹2,240.00, order total ₹2,643.20",
        ),
        ({"refunded": 1000, "credited": 0}, "processed refunds ₹10.00, credit notes ₹0.00"),
        (
            {"refunded": 264320, "credited": 300000, "status": "refunded", "server": None},
            "refunded ₹2,643.20 / credited ₹3,000.00 of ₹2,643.20",
        ),
        (
            {"refunded": 123456, "credited": 123456, "status": "refunded"},
            "order refunded but only ₹1,234.56 of ₹2,643.20 returned",
        ),
    ],
)
def test_each_ledger_problem_names_its_money_in_rupees(figures, problem):
    problems = [text for _, text in order_problems(audited(**figures))]
    assert problem in problems
    assert not any("paise" in text or "264320" in text for text in problems), problems


@pytest.mark.django_db
def test_the_ledger_problem_reads_in_rupees_in_the_command_the_dashboard_and_the_alert(
    api, portal_order, fake_razorpay, staff, settings, django_capture_on_commit_callbacks
):
    settings.ALERT_EMAILS = ["ops@example.com"]
    verified(api, portal_order, fake_razorpay)
    order_refund(portal_order.number, reason="Goodwill", actor=staff, amount_paise=1000)
    CreditNote.objects.all().delete()  # a refund without its credit note
    problem = "processed refunds ₹10.00, credit notes ₹0.00"

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError):
        call_command("audit_ledger", stdout=out)
    assert f"  {portal_order.number}: {problem}" in out.getvalue().splitlines()

    incident = Incident.objects.get(key=f"ledger:{portal_order.number}:credit-notes")
    assert problem in incident.detail and "paise" not in incident.detail
    [alert] = [message for message in mail.outbox if message.to == ["ops@example.com"]]
    assert problem in alert.body and "paise" not in alert.body

    client = Client()
    client.force_login(staff)
    page = client.get("/admin/orphaned-orders/").text
    assert problem in page


@pytest.mark.django_db
def test_refund_refusals_name_what_is_left_in_rupees(api, portal_order, fake_razorpay, staff):
    payment = verified(api, portal_order, fake_razorpay)
    with pytest.raises(RefundRefused) as refused:
        order_refund_plan(portal_order.number, amount_paise=999999999)
    assert str(refused.value) == f"Order {portal_order.number} has ₹2,643.20 left to refund; ₹99,99,999.99 asked."
    with pytest.raises(RefundRefused) as refused:
        refund_payment(payment_id=payment["id"], reason="x", actor=staff, amount_paise=264321)
    assert str(refused.value) == f"Payment {payment['id']} has ₹2,643.20 left to refund; ₹2,643.21 asked."


@pytest.mark.django_db
def test_refund_order_keeps_its_paise_flag_and_answers_in_rupees(api, portal_order, fake_razorpay):
    # The contract fixes `--amount-paise N`; what the command prints for a person is in rupees.
    verified(api, portal_order, fake_razorpay)
    with pytest.raises(CommandError) as refused:
        call_command("refund_order", portal_order.number, "--amount-paise", "300000", "--reason", "x", "--yes")
    assert str(refused.value) == f"Order {portal_order.number} has ₹2,643.20 left to refund; ₹3,000.00 asked."
    out = io.StringIO()
    call_command("refund_order", portal_order.number, "--amount-paise", "1050", "--reason", "x", "--yes", stdout=out)
    assert "Refund ₹10.50 of payment" in out.getvalue() and ": ₹10.50, processed." in out.getvalue()


@pytest.mark.django_db
def test_the_admin_refund_refusal_names_money_in_rupees(api, portal_order, fake_razorpay):
    from accounts.factories import UserFactory

    verified(api, portal_order, fake_razorpay)
    client = Client()
    client.force_login(UserFactory(email="boss@example.com", is_staff=True, is_superuser=True))
    form = {"action": "refund_orders", "_selected_action": [portal_order.pk], "apply": "1", "reason": "Goodwill"}
    response = client.post("/admin/billing/order/", {**form, "amount": "5000"}, follow=True)
    assert [str(message) for message in response.context["messages"]] == [
        f"{portal_order.number}: refund not made: Order {portal_order.number} has ₹2,643.20 left to refund; "
        "₹5,000.00 asked."
    ]


@pytest.mark.django_db
def test_a_payment_that_does_not_match_its_order_is_flagged_in_rupees(
    alice, plan, client, fake_razorpay, settings, django_capture_on_commit_callbacks
):
    from ops.tests.conftest import underpaid_order

    settings.ALERT_EMAILS = ["ops@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        order, _ = underpaid_order(alice, plan, fake_razorpay, client)
    assert "captured ₹2,642.20, order total is ₹2,643.20" in order.attention_reason
    incident = Incident.objects.get(key=f"amount-mismatch:{order.number}")
    assert f"Order {order.number} (alice@example.com, total ₹2,643.20): " in incident.detail
    assert "captured ₹2,642.20, order total is ₹2,643.20" in incident.detail
    assert "paise" not in incident.detail


@pytest.mark.django_db
def test_the_credit_note_guard_names_money_in_rupees(alice, plan):
    from billing.credit_notes import FIGURES, credit_figures

    invoice = SimpleNamespace(total_paise=264320, taxable_paise=224000, tax_paise=40320, gst_rate_percent=18)
    invoice.__dict__.update({name: 0 for name in FIGURES if not hasattr(invoice, name)})
    credited = {name: 0 for name in FIGURES}
    credited["amount_paise"] = 200000
    with pytest.raises(ValueError) as refused:
        credit_figures(invoice, 100000, credited)
    assert str(refused.value) == "A credit note of ₹1,000.00; ₹643.20 of the invoice are left."


def test_a_razorpay_order_echoed_with_another_amount_is_refused_in_rupees(fake_razorpay):
    from payments.gateways import GatewayMismatch
    from payments.gateways.razorpay_gateway import RazorpayGateway

    fake_razorpay.echo_amount_delta = 1
    with pytest.raises(GatewayMismatch) as refused:
        RazorpayGateway().order_create(receipt="ORD-ABCDEFGHIJ", amount_paise=1000, currency="INR", notes={})
    assert "echoed ₹10.01 INR, expected ₹10.00 INR" in str(refused.value)


@pytest.mark.django_db
def test_json_amounts_stay_integer_paise(api, portal_order, fake_razorpay):
    verified(api, portal_order, fake_razorpay)
    out = io.StringIO()
    call_command(
        "refund_order", portal_order.number, "--amount-paise", "1050", "--reason", "x", "--yes", "--json", stdout=out
    )
    assert json.loads(out.getvalue())["refund"]["amount_paise"] == 1050
