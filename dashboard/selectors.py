"""What a signed-in customer sees first: what runs, what is due, what waits for them."""

from dataclasses import dataclass

from django.utils import timezone

from billing.models import Order
from billing.selectors import invoices_for_user
from lifecycle.selectors import days_left
from servers.models import Server
from support.models import Ticket

RECENT_INVOICES = 5


@dataclass(frozen=True)
class ServerLine:
    server: Server
    days_left: int | None  # negative when overdue; None before the first payment's period starts


@dataclass(frozen=True)
class PaymentDue:
    order: Order
    server: Server | None  # the server a renewal extends
    due: object  # when the renewal is due (the server's paid_until), or None for a new order


@dataclass(frozen=True)
class CustomerHome:
    servers: list
    payments_due: list
    tickets_awaiting_customer: list
    recent_invoices: list

    @property
    def is_new(self):
        """Nothing bought and nothing asked yet: the page leads to the plans instead."""
        return not (self.servers or self.payments_due or self.tickets_awaiting_customer or self.recent_invoices)


def customer_home(user, now=None) -> CustomerHome:
    """Four short lists in four queries, each only the customer's own rows: servers
    with the days left on them, what can be paid now (renewals with their due date),
    tickets waiting for the customer, the latest invoices."""
    now = now or timezone.now()
    servers = (
        Server.objects.filter(user=user)
        .exclude(status=Server.Status.TERMINATED)
        .select_related("order", "plan")
        .order_by("-created_at")
    )
    # Unpaid orders the customer can pay now; one held for staff (a flagged payment) is not.
    payments_due = (
        Order.objects.filter(user=user, status=Order.Status.CREATED, needs_attention=False)
        .select_related("renews_server")
        .order_by("created_at")
    )
    tickets = Ticket.objects.filter(user=user, status=Ticket.Status.AWAITING_CUSTOMER).order_by("-updated_at")
    invoices = invoices_for_user(user)[:RECENT_INVOICES]
    return CustomerHome(
        [ServerLine(server, days_left(server.paid_until, now)) for server in servers],
        [PaymentDue(order, order.renews_server, order.renews_server and order.renews_server.paid_until) for order in payments_due],
        list(tickets),
        list(invoices),
    )
