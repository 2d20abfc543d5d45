"""A paid renewal order extends its server (called by the payment funnel).

The extension is a RenewalExtension row whose OneToOne on the order is the
database's guarantee that one renewal order extends one server once: the row
is inserted with ON CONFLICT DO NOTHING, and only the insert that wrote it
moves paid_until, from the old due date (never from the day of payment).
"""

import logging

from django.contrib.auth import get_user_model
from django.utils import timezone

from core.sql import insert_unless_exists, select_row, update_row

from .mails import renewal_paid_mail_queue
from .models import RenewalExtension, Server
from .operations import server_event, server_unsuspend, termination_decided
from .periods import period_end

logger = logging.getLogger("servers.renewals")


def renewal_extend(order, *, source, actor=None) -> tuple[Server, str]:
    """Apply the paid renewal `order` to its server, under the server's row lock
    (the caller holds the order's, and commits both together). Returns the server
    and what happened: "extended", "already_extended", or "server_terminated" (a
    renewal paid for a server terminated or being terminated: nothing is revived;
    the caller flags the payment for a refund). A server suspended `overdue` is
    brought back (a start is queued); a `staff` suspension stays."""
    server = select_row(Server, for_update=True, id=order.renews_server_id)
    # For the mail's address only (the order's user is the server's), by a kept statement.
    server.user = select_row(get_user_model(), fields=("email",), id=order.user_id)
    if server.status == Server.Status.TERMINATED or termination_decided(server.pk):
        return server, "server_terminated"
    old = server.paid_until or order.paid_at or timezone.now()
    extension = RenewalExtension(
        order=order,
        server=server,
        months=order.billing_cycle_months,
        old_paid_until=old,
        new_paid_until=period_end(old, order.billing_cycle_months),
        source=source,
    )
    if not insert_unless_exists(extension, "order"):
        return server, "already_extended"
    server.paid_until, server.billing_cycle_months = extension.new_paid_until, order.billing_cycle_months
    update_row(server, ("paid_until", "billing_cycle_months", "updated_at"))
    server_event(
        server.pk,
        "renewed",
        source=source,
        actor=actor,
        note=f"Order {order.number}: paid until {timezone.localtime(extension.new_paid_until):%d %b %Y}",
    )
    renewal_paid_mail_queue(order, server)
    if server.suspension_reason == Server.SuspensionReason.OVERDUE:
        server_unsuspend(server.pk, source=source, actor=actor, note=f"Renewal {order.number} paid")
    logger.info("renewal_extended server=%s order=%s paid_until=%s", server.pk, order.number, server.paid_until)
    return server, "extended"
