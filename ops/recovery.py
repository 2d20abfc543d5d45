"""Recovery of orphaned orders and stuck servers.

One service for `manage.py recover_servers`, the staff dashboard and the
periodic task. It is safe beside itself, live payments and provisioning
workers: every item is claimed under its row lock with SKIP LOCKED (someone
else holding the row means someone else is dealing with it), re-checked under
that lock, and the unique Server.order constraint is the last guard against a
second server for an order. Every action leaves an OrderEvent (and, for a
status change, a ServerStatusChange) naming the source and the staff user.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from billing.models import Order
from billing.services import order_event
from servers.models import Server
from servers.operations import operation_enqueue
from servers.selectors import operations_overdue, stuck
from servers.services import attempt_abandon, provisioning_enqueue, server_create_for_paid_order, server_transition

from . import selectors

logger = logging.getLogger("ops.recovery")


class UnknownOrders(LookupError):
    """Order numbers asked for by name that do not exist."""

    def __init__(self, numbers):
        self.numbers = sorted(numbers)
        super().__init__("No such order: " + ", ".join(self.numbers))


@dataclass
class RecoveryReport:
    dry_run: bool
    orphaned_orders: list = field(default_factory=list)  # order numbers
    stuck_servers: list = field(default_factory=list)  # server ids
    created: list = field(default_factory=list)  # {"order", "server"}
    requeued: list = field(default_factory=list)  # server ids
    errors: list = field(default_factory=list)  # {"order", "error"}
    skipped: list = field(default_factory=list)  # {"order", "reason"}: handled elsewhere meanwhile
    # Server operations running past their expected time (ids), and those of them handed
    # to a worker again because their lease had run out (the worker holding it is gone).
    overdue_operations: list = field(default_factory=list)
    operations_requeued: list = field(default_factory=list)
    # The rows behind the lists, for a readable table; not part of the JSON.
    order_rows: list = field(default_factory=list, repr=False)
    server_rows: list = field(default_factory=list, repr=False)
    operation_rows: list = field(default_factory=list, repr=False)

    def as_json(self) -> dict:
        """The shape `recover_servers --json` prints (CONTRACT: Ops commands), plus
        `overdue_operations` and `operations_requeued` when any operation is overdue
        (added keys: the contract's six are always there, unchanged)."""
        body = {
            "dry_run": self.dry_run,
            "orphaned_orders": self.orphaned_orders,
            "stuck_servers": self.stuck_servers,
            "created": self.created,
            "requeued": self.requeued,
            "errors": self.errors,
        }
        if self.overdue_operations:
            body.update(overdue_operations=self.overdue_operations, operations_requeued=self.operations_requeued)
        return body

    @property
    def has_work(self) -> bool:
        return bool(self.orphaned_orders or self.stuck_servers or self.overdue_operations)


def recovery_plan(order_numbers=None, *, include_stuck=True, now=None) -> RecoveryReport:
    """What recovery would do now, writing nothing. Raises UnknownOrders for a
    named order that does not exist (a named order that is fine is simply not listed)."""
    orders = selectors.orphaned_orders()
    servers = selectors.stuck_servers(now=now) if include_stuck else Server.objects.none()
    operations = operations_overdue(now) if include_stuck else operations_overdue(now).none()
    if order_numbers:
        numbers = set(order_numbers)
        missing = numbers - set(Order.objects.filter(number__in=numbers).values_list("number", flat=True))
        if missing:
            raise UnknownOrders(missing)
        orders = orders.filter(number__in=numbers)
        servers = servers.filter(order__number__in=numbers)
        operations = operations.filter(server__order__number__in=numbers)
    order_rows, server_rows, operation_rows = list(orders), list(servers), list(operations)
    return RecoveryReport(
        dry_run=True,
        orphaned_orders=[order.number for order in order_rows],
        stuck_servers=[server.pk for server in server_rows],
        overdue_operations=[operation.pk for operation in operation_rows],
        order_rows=order_rows,
        server_rows=server_rows,
        operation_rows=operation_rows,
    )


def recovery_execute(plan: RecoveryReport, *, source, actor=None) -> RecoveryReport:
    """Act on exactly the items of a plan, each in its own transaction: one
    failing item is reported in `errors` and the rest still run."""
    report = RecoveryReport(
        dry_run=False,
        orphaned_orders=plan.orphaned_orders,
        stuck_servers=plan.stuck_servers,
        overdue_operations=plan.overdue_operations,
        order_rows=plan.order_rows,
        server_rows=plan.server_rows,
        operation_rows=plan.operation_rows,
    )
    for number in plan.orphaned_orders:
        try:
            server = orphaned_order_recover(number, source=source, actor=actor)
        except Exception as exc:  # noqa: BLE001 - logged with traceback and reported; the others must still run
            logger.exception("recover_failed order=%s source=%s", number, source)
            report.errors.append({"order": number, "error": f"{type(exc).__name__}: {exc}"})
            continue
        if server is None:
            report.skipped.append({"order": number, "reason": "no longer orphaned, or being handled by another run"})
        else:
            report.created.append({"order": number, "server": server.pk})
    order_numbers = {server.pk: server.order.number for server in plan.server_rows}
    for server_id in plan.stuck_servers:
        number = order_numbers.get(server_id, "")
        try:
            requeued = stuck_server_requeue(server_id, source=source, actor=actor)
        except Exception as exc:  # noqa: BLE001 - as above
            logger.exception("requeue_failed server=%s source=%s", server_id, source)
            report.errors.append({"order": number, "error": f"server {server_id}: {type(exc).__name__}: {exc}"})
            continue
        if requeued:
            report.requeued.append(server_id)
        else:
            report.skipped.append({"order": number, "reason": f"server {server_id} is no longer stuck"})
    now = timezone.now()
    for operation in plan.operation_rows:
        # Only a lease that ran out is handed on: the claim takes it over (compare-and-set);
        # one still renewed belongs to a live worker whose backend call is slow.
        if operation.lease_until < now and operation_enqueue(operation.pk):
            report.operations_requeued.append(operation.pk)
    logger.info(
        "recovery source=%s created=%d requeued=%d errors=%d skipped=%d",
        source,
        len(report.created),
        len(report.requeued),
        len(report.errors),
        len(report.skipped),
    )
    return report


def recover(order_numbers=None, *, source, actor=None, include_stuck=True) -> RecoveryReport:
    """Find and repair in one go (the periodic task and the dashboard's "recover")."""
    return recovery_execute(recovery_plan(order_numbers, include_stuck=include_stuck), source=source, actor=actor)


def orphaned_order_recover(number, *, source, actor=None):
    """Give a paid order with no server its server, built from the order's own
    snapshot, and queue provisioning after commit.

    Returns the new Server, or None when there is nothing to do: the order is
    not paid, already has a server, or its row is locked by a concurrent
    recovery or payment (SKIP LOCKED: that transaction is dealing with it).
    """
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(skip_locked=True)
            .filter(number=number, status=Order.Status.PAID, kind=Order.Kind.NEW)
            .first()
        )
        if order is None or Server.objects.filter(order_id=order.pk).exists():
            return None
        server = server_create_for_paid_order(order, source=source, actor=actor)
        order_event(
            order,
            "server_recovered",
            source=source,
            actor=actor,
            message=f"Paid order had no server; server #{server.pk} created from the order's snapshot",
            data={"server": server.pk},
        )
    return server


def stuck_server_requeue(server_id, *, source, actor=None, now=None) -> bool:
    """Send a stuck server back to provisioning: failed, or provisioning with an
    expired lease, -> pending (with a ServerStatusChange), then queue its task
    after commit. A provisioning server whose attempt holds a live lease is
    never stuck, so never requeued: its worker is still building it.

    Returns False when the server is locked by a worker or another run, or is
    no longer stuck when re-checked under the lock. The move out of
    provisioning is also a compare-and-set on the lease, so of many concurrent
    requeues and takeovers of one expired lease exactly one starts an attempt.
    """
    now = now or timezone.now()
    with transaction.atomic():
        server = Server.objects.filter(stuck(now), pk=server_id).select_for_update(skip_locked=True).first()
        if server is None:
            return False
        previous, expired_attempt = server.status, server.provisioning_attempts
        if previous != Server.Status.PENDING and not server_transition(
            server,
            Server.Status.PENDING,
            source=source,
            actor=actor,
            note=f"Requeued by {source} from {previous}",
            lease_expired_at=now,
        ):
            return False  # a worker moved it first (compare-and-set); it is not ours to requeue
        if previous == Server.Status.PROVISIONING:
            attempt_abandon(server.pk, expired_attempt, f"Lease expired; requeued by {source}", now=now)
        order_event(
            server.order,
            "provisioning_requeued",
            source=source,
            actor=actor,
            message=f"Server #{server.pk} requeued for provisioning (was {previous})",
            data={"server": server.pk, "from_status": previous},
        )
        transaction.on_commit(lambda: provisioning_enqueue(server.pk))
    return True
