"""The dangerous staff actions offered where staff look (an order's or a server's
admin page). Each has its own permission, a confirmation page with a required
reason, and calls the one service that owns the change; `run` records it in the
staff audit (security.audit) in the same transaction. Terminate and requeue also
want a fresh authentication code. Nothing is decided here: `unavailable` only
hides a button that could not work, and the services re-check under their row locks.
The same definitions serve one object (its admin page's buttons, backoffice.views)
and many (the admin list actions, backoffice.list_actions).

Refunds are not here: the order page's Refund button opens the `refund_orders`
admin action (billing/admin.py), the one refund page, with its own confirmation."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from billing.models import Order
from ops.recovery import stuck_server_requeue
from ops.services import ActionRefused, order_mark_handled
from security.audit import staff_action_record
from security.second_factor import CODE_FIELD, second_factor_fresh
from servers.models import Server
from servers.operations import OperationRefused, server_suspend, server_terminate, server_unsuspend


class StaffActionRefused(Exception):
    """The service refused or found nothing to do; the message is for staff."""


@dataclass(frozen=True)
class StaffAction:
    key: str  # in the URL: /admin/actions/<model>/<pk>/<key>/
    label: str
    model: type
    permission: str  # app_label.codename, checked with user.has_perm
    explains: str  # what happens, said on the confirmation page
    unavailable: Callable  # obj -> None when it can be done, else why not
    perform: Callable  # (obj, *, reason, actor) -> message for staff; raises StaffActionRefused
    # Destroying a machine or rerunning provisioning asks for a new authentication code,
    # whatever the session proved earlier (security.second_factor_fresh).
    fresh_second_factor: bool = False

    @property
    def model_name(self):
        return self.model._meta.model_name


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


def server_operation(decide, done, *, already=None, quick=None):
    """A lifecycle decision (servers.operations) as a staff action. The decision
    returns no operation either because it was already taken (`already`: refused,
    nothing new happened) or because nothing was left to do on the machine
    (`quick`: done all the same)."""

    def perform(server, *, reason, actor):
        try:
            operation = decide(server.pk, source="admin", actor=actor, note=reason)
        except OperationRefused as exc:
            raise StaffActionRefused(str(exc)) from exc
        if operation is None and already:
            raise StaffActionRefused(already.format(server=server))
        return (done if operation is not None else quick).format(server=server)

    return perform


def suspend(server_id, **kwargs):
    return server_suspend(server_id, reason=Server.SuspensionReason.STAFF, **kwargs)


def not_flagged(order):
    if not order.needs_attention:
        return "The order is not flagged."
    if order.handled_at is not None:
        return "The order was already marked handled."
    return None


def not_stuck(server):
    waiting = (Server.Status.PENDING, Server.Status.PROVISIONING, Server.Status.FAILED)
    return None if server.status in waiting else f"The server is {server.get_status_display().lower()}."


def not_suspendable(server):
    if server.suspension_reason == Server.SuspensionReason.STAFF:
        return "The server is already suspended by staff."
    if server.status != Server.Status.ACTIVE and not server.suspension_reason:
        return f"Only an active server can be suspended; this one is {server.get_status_display().lower()}."
    return None


def not_suspended(server):
    if not server.suspension_reason and server.status != Server.Status.SUSPENDED:
        return "The server is not suspended."
    return None


def not_terminable(server):
    return "The server is already terminated." if server.status == Server.Status.TERMINATED else None


ACTIONS = [
    StaffAction(
        key="mark-handled",
        label="Mark handled",
        model=Order,
        permission="billing.mark_order_handled",
        explains="Records that you dealt with this flagged order: who, when and why. The flag stays in its history.",
        unavailable=not_flagged,
        perform=mark_handled,
    ),
    StaffAction(
        key="requeue",
        label="Requeue provisioning",
        model=Server,
        permission="servers.requeue_server",
        explains="Sends a stuck or failed server back to pending and queues its provisioning again.",
        unavailable=not_stuck,
        perform=requeue,
        fresh_second_factor=True,
    ),
    StaffAction(
        key="suspend",
        label="Suspend",
        model=Server,
        permission="servers.suspend_server",
        explains="Stops the customer's machine and marks the server suspended by staff: only staff can lift it, "
        "paying a renewal does not.",
        unavailable=not_suspendable,
        perform=server_operation(
            suspend,
            "Server #{server.pk}: suspension decided; the machine is being stopped.",
            quick="Server #{server.pk}: now suspended by staff (it was suspended as overdue); only staff can lift it.",
        ),
    ),
    StaffAction(
        key="unsuspend",
        label="Unsuspend",
        model=Server,
        permission="servers.suspend_server",
        explains="Lifts the suspension, whatever its reason, and starts the machine again.",
        unavailable=not_suspended,
        perform=server_operation(
            server_unsuspend,
            "Server #{server.pk}: suspension lifted; the machine is being started.",
            quick="Server #{server.pk}: suspension lifted before its machine was stopped.",
        ),
    ),
    StaffAction(
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
    ),
]


def find(model_name, key):
    return next((a for a in ACTIONS if a.model_name == model_name and a.key == key), None)


def offered(obj, user):
    """The actions for `obj` this user may take, each with why it cannot be done now (or None)."""
    return [
        (action, action.unavailable(obj))
        for action in ACTIONS
        if isinstance(obj, action.model) and user.has_perm(action.permission)
    ]


def run(action, obj, *, reason, request):
    """Carry out a confirmed action as the signed-in staff member and record it in the
    staff audit (who, when, from which address, what, why) in the same transaction:
    a refused action leaves no record, a done one always has its record."""
    with transaction.atomic():
        message = action.perform(obj, reason=reason, actor=request.user)
        staff_action_record(
            action.permission, target=obj, request=request, via="admin", reason=reason, details={"action": action.key}
        )
    return message


def confirmation_problem(action, request):
    """Why a confirmation POST may not go ahead (for staff), or None: a reason is
    required, and a fresh authentication code where the action wants one. Checked
    once per confirmation, however many objects it is for: a code is good once."""
    if not request.POST.get("reason", "").strip():
        return "Say why: the reason is kept with the action."
    if action.fresh_second_factor and not second_factor_fresh(request, request.POST.get(CODE_FIELD)):
        return "Enter a fresh code from your authenticator app: this action needs one each time."
    return None


@dataclass(frozen=True)
class Outcome:
    obj: object
    done: bool
    message: str  # for staff: what was done, or why not


def run_each(action, objects, *, reason, request):
    """`run` for each object in turn, each in its own transaction: one that cannot
    be done now (`unavailable`) or that its service refuses is reported and the
    others still go ahead. One Outcome an object, in the order given."""
    outcomes = []
    for obj in objects:
        why = action.unavailable(obj)
        if why is None:
            try:
                outcomes.append(Outcome(obj, True, run(action, obj, reason=reason, request=request)))
                continue
            except StaffActionRefused as exc:
                why = str(exc)
        outcomes.append(Outcome(obj, False, why))
    return outcomes
