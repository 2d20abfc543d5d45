"""seed_demo gives the demo customer what the README's screenshots show."""

import pytest
from django.core.management import call_command

from accounts.models import User
from billing.models import Order
from support.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _instant_servers(settings):
    settings.SIMULATED_PROVISIONING_DELAY_SECONDS = 0


def test_seed_demo_gives_the_demo_customer_a_paid_order_a_running_server_a_renewal_due_and_an_answered_ticket(client):
    call_command("seed_demo")
    demo = User.objects.get(email="demo@example.com")
    [paid] = Order.objects.filter(user=demo, kind="new")
    assert paid.status == "paid" and paid.invoice_number and paid.payments.get().status == "captured"
    server = paid.server
    assert server.status == "active" and server.ip_address and server.power_state == "running"
    [renewal] = Order.objects.filter(user=demo, kind="renewal")
    assert renewal.status == "created" and renewal.renews_server == server
    [ticket] = Ticket.objects.filter(user=demo)
    assert ticket.status == "awaiting_customer"
    assert [m.is_staff_reply for m in ticket.messages.all()] == [False, True]

    client.force_login(demo)
    home = client.get("/home/").context["home"]
    assert [line.server for line in home.servers] == [server] and 0 <= home.servers[0].days_left <= 7
    assert [due.order for due in home.payments_due] == [renewal]
    assert home.tickets_awaiting_customer == [ticket] and home.recent_invoices == [paid]


def test_seed_demo_twice_adds_nothing_more():
    call_command("seed_demo")
    call_command("seed_demo")
    demo = User.objects.get(email="demo@example.com")
    assert Order.objects.filter(user=demo).count() == 2 and Ticket.objects.filter(user=demo).count() == 1


def test_seed_demo_makes_no_purchase_with_real_payments(settings):
    settings.PAYMENTS_SIMULATED = False
    call_command("seed_demo")
    assert not Order.objects.exists() and User.objects.filter(email="demo@example.com").exists()
