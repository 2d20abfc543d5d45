"""The staff actions servers owns (security.staff_actions): suspend, unsuspend,
terminate a server, and retry a failed operation. Each calls the one lifecycle
decision in servers.operations; the framework checks permission, reason and fresh
code and writes the audit row in the decision's transaction. Nothing is decided
here: `unavailable` only hides a button that could not work, and the decisions
re-check under their row locks."""

from django.utils import timezone

from security.staff_actions import Done, StaffActionDefinition, StaffActionRefused

from .forms import UnsuspendForm, overdue
from .models import Server, ServerOperation
from .operations import OperationRefused, operation_retry, server_suspend, server_terminate, server_unsuspend


def server_operation(decide, done, *, already=None, quick=None):
    """A lifecycle decision as a staff action. The decision returns no operation
    either because it was already taken (`already`: refused, nothing new happened)
    or because nothing was left to do on the machine (`quick`: done all the same)."""

    def perform(server, *, reason, actor, **params):
        try:
            operation = decide(server.pk, source="admin", actor=actor, note=reason, **params)
        except OperationRefused as exc:
            raise StaffActionRefused(str(exc)) from exc
        if operation is None and already:
            raise StaffActionRefused(already.format(server=server))
        return (done if operation is not None else quick).format(server=server)

    return perform


def suspend_by_staff(server_id, **kwargs):
    return server_suspend(server_id, reason=Server.SuspensionReason.STAFF, **kwargs)


def not_suspendable(server):
    if server.suspension_reason == Server.SuspensionReason.STAFF:
        return "The server is already suspended by staff."
    if server.status != Server.Status.ACTIVE and not server.suspension_reason:
        return f"Only an active server can be suspended; this one is {server.get_status_display().lower()}."
    return None


def not_suspended(server, **params):
    if not server.suspension_reason and server.status != Server.Status.SUSPENDED:
        return "The server is not suspended."
    return None


def unsuspend_describe(server):
    """What lifting this suspension will lead to, said on the confirmation page."""
    if overdue(server):
        return (
            f"Renewal unpaid since {timezone.localtime(server.paid_until):%d %b %Y}: without a grace date the next "
            "billing run (within the hour) suspends it again; with one, it runs until the end of that day, "
            "then is suspended again unless the renewal is paid."
        )
    if server.paid_until is not None:
        return (
            f"Paid until {timezone.localtime(server.paid_until):%d %b %Y}: it stays running; billing goes on as usual."
        )
    return "It stays running."


def not_terminable(server):
    return "The server is already terminated." if server.status == Server.Status.TERMINATED else None


def not_retryable(operation):
    if operation.status != ServerOperation.Status.FAILED:
        return f"Operation #{operation.pk} is {operation.get_status_display().lower()}, not failed."
    return None


def retry(operation, *, reason, actor):
    retried = operation_retry(operation.pk, actor=actor)
    if retried is None:
        raise StaffActionRefused(f"#{operation.pk}: not retried (its server has moved on).")
    return Done(f"#{operation.pk}: retried as #{retried.pk}.", {"operation": operation.pk, "retry": retried.pk})


SUSPEND = StaffActionDefinition(
    key="suspend",
    label="Suspend",
    model=Server,
    permission="servers.suspend_server",
    explains="Stops the customer's machine and marks the server suspended by staff: only staff can lift it, "
    "paying a renewal does not.",
    unavailable=not_suspendable,
    perform=server_operation(
        suspend_by_staff,
        "Server #{server.pk}: suspension decided; the machine is being stopped.",
        quick="Server #{server.pk}: now suspended by staff (it was suspended as overdue); only staff can lift it.",
    ),
)
UNSUSPEND = StaffActionDefinition(
    key="unsuspend",
    label="Unsuspend",
    model=Server,
    permission="servers.suspend_server",
    explains="Lifts the suspension, whatever its reason, and starts the machine again. A server whose renewal is "
    "unpaid past its suspension day needs a grace date, which the billing run respects.",
    unavailable=not_suspended,
    form=UnsuspendForm,
    describe=unsuspend_describe,
    perform=server_operation(
        server_unsuspend,
        "Server #{server.pk}: suspension lifted; the machine is being started.",
        quick="Server #{server.pk}: suspension lifted before its machine was stopped.",
    ),
)
TERMINATE = StaffActionDefinition(
    key="terminate",
    label="Terminate",
    model=Server,
    permission="servers.terminate_server",
    explains="Destroys the customer's machine and its data for good and cancels its unpaid renewal. "
    "This cannot be undone; it refunds nothing (refund from the order page).",
    unavailable=not_terminable,
    perform=server_operation(
        server_terminate,
        "Server #{server.pk}: termination decided; the machine is being destroyed.",
        already="Server #{server.pk}: termination was already decided.",
    ),
    fresh_second_factor=True,
)
# A failed operation may be a destroy: retrying it is a termination, so it asks what
# Terminate asks (both permissions, a reason and a fresh code), whatever its kind.
RETRY = StaffActionDefinition(
    key="retry",
    label="Retry",
    model=ServerOperation,
    permission="servers.terminate_server",
    extra_permissions=("servers.suspend_server",),
    explains="Tries each failed operation again as a new one (the same stop, start or destroy), unless its "
    "server has had another operation since. Retrying a destroy destroys the machine and its data for good.",
    unavailable=not_retryable,
    perform=retry,
    fresh_second_factor=True,
    audit_target=lambda operation: operation.server,
)

DEFINITIONS = [SUSPEND, UNSUSPEND, TERMINATE, RETRY]
