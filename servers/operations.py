"""Decisions about a machine and the worker that carries them out.

A decision (suspend, unsuspend, terminate, a power action) is taken under the
server's row lock, re-checked there, and written as a ServerOperation row in
the same transaction; after commit its task is queued. The worker claims the
row with a lease (a deadline; only an expired lease is taken over; core.claims),
calls the provisioning backend outside any transaction while a heartbeat keeps
the lease alive (so a worker that vanished is replaced within one short lease),
and only then, under the lock
again, moves the server: `suspended` and `terminated` are written once the
machine really is stopped or destroyed. Transient backend errors are retried
with backoff; the final failure alerts staff and leaves the server as it is.

Lock order: callers that hold an order's lock (the payment funnel, refunds)
take the server's after it; nothing here waits for an order's lock while
holding a server's (unpaid renewals are cancelled with SKIP LOCKED).
"""

import dataclasses
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from alerts.services import incident_open, incident_resolve
from billing.models import Order, OrderEvent
from core.claims import OPERATION_RETRIES, LeaseHeartbeat, claim, lease_deadline
from core.queueing import BULK_PRIORITY, enqueue
from core.sql import insert_row
from sshkeys.services import order_ssh_key_installed

from .mails import server_operation_mail_queue
from .models import PlanChange, Server, ServerEvent, ServerOperation
from .prepaid import renewals_unused_flag
from .provisioning import ProvisioningPermanentError, ProvisioningTransientError, get_backend
from .selectors import termination_decided, unpaid_renewals
from .services import server_spec, server_transition

logger = logging.getLogger("servers.operations")

Op = ServerOperation
# Retries and backoff: core.claims.OPERATION_RETRIES. The lease is short
# (SERVER_OPERATION_LEASE_SECONDS) and renewed by a heartbeat while the backend works.
# Queued operations whose task never ran (broker down, worker lost) are queued again after this.
REQUEUE_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 200
POWER_ACTIONS = (Op.Action.STOP, Op.Action.START, Op.Action.REBOOT)
# Work nobody is waiting for at this moment (a billing day's stops and destroys) goes
# behind what a customer is waiting for (an unsuspend after paying, a power action).
BULK_PURPOSES = (Op.Purpose.SUSPEND, Op.Purpose.TERMINATE)


class OperationRefused(ValueError):
    """The decision cannot be taken for this server in its present state (the message says why)."""


def server_locked(server_id) -> Server:
    server = Server.objects.select_for_update().filter(pk=server_id).first()
    if server is None:
        raise OperationRefused(f"No server #{server_id}")
    return server


def server_event(server_id, kind, *, source, actor=None, note="") -> ServerEvent:
    event = ServerEvent(server_id=server_id, kind=kind, source=source, actor=actor, note=note)
    insert_row(event)  # a kept statement: a renewal's payment writes one
    return event


def server_events(servers, kind, *, source, actor=None, note="", notes=()):
    """One timeline row per server, in one INSERT; `notes`, when given, is each
    server's own note, in the same order as `servers`."""
    notes = list(notes) or [note] * len(servers)
    ServerEvent.objects.bulk_create(
        [
            ServerEvent(server_id=server.pk, kind=kind, source=source, actor=actor, note=text)
            for server, text in zip(servers, notes, strict=True)
        ]
    )


def operations_queue(servers, action, purpose, *, source, actor=None, note="") -> list[ServerOperation]:
    """Write one operation row per server (caller holds their locks), in one INSERT,
    and hand them to the worker after commit with one publish."""
    operations = ServerOperation.objects.bulk_create(
        [
            ServerOperation(server=server, action=action, purpose=purpose, source=source, actor=actor, note=note)
            for server in servers
        ]
    )
    ids = [operation.pk for operation in operations]
    if ids:
        transaction.on_commit(lambda: operations_dispatch(ids, bulk=purpose in BULK_PURPOSES))
    return operations


def operations_open(server_id):
    return ServerOperation.objects.filter(server_id=server_id, status__in=Op.OPEN)


# --- Decisions --------------------------------------------------------------------
# Each public decision locks one server and re-checks it; the *_decide functions do
# the writes for a list of servers already locked and checked, in a fixed number of
# statements (run_billing calls them with a batch).


def suspensions_decide(servers, *, reason, source, actor=None, note="") -> list[ServerOperation]:
    """Write `suspension_reason` and queue a stop for each locked, active server."""
    Server.objects.filter(pk__in=[server.pk for server in servers]).update(
        suspension_reason=reason, updated_at=timezone.now()
    )
    for server in servers:
        server.suspension_reason = reason
    server_events(servers, "suspend_decided", source=source, actor=actor, note=f"{reason}: {note}".strip(": "))
    return operations_queue(servers, Op.Action.STOP, Op.Purpose.SUSPEND, source=source, actor=actor, note=note)


def terminations_decide(servers, *, source, actor=None, note="") -> list[ServerOperation]:
    """Queue the destroy of each locked server not yet being terminated, cancel its
    operations that have not started and its unpaid renewal orders, and flag its
    paid renewals' months not begun for a refund (prepaid.renewals_unused_flag).
    A renewal being paid at this very moment is skipped (SKIP LOCKED): its payment
    then finds the termination and is flagged for a refund."""
    ids = [server.pk for server in servers]
    ServerOperation.objects.filter(server_id__in=ids, status=Op.Status.QUEUED).update(
        status=Op.Status.CANCELLED, finished_at=timezone.now(), last_error="Server terminated"
    )
    renewals = list(unpaid_renewals(ids).select_for_update(skip_locked=True))
    renewal_orders_cancel(renewals, source=source, actor=actor, reason="Server terminated")
    renewals_unused_flag(servers, at=timezone.now(), source=source)  # prepaid months not begun: refund them
    server_events(servers, "terminate_decided", source=source, actor=actor, note=note)
    return operations_queue(servers, Op.Action.DESTROY, Op.Purpose.TERMINATE, source=source, actor=actor, note=note)


def renewal_orders_cancel(orders, *, source, actor=None, reason=""):
    """created -> cancelled for locked unpaid renewal orders, with their history rows, in two statements."""
    if not orders:
        return
    now = timezone.now()
    Order.objects.filter(pk__in=[order.pk for order in orders], status=Order.Status.CREATED).update(
        status=Order.Status.CANCELLED, updated_at=now
    )
    OrderEvent.objects.bulk_create(
        [
            OrderEvent(
                order=order, kind="status", source=source, actor=actor, message=reason,
                from_status=Order.Status.CREATED, to_status=Order.Status.CANCELLED,
            )
            for order in orders
        ]
    )  # fmt: skip
    for order in orders:
        order.status, order.updated_at = Order.Status.CANCELLED, now


def server_suspend(server_id, *, reason, source, actor=None, note="") -> ServerOperation | None:
    """Decide to suspend an active server: writes `suspension_reason` and queues a
    stop. Idempotent: a server already suspended (or being suspended) gets no
    second stop; a staff suspension replaces an overdue one (staff then lift it).
    Returns the new operation, or None when nothing more was needed.
    Raises OperationRefused for a server that is not active (or is being terminated)."""
    reason = Server.SuspensionReason(reason)
    if reason == Server.SuspensionReason.NONE:
        raise OperationRefused("A suspension needs a reason")
    with transaction.atomic():
        server = server_locked(server_id)
        if server.suspension_reason:
            if reason == Server.SuspensionReason.STAFF and server.suspension_reason != reason:
                server.suspension_reason = reason
                server.save(update_fields=["suspension_reason", "updated_at"])
                server_event(server.pk, "suspension_reason", source=source, actor=actor, note=f"staff: {note}".strip())
            return None
        if server.status != Server.Status.ACTIVE or termination_decided(server.pk):
            raise OperationRefused(f"Server #{server.pk} is {server.status}; only an active server can be suspended")
        [operation] = suspensions_decide([server], reason=reason, source=source, actor=actor, note=note)
        return operation


def server_unsuspend(server_id, *, source, actor=None, note="", grace_until=None) -> ServerOperation | None:
    """Lift a suspension (callers check who may lift which reason: paying lifts
    only `overdue`). Clears `suspension_reason`; a stop that has not started yet is
    cancelled (the machine never stopped), otherwise a start is queued after it.
    `grace_until` (staff lifting an overdue suspension): run_billing leaves the
    server alone until then. Idempotent: a server not suspended gets nothing.
    Returns the start operation or None."""
    with transaction.atomic():
        server = server_locked(server_id)
        if not server.suspension_reason and server.status != Server.Status.SUSPENDED:
            return None
        if server.status == Server.Status.TERMINATED or termination_decided(server.pk):
            raise OperationRefused(f"Server #{server.pk} is terminated or being terminated")
        server.suspension_reason = Server.SuspensionReason.NONE
        fields = ["suspension_reason", "updated_at"]
        if grace_until is not None:
            server.grace_until = grace_until
            fields.append("grace_until")
            note = f"{note} (grace until {timezone.localtime(grace_until):%d %b %Y %H:%M})".strip()
        server.save(update_fields=fields)
        server_event(server.pk, "unsuspend_decided", source=source, actor=actor, note=note)
        cancelled = (
            operations_open(server.pk)
            .filter(purpose=Op.Purpose.SUSPEND, status=Op.Status.QUEUED)
            .update(status=Op.Status.CANCELLED, finished_at=timezone.now(), last_error="Suspension lifted first")
        )
        if cancelled and server.status == Server.Status.ACTIVE:
            return None
        [operation] = operations_queue(
            [server], Op.Action.START, Op.Purpose.UNSUSPEND, source=source, actor=actor, note=note
        )
        return operation


def server_terminate(server_id, *, source, actor=None, note="") -> ServerOperation | None:
    """Decide to terminate a server (terminations_decide): the destroy is queued
    once per server (a database constraint). Returns the destroy operation, or
    None when termination was already decided or done. A server being built now
    is decided on too: no new attempt starts once the decision is written, and
    the destroy waits for the running one to end (operation_claim)."""
    with transaction.atomic():
        server = server_locked(server_id)
        if server.status == Server.Status.TERMINATED or termination_decided(server.pk):
            return None
        [operation] = terminations_decide([server], source=source, actor=actor, note=note)
        return operation


def server_power(server_id, *, action, source, actor=None, note="") -> ServerOperation:
    """Queue a stop, start or reboot of an active server's machine (the customer's
    power actions); `power_state` follows once the backend has done it.
    Raises OperationRefused unless the server is active and not being suspended or terminated."""
    action = Op.Action(action)
    if action not in POWER_ACTIONS:
        raise OperationRefused(f"{action} is not a power action")
    with transaction.atomic():
        server = server_locked(server_id)
        if server.status != Server.Status.ACTIVE or server.suspension_reason or termination_decided(server.pk):
            raise OperationRefused(f"Server #{server.pk} is {server.status}; power actions need an active server")
        [operation] = operations_queue([server], action, Op.Purpose.POWER, source=source, actor=actor, note=note)
        return operation


def resize_decide(server, *, to_plan, from_plan, source, actor=None, note="") -> ServerOperation:
    """Queue the resize of a locked server's machine to `to_plan`. The caller has moved
    `Server.plan` already (the plan it runs, as far as billing goes); should the resize
    finally fail, the server goes back to `from_plan` (operation_fail)."""
    operation = ServerOperation(
        server=server, action=Op.Action.RESIZE, purpose=Op.Purpose.PLAN, plan=to_plan, from_plan=from_plan,
        source=source, actor=actor, note=note or f"{from_plan.name} → {to_plan.name}",
    )  # fmt: skip
    operation.save()
    transaction.on_commit(lambda: operations_dispatch([operation.pk]))
    return operation


def operation_retry(operation_id, *, actor=None) -> ServerOperation | None:
    """Staff: try a failed operation again as a new one (same action and purpose),
    unless its server has had another operation since. Returns the new one or None.
    A failed resize is not retried here: its server went back to its plan when it
    failed, so it is a new plan change (or the upgrade's refund), not a retry."""
    with transaction.atomic():
        failed = ServerOperation.objects.filter(pk=operation_id, status=Op.Status.FAILED).first()
        if failed is None or failed.action == Op.Action.RESIZE:
            return None
        server = server_locked(failed.server_id)
        if (
            server.status == Server.Status.TERMINATED
            or ServerOperation.objects.filter(server_id=server.pk, pk__gt=failed.pk).exists()
        ):
            return None
        [operation] = operations_queue(
            [server], failed.action, failed.purpose, source="admin", actor=actor, note=f"Retry of #{failed.pk}"
        )
        return operation


# --- The worker ---------------------------------------------------------------------


def operation_enqueue(operation_id, *, bulk=False) -> bool:
    """Queue one operation's task; `bulk` work goes behind what customers wait for."""
    from .tasks import run_server_operation  # tasks import this module

    return enqueue(run_server_operation, operation_id, priority=BULK_PRIORITY if bulk else None)


def operations_dispatch(operation_ids, *, bulk=False) -> bool:
    """One publish for any number of new operations: a single one goes straight to
    its task, a batch (run_billing) to a task that queues each. A lost publish is
    the sweeper's (the rows are written)."""
    from .tasks import dispatch_server_operations

    if len(operation_ids) == 1:
        return operation_enqueue(operation_ids[0], bulk=bulk)
    return enqueue(
        dispatch_server_operations, list(operation_ids), bulk=bulk, priority=BULK_PRIORITY if bulk else None
    )


def operation_lease_seconds() -> float:
    return settings.SERVER_OPERATION_LEASE_SECONDS


def operation_claim(operation_id, now=None):
    """Claim an operation for this worker: a queued one, or a running one whose
    lease has expired, and only when no older operation of its server is still
    open (a server's operations run in order). Under the server's lock, by
    compare-and-set (core.claims.claim): sets `running`, the lease deadline and
    the attempt count. A takeover counts as an attempt, so an operation whose
    worker keeps dying fails once its budget is spent instead of running for
    ever. Returns the claimed operation, or None (done, someone else's lease,
    waiting its turn, or failed now for want of attempts)."""
    now = now or timezone.now()
    with transaction.atomic():
        operation = ServerOperation.objects.filter(pk=operation_id).first()
        if operation is None or operation.status not in Op.OPEN:
            return None
        server = server_locked(operation.server_id)
        operation.refresh_from_db()
        if operation.status == Op.Status.RUNNING and operation.lease_until > now:
            return None
        if operation.status not in Op.OPEN:
            return None
        if operations_open(server.pk).filter(pk__lt=operation.pk).exists():
            return None  # the older one's completion queues this one
        if operation.action == Op.Action.DESTROY and server.status == Server.Status.PROVISIONING:
            return None  # an attempt that began before the decision is still building: the sweeper brings us back
        if operation.status == Op.Status.RUNNING and OPERATION_RETRIES.spent(operation.attempts):
            operation_fail(operation, f"Its worker was lost during each of {operation.attempts} attempt(s)")
            return None
        claimable = Q(status=Op.Status.QUEUED) | Q(status=Op.Status.RUNNING, lease_until__lt=now)
        if not claim(
            ServerOperation.objects.filter(pk=operation.pk, attempts=operation.attempts),
            claimable,
            lease_until=lease_deadline(operation_lease_seconds(), now),
            status=Op.Status.RUNNING,
            claimed_at=timezone.now(),
        ):
            return None
        operation.refresh_from_db()
    operation.server = server
    return operation


def operation_run(operation_id, *, now=None, final_attempt=False) -> ServerOperation | None:
    """Carry out one operation through the backend (the task's body).

    Returns the operation as it ended this run, or None if it was not ours to run.
    A transient error puts it back in the queue, due after the backoff, and is
    raised for the task to retry; a permanent error, or a transient one on the
    last attempt (OPERATION_RETRIES, or `final_attempt` when the task's own retry
    budget is spent), fails it and alerts staff."""
    operation = operation_claim(operation_id, now)
    if operation is None:
        return None
    server = operation.server
    # The machine: the provider's id, else the tag it was made with; a resize's target size.
    spec = server_spec(server, size_of=operation.plan if operation.action == Op.Action.RESIZE else None)
    if operation.action == Op.Action.ADD_KEY:  # the one key to install, as decided (servers.ssh_keys)
        spec = dataclasses.replace(spec, ssh_keys=(operation.public_key,))
    backend = get_backend()
    logger.info(
        "operation_step step=claim operation=%s server=%s action=%s attempt=%s",
        operation.pk,
        server.pk,
        operation.action,
        operation.attempts,
    )
    ours = ServerOperation.objects.filter(pk=operation.pk, status=Op.Status.RUNNING, attempts=operation.attempts)
    try:
        with LeaseHeartbeat(ours, seconds=operation_lease_seconds()):
            getattr(backend, operation.action)(spec)
    except ProvisioningTransientError as exc:
        if final_attempt or OPERATION_RETRIES.spent(operation.attempts):
            return operation_fail(operation, f"Gave up after {operation.attempts} attempt(s); last error: {exc}")
        operation_retry_later(operation, exc)
        raise
    except ProvisioningPermanentError as exc:
        return operation_fail(operation, str(exc))
    except Exception as exc:  # noqa: BLE001 - an unforeseen error must fail loudly, not leave the lease to expire
        logger.exception("operation_unexpected_error operation=%s", operation.pk)
        return operation_fail(operation, f"Unexpected {type(exc).__name__}: {exc}")
    return operation_succeed(operation)


def operation_still_ours(operation) -> bool:
    """Re-read under the server's lock: still running with our attempt number (not taken over)."""
    server_locked(operation.server_id)
    current = ServerOperation.objects.get(pk=operation.pk)
    if current.status != Op.Status.RUNNING or current.attempts != operation.attempts:
        logger.warning(
            "operation_result_unused operation=%s attempt=%s now=%s/%s",
            operation.pk,
            operation.attempts,
            current.status,
            current.attempts,
        )
        return False
    return True


def operation_retry_later(operation, exc):
    with transaction.atomic():
        if not operation_still_ours(operation):
            return
        delay = OPERATION_RETRIES.delay_seconds(operation.attempts)
        ServerOperation.objects.filter(pk=operation.pk).update(
            status=Op.Status.QUEUED, lease_until=None, due_at=timezone.now() + timedelta(seconds=delay),
            last_error=str(exc),
        )  # fmt: skip
    logger.warning(
        "operation_retry operation=%s attempt=%s in=%ss error=%r", operation.pk, operation.attempts, delay, str(exc)
    )


# What each purpose does to the server once the backend has done its part.
def operation_effect(operation, server):
    source, note = "worker", f"{operation.action} done (operation #{operation.pk})"
    power = (
        Server.PowerState.STOPPED
        if operation.action in (Op.Action.STOP, Op.Action.DESTROY)
        else Server.PowerState.RUNNING
    )
    if operation.purpose == Op.Purpose.TERMINATE:
        if server.can_transition_to(Server.Status.TERMINATED):
            server_transition(server, Server.Status.TERMINATED, source=source, note=note, power_state=power)
    elif operation.purpose == Op.Purpose.SUSPEND and server.status == Server.Status.ACTIVE:
        server_transition(server, Server.Status.SUSPENDED, source=source, note=note, power_state=power)
    elif operation.purpose == Op.Purpose.UNSUSPEND and server.status == Server.Status.SUSPENDED:
        server_transition(server, Server.Status.ACTIVE, source=source, note=note, power_state=power)
    elif operation.purpose == Op.Purpose.SSH_KEY:
        key = order_ssh_key_installed(server.order_id, operation.public_key, owner=server.user)
        server_event(server.pk, "ssh_key_added", source=source, note=f"{key.name} {key.fingerprint}")
    elif operation.action == Op.Action.RESIZE:
        # The backend leaves a resized machine as it found it (running, or stopped by the customer).
        server_event(server.pk, "resized", source=source, note=operation.note)
    else:
        Server.objects.filter(pk=server.pk).update(power_state=power, updated_at=timezone.now())
        server_event(server.pk, f"power_{operation.action}", source=source, note=note)


def operation_succeed(operation) -> ServerOperation:
    with transaction.atomic():
        if not operation_still_ours(operation):
            return operation
        server = Server.objects.select_related("user").get(pk=operation.server_id)
        operation_effect(operation, server)
        server_operation_mail_queue(operation, server)
        operation.status, operation.finished_at, operation.lease_until = Op.Status.SUCCEEDED, timezone.now(), None
        operation.save(update_fields=["status", "finished_at", "lease_until"])
        earlier_failures_resolve(operation)
        operation_queue_next(server.pk)
    logger.info("operation_step step=done operation=%s server=%s action=%s", operation.pk, server.pk, operation.action)
    return operation


def earlier_failures_resolve(operation):
    """A retry that succeeded closes the incidents of the failed attempts at the same purpose."""
    failed = ServerOperation.objects.filter(
        server_id=operation.server_id, purpose=operation.purpose, status=Op.Status.FAILED, pk__lt=operation.pk
    ).values_list("pk", flat=True)
    for failed_id in failed:
        incident_resolve(f"server-operation:{failed_id}", f"Operation #{operation.pk} did it ({operation.action}).")


def operation_queue_next(server_id):
    """After one of a server's operations ends, the next one waiting its turn is queued."""
    following = operations_open(server_id).filter(status=Op.Status.QUEUED).order_by("pk").first()
    if following is not None:
        transaction.on_commit(lambda: operation_enqueue(following.pk, bulk=following.purpose in BULK_PURPOSES))


def operation_fail(operation, reason) -> ServerOperation:
    """Final failure: the operation is failed, the server stays as the machine is
    (nothing is marked suspended or terminated that was not stopped or destroyed),
    staff are alerted once, and the server's next operation may run."""
    with transaction.atomic():
        if not operation_still_ours(operation):
            return operation
        operation.status, operation.finished_at, operation.lease_until = Op.Status.FAILED, timezone.now(), None
        operation.last_error = reason
        operation.save(update_fields=["status", "finished_at", "lease_until", "last_error"])
        server = Server.objects.select_related("order__user").get(pk=operation.server_id)
        Server.objects.filter(pk=server.pk).update(last_error=reason, updated_at=timezone.now())
        server_event(server.pk, "operation_failed", source="worker", note=f"{operation.action}: {reason}")
        if operation.action == Op.Action.RESIZE:
            reason += resize_failed_move_back(operation, server)
        incident_open(
            f"server-operation:{operation.pk}",
            f"Could not {operation.action} server #{server.pk} ({operation.purpose})",
            f"Operation #{operation.pk}: {operation.action} for {operation.purpose}, decided by {operation.source}\n"
            f"Server: #{server.pk} {server} ({server.status})\n"
            f"Customer: {server.order.user.email}\n"
            f"Attempts: {operation.attempts}\nError: {reason}",
            link=f"{settings.SITE_URL}/admin/servers/serveroperation/{operation.pk}/change/",
        )
        operation_queue_next(server.pk)
    logger.error("operation_failed operation=%s server=%s reason=%r", operation.pk, server.pk, reason)
    return operation


def resize_failed_move_back(operation, server) -> str:
    """A resize that finally failed leaves the machine as it was: the server goes back
    to the plan it ran before, so it is never marked as a machine it does not have.
    Caller holds the server's lock. Returns what to tell staff."""
    if server.plan_id != operation.plan_id or operation.from_plan_id is None:
        return ""
    server.plan_id = operation.from_plan_id
    Server.objects.filter(pk=server.pk).update(plan_id=operation.from_plan_id, updated_at=timezone.now())
    PlanChange.objects.create(
        server=server, from_plan_id=operation.plan_id, to_plan_id=operation.from_plan_id,
        kind=PlanChange.Kind.RESIZE_FAILED, source="worker", note=f"Operation #{operation.pk}: {operation.last_error}",
    )  # fmt: skip
    server_event(server.pk, "plan_moved_back", source="worker", note=f"Resize failed: back to {operation.from_plan}")
    return f"\nThe server is back on {operation.from_plan} (its machine was not resized): refund or try again."


def operations_sweep(now=None) -> int:
    """The safety net (every minute): queue again the operations whose task never
    ran (queued and due for more than REQUEUE_AFTER) and those whose lease expired
    (a worker that died mid-call), what customers wait for first. Returns how many were queued."""
    now = now or timezone.now()
    stale = Q(status=Op.Status.QUEUED, due_at__lt=now - REQUEUE_AFTER) | Q(
        status=Op.Status.RUNNING, lease_until__lt=now
    )
    bulk = Case(When(purpose__in=BULK_PURPOSES, then=Value(True)), default=Value(False))
    rows = ServerOperation.objects.filter(stale).annotate(bulk=bulk).order_by("bulk", "pk").values_list("pk", "bulk")
    queued = 0
    for operation_id, is_bulk in rows[:SWEEP_BATCH]:
        if not operation_enqueue(operation_id, bulk=is_bulk):
            break
        queued += 1
    return queued
