"""The demo customer's history, so a fresh `seed_demo` portal shows what the README's
screenshots show: a paid order with its invoice, an active (simulated) server whose
renewal is due in a few days, and a ticket our staff answered. Everything goes
through the services a real customer's purchase would (checkout's order, the
payment funnel by the simulated checkout's signed answer, provisioning, the
renewal, support); only the due date is moved, as ops scripts may."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from lifecycle.renewals import renewal_issue
from payments.gateways.simulated import simulated_checkout_response
from payments.services import order_create, payment_verify
from servers.services import server_provision
from support.services import message_add, ticket_create

DEMO_PLAN, DEMO_CYCLE_MONTHS = "g-8gb", 1
RENEWAL_DUE_IN_DAYS = 5  # inside RENEWAL_NOTICE_DAYS: the renewal is issued and shown as due
DEMO_BUYER = {"name": "Demo Traders", "address": "4 MG Road, Bengaluru 560001", "state": "Karnataka", "gstin": ""}


def demo_history_possible() -> str | None:
    """None when the demo purchase can be made here, else why not (real money or real servers)."""
    if not settings.PAYMENTS_SIMULATED:
        return "payments are not simulated"
    if settings.PROVISIONING_BACKEND != "simulated":
        return "provisioning is not simulated"
    return None


def demo_history_create(customer, staff, plan, now=None):
    """Give `customer` their demo history unless they already have an order (idempotent).
    Returns the server, or None when there was nothing to do."""
    if customer.orders.exists():
        return None
    now = now or timezone.now()
    order = order_create(
        user=customer, plan=plan, billing_cycle_months=DEMO_CYCLE_MONTHS, buyer=DEMO_BUYER, source="seed_demo"
    )
    result = payment_verify(user=customer, **simulated_checkout_response(order))
    server = result.server
    server_provision(server.pk)  # here and now, so the server is active without a worker
    # Move the due date into the renewal window, as an ops script may, and issue the renewal.
    type(server).objects.filter(pk=server.pk).update(paid_until=now + timedelta(days=RENEWAL_DUE_IN_DAYS))
    renewal_issue(server.pk, source="seed_demo")
    ticket = ticket_create(
        user=customer,
        subject="How do I add my SSH key?",
        body="Hello, I would like to log in with my own SSH key instead of a password. How do I add it?",
        server=server,
    )
    message_add(
        ticket=ticket,
        author=staff,
        body=(
            "Hello! Add your public key under Account, then choose it when you order or ask us to install it on "
            "this server. Reply here if you want us to do that for you."
        ),
    )
    return server
