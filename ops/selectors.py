"""What needs a human (or the recovery service): each list is one query.

Orphaned orders use the Order(status, paid_at) index and an anti-join on the
server's unique order_id; stuck servers come from servers.selectors, which uses
Server(status, waiting_since) and Server(status, status_changed_at).
"""

from django.db.models import Exists, OuterRef

from billing.models import Order, WebhookEvent
from lifecycle.autopay.selectors import debits_failed_this_week
from servers.models import Server
from servers.selectors import failed_operations, operations_overdue
from servers.selectors import stuck_servers as servers_stuck


def orphaned_orders():
    """Paid `new` orders with no server (CONTRACT: Statuses), oldest payment first;
    a renewal extends a server and never has one of its own.
    NOT EXISTS, not a LEFT JOIN ... IS NULL: PostgreSQL plans it as an anti-join."""
    return (
        Order.objects.filter(status=Order.Status.PAID, kind=Order.Kind.NEW)
        .filter(~Exists(Server.objects.filter(order_id=OuterRef("pk"))))
        .select_related("user")
        .order_by("paid_at", "id")
    )


def orphaned_orders_first(limit):
    """(how many orphaned orders, the oldest `limit` of them with payments), in three
    queries whatever the table size. The anti-join runs once without ORDER BY/LIMIT,
    which PostgreSQL would otherwise serve by probing every paid order in turn."""
    keys = sorted(orphaned_orders().select_related(None).values_list("paid_at", "pk"), key=sort_key)
    first = [pk for _, pk in keys[:limit]]
    rows = Order.objects.filter(pk__in=first).select_related("user").prefetch_related("payments")
    return len(keys), sorted(rows, key=lambda order: sort_key((order.paid_at, order.pk)))


def sort_key(paid_at_and_pk):
    paid_at, pk = paid_at_and_pk
    return (paid_at is None, paid_at, pk)


def stuck_servers(now=None):
    """Servers pending/provisioning for more than STUCK_SERVER_MINUTES, or failed,
    oldest first, with order and customer (servers.selectors owns the definition)."""
    return servers_stuck(now=now)


def amount_mismatch_orders():
    """Orders flagged for staff (a captured payment that cannot pay them) and not yet handled."""
    return (
        Order.objects.filter(needs_attention=True, handled_at__isnull=True)
        .select_related("user")
        .order_by("updated_at", "id")
    )


def overdue_operations(now=None):
    """Server operations running past their expected time (servers.selectors owns the definition)."""
    return operations_overdue(now)


def failed_webhook_events():
    return WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).order_by("received_at", "id")


def ops_counts(now=None, *, orphaned=None) -> dict:
    """The counts shown on the admin index and the dashboard: one COUNT query
    each (three when the caller already counted the orphaned orders)."""
    return {
        "orphaned_orders": orphaned_orders().count() if orphaned is None else orphaned,
        "stuck_servers": servers_stuck(now=now).count(),
        "amount_mismatches": amount_mismatch_orders().count(),
        "failed_webhooks": failed_webhook_events().count(),
        "failed_operations": failed_operations().count(),
        "autopay_failed_week": debits_failed_this_week(now),
    }
