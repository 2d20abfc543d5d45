"""The staff actions ops owns (security.staff_actions): mark a flagged order
handled, and requeue a stuck server's provisioning. The dashboard, the object
pages and the admin lists all run these through the framework, which writes the
audit row in the service's transaction."""

from billing.models import Order
from security.staff_actions import StaffActionDefinition, StaffActionRefused
from servers.models import Server

from .recovery import stuck_server_requeue
from .services import ActionRefused, order_mark_handled


def mark_handled(order, *, reason, actor):
    try:
        order_mark_handled(number=order.number, actor=actor, reason=reason)
    except ActionRefused as exc:
        raise StaffActionRefused(str(exc)) from exc
    return f"Order {order.number} marked handled."


def requeue(server, *, reason, actor):
    if not stuck_server_requeue(server.pk, source="admin", actor=actor):
        raise StaffActionRefused(f"Server #{server.pk} is not stuck (or a worker holds it); nothing done.")
    return f"Server #{server.pk} requeued for provisioning."


def not_flagged(order):
    if not order.needs_attention:
        return "The order is not flagged."
    if order.handled_at is not None:
        return "The order was already marked handled."
    return None


def not_stuck(server):
    waiting = (Server.Status.PENDING, Server.Status.PROVISIONING, Server.Status.FAILED)
    return None if server.status in waiting else f"The server is {server.get_status_display().lower()}."


MARK_HANDLED = StaffActionDefinition(
    key="mark-handled",
    label="Mark handled",
    model=Order,
    permission="billing.mark_order_handled",
    explains="Records that you dealt with this flagged order: who, when and why. The flag stays in its history.",
    unavailable=not_flagged,
    perform=mark_handled,
)
REQUEUE = StaffActionDefinition(
    key="requeue",
    label="Requeue provisioning",
    model=Server,
    permission="servers.requeue_server",
    explains="Sends a stuck or failed server back to pending and queues its provisioning again.",
    unavailable=not_stuck,
    perform=requeue,
    fresh_second_factor=True,
)

DEFINITIONS = [MARK_HANDLED, REQUEUE]
