"""Staff refunds: the admin action (permission billing.refund_order) and the
`refund_order` command, one service behind both, through the real SDK."""

import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.factories import UserFactory
from billing.models import Order, OrderEvent, Refund
from ops.tests.conftest import FakeTerminal

from .test_refunds import verified


def refund_command(*args, stdin=None):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("refund_order", *args, stdout=out, stderr=err, stdin=stdin or io.StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def paid(api, portal_order, fake_razorpay):
    payment = verified(api, portal_order, fake_razorpay)
    return portal_order, payment


@pytest.mark.django_db
def test_refund_order_with_yes_refunds_what_is_left_and_prints_json(paid, fake_razorpay):
    order, payment = paid
    code, out, _ = refund_command(order.number, "--reason", "Customer cancelled", "--yes", "--json")
    assert code == 0
    result = json.loads(out)
    refund = Refund.objects.get()
    assert result["order"] == order.number and result["dry_run"] is False and result["errors"] == []
    assert result["refund"] == {
        "id": refund.razorpay_refund_id,
        "amount_paise": order.total_paise,
        "status": "processed",
    }
    assert [r["amount"] for r in fake_razorpay.refunds.values()] == [order.total_paise]
    assert result["credit_note"] == refund.credit_note.number and result["credit_note"].startswith("CN/")
    order.refresh_from_db()
    assert order.status == "refunded"
    assert OrderEvent.objects.filter(
        order=order, kind="refund", source="refund_order", message="Customer cancelled"
    ).exists()


@pytest.mark.django_db
def test_refund_order_without_a_terminal_or_yes_is_a_dry_run(paid, fake_razorpay):
    order, _ = paid
    code, out, err = refund_command(order.number, "--amount-paise", "1000", "--reason", "Goodwill", "--json")
    assert code == 0 and "dry run" in err
    assert json.loads(out) == {
        "order": order.number,
        "dry_run": True,
        "refund": None,
        "credit_note": None,
        "errors": [],
    }
    assert not fake_razorpay.refunds and not Refund.objects.exists()


@pytest.mark.django_db
def test_refund_order_asks_on_a_terminal_and_a_partial_refund_leaves_the_order_paid(paid, fake_razorpay):
    order, _ = paid
    code, out, _ = refund_command(
        order.number, "--amount-paise", "1000", "--reason", "Goodwill", stdin=FakeTerminal("y\n")
    )
    assert code == 0 and "Proceed? [y/N]" in out and "₹10.00" in out
    order.refresh_from_db()
    assert order.status == "paid" and Refund.objects.get().amount_paise == 1000


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ["ORD-NOSUCHORDR", "--reason", "x", "--yes"],
        ["{number}", "--reason", "   ", "--yes"],
        ["{number}", "--amount-paise", "999999999", "--reason", "too much", "--yes"],
        ["{number}", "--amount-paise", "0", "--reason", "nothing", "--yes"],
    ],
)
def test_refund_order_bad_arguments_exit_2_and_refund_nothing(paid, fake_razorpay, args):
    order, _ = paid
    code, _, _ = refund_command(*[arg.format(number=order.number) for arg in args])
    assert code == 2
    assert not fake_razorpay.refunds and not Refund.objects.exists()


@pytest.mark.django_db
def test_refund_order_exits_1_when_razorpay_fails_and_records_nothing(paid, fake_razorpay):
    order, _ = paid
    fake_razorpay.fail_next = 5
    code, out, _ = refund_command(order.number, "--reason", "x", "--yes", "--json")
    assert code == 1 and json.loads(out)["errors"]
    assert not Refund.objects.exists()


def admin_client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_admin_action_needs_the_refund_permission_not_only_staff(paid, fake_razorpay):
    order, _ = paid
    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "change_order"]))
    client = admin_client(clerk)
    page = client.get("/admin/billing/order/").content.decode()
    assert "refund_orders" not in page
    client.post(
        "/admin/billing/order/",
        {"action": "refund_orders", "_selected_action": [order.pk], "apply": "1", "reason": "x"},
    )
    assert not fake_razorpay.refunds

    clerk.user_permissions.add(Permission.objects.get(codename="refund_order"))
    clerk = type(clerk).objects.get(pk=clerk.pk)  # permissions are cached per instance
    client = admin_client(clerk)
    assert "refund_orders" in client.get("/admin/billing/order/").content.decode()
    confirm = client.post("/admin/billing/order/", {"action": "refund_orders", "_selected_action": [order.pk]})
    assert confirm.status_code == 200 and "₹2,643.20" in confirm.content.decode()
    assert not fake_razorpay.refunds  # the confirmation moves no money

    done = client.post(
        "/admin/billing/order/",
        {
            "action": "refund_orders",
            "_selected_action": [order.pk],
            "apply": "1",
            "reason": "Wrong plan",
            "amount": "50",
        },
    )
    assert done.status_code == 302
    refund = Refund.objects.get()
    assert refund.amount_paise == 5000 and refund.created_by == clerk and refund.reason == "Wrong plan"
    from security.models import StaffAction

    audit = StaffAction.objects.get()
    assert (audit.actor, audit.via, audit.action, audit.ip_address) == (
        clerk,
        "admin",
        "billing.refund_order",
        "127.0.0.1",
    )
    assert Order.objects.get(pk=order.pk).status == "paid"
