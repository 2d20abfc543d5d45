"""What a signed-in customer sees first: what runs, what is due, what waits for them."""

from dataclasses import dataclass

from billing.models import Order
from billing.selectors import invoices_for_user
from servers.models import Server
from support.models import Ticket

RECENT_INVOICES = 5


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


def customer_home(user) -> CustomerHome:
    """Four short lists in four queries, each only the customer's own rows."""
    servers = (
        Server.objects.filter(user=user)
        .exclude(status=Server.Status.TERMINATED)
        .select_related("order")
        .order_by("-created_at")
    )
    # Unpaid orders the customer can pay now; one held for staff (a flagged payment) is not.
    payments_due = Order.objects.filter(user=user, status=Order.Status.CREATED, needs_attention=False).order_by(
        "created_at"
    )
    tickets = Ticket.objects.filter(user=user, status=Ticket.Status.AWAITING_CUSTOMER).order_by("-updated_at")
    invoices = invoices_for_user(user)[:RECENT_INVOICES]
    return CustomerHome(list(servers), list(payments_due), list(tickets), list(invoices))
