"""The billing day (`run_billing`): a list of small steps, each safe to re-run.

A server step selects the servers it is due for, locks a bounded slice of them
(`SELECT ... FOR UPDATE SKIP LOCKED`, keyset by id: a server another runner or a
payment holds is left for them), re-checks each under the lock, and writes its
decisions for the whole slice in a fixed number of statements. If a slice fails,
it is done again server by server, so one failing server is reported and the
others go on. Mail and backend work go out after commit.

To add a step (affiliates adds "approve commissions past their hold"), append a
callable taking a `BillingContext` to STEPS; a server step is a `ServerStep`.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from billing.models import Order
from servers.models import Server
from servers.operations import suspensions_decide, terminations_decide
from servers.selectors import termination_failed, termination_open, unpaid_renewals

from .autopay.debits import autopay_debits_step
from .autopay.mandates import autopay_mandates_step
from .models import Reminder
from .plan_changes import downgrades_apply, downgrades_due
from .reminders import reminders_record, reminders_unsent
from .renewals import renewal_order_build, renewals_issued_history

logger = logging.getLogger("lifecycle.billing")

BATCH_SIZE = 500
SOURCE = "run_billing"
BILLED = (Server.Status.ACTIVE, Server.Status.SUSPENDED)  # servers that run on a paid period


@dataclass
class BillingReport:
    dry_run: bool = False
    renewals_created: list = field(default_factory=list)
    reminders_sent: int = 0
    suspended: list = field(default_factory=list)
    terminated: list = field(default_factory=list)
    autopay_requested: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    # Further steps' own results (e.g. affiliates' approved commissions), merged into the JSON.
    extra: dict = field(default_factory=dict)
    # Locked slices that had servers to decide about (for the benchmark and the log; not in the JSON).
    slices: int = 0

    def as_json(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "renewals_created": self.renewals_created,
            "reminders_sent": self.reminders_sent,
            "suspended": self.suspended,
            "terminated": self.terminated,
            "autopay_requested": self.autopay_requested,
            "errors": self.errors,
            **self.extra,
        }

    def merge(self, other: "BillingReport"):
        self.renewals_created += other.renewals_created
        self.reminders_sent += other.reminders_sent
        self.suspended += other.suspended
        self.terminated += other.terminated
        self.autopay_requested += other.autopay_requested
        self.errors += other.errors
        self.slices += other.slices
        for key, value in other.extra.items():
            self.extra[key] = self.extra.get(key, 0 if isinstance(value, int) else []) + value


@dataclass
class BillingContext:
    now: object
    report: BillingReport
    batch_size: int = BATCH_SIZE

    @property
    def renewal_from(self):  # due dates up to this get their renewal issued
        return self.now + timedelta(days=settings.RENEWAL_NOTICE_DAYS)

    @property
    def suspend_before(self):  # due dates before this are past their suspension day
        return self.now - timedelta(days=settings.SUSPEND_AFTER_DAYS)

    @property
    def terminate_before(self):  # ... and past their termination day
        return self.now - timedelta(days=settings.TERMINATE_AFTER_DAYS)


@dataclass(frozen=True)
class ServerStep:
    """`select(ctx)`: the servers due (a queryset, not yet locked); `handle(servers, ctx,
    report)`: the decisions for a locked slice, in a fixed number of statements."""

    name: str
    select: Callable[[BillingContext], QuerySet]
    handle: Callable[[list, BillingContext, BillingReport], None]

    def __call__(self, ctx: BillingContext):
        last_id = 0
        while True:
            with transaction.atomic():
                batch = list(
                    self.select(ctx)
                    .filter(pk__gt=last_id)
                    .select_for_update(skip_locked=True, of=("self",))
                    .order_by("pk")[: ctx.batch_size]
                )
                if not batch:
                    return
                last_id = batch[-1].pk
                self.run_batch(batch, ctx)
            if len(batch) < ctx.batch_size:
                return

    def run_batch(self, batch, ctx):
        ctx.report.slices += 1
        result = BillingReport()
        try:
            with transaction.atomic():
                self.handle(batch, ctx, result)
        except Exception:  # noqa: BLE001 - retried one by one below, each failure reported
            logger.warning(
                "billing_batch_failed step=%s first=%s size=%d; one by one", self.name, batch[0].pk, len(batch)
            )
            result = BillingReport()
            for server in batch:
                one = BillingReport()
                try:
                    with transaction.atomic():
                        self.handle([server], ctx, one)
                except Exception as exc:  # noqa: BLE001 - reported in the JSON, logged with its traceback
                    logger.exception("billing_step_failed step=%s server=%s", self.name, server.pk)
                    one = BillingReport(errors=[{"server": server.pk, "error": f"{self.name}: {exc}"}])
                result.merge(one)
        ctx.report.merge(result)


def billed_servers():
    return Server.objects.filter(status__in=BILLED, paid_until__isnull=False).filter(~Exists(termination_open()))


# --- Renewals ------------------------------------------------------------------------


def renewals_due(ctx):
    """Due within RENEWAL_NOTICE_DAYS, not cancelled, no unpaid renewal, not past the termination day."""
    return (
        billed_servers()
        .filter(cancel_at_period_end=False, paid_until__lte=ctx.renewal_from, paid_until__gt=ctx.terminate_before)
        .filter(~Exists(unpaid_renewals(OuterRef("pk"))))
        .select_related("order", "plan", "plan_change_to", "user")
    )


def renewals_issue(servers, ctx, report):
    orders = Order.objects.bulk_create([renewal_order_build(server, server.billing_cycle_months) for server in servers])
    renewals_issued_history(orders, servers, source=SOURCE)
    by_server = {order.renews_server_id: order.pk for order in orders}
    report.reminders_sent += len(reminders_record(servers, Reminder.Kind.RENEWAL_ISSUED, orders_by_server=by_server))
    report.renewals_created += [order.number for order in orders]


# --- Reminders -----------------------------------------------------------------------


def due_tomorrow(ctx):
    sent = Reminder.objects.filter(
        server_id=OuterRef("pk"), kind=Reminder.Kind.DUE_TOMORROW, paid_until=OuterRef("paid_until")
    )
    return (
        billed_servers()
        .filter(cancel_at_period_end=False, paid_until__gt=ctx.now, paid_until__lte=ctx.now + timedelta(days=1))
        .filter(Exists(unpaid_renewals(OuterRef("pk"))), ~Exists(sent))
    )


def due_tomorrow_remind(servers, ctx, report):
    unpaid = unpaid_renewals([server.pk for server in servers]).values_list("renews_server_id", "pk")
    report.reminders_sent += len(reminders_record(servers, Reminder.Kind.DUE_TOMORROW, orders_by_server=dict(unpaid)))


# --- Suspension and termination ------------------------------------------------------------


def in_grace(ctx):
    """Staff lifted an overdue suspension with a grace date not yet reached (Server.grace_until)."""
    return Q(grace_until__gt=ctx.now)


def overdue_to_suspend(ctx):
    return (
        billed_servers()
        .filter(
            Q(status=Server.Status.ACTIVE, suspension_reason=Server.SuspensionReason.NONE, cancel_at_period_end=False),
            paid_until__lte=ctx.suspend_before,
            paid_until__gt=ctx.terminate_before,
        )
        .exclude(in_grace(ctx))
    )


def overdue_suspend(servers, ctx, report):
    suspensions_decide(servers, reason=Server.SuspensionReason.OVERDUE, source=SOURCE, note="Renewal unpaid")
    report.reminders_sent += len(reminders_record(servers, Reminder.Kind.SUSPENDED))
    report.suspended += [server.pk for server in servers]


def to_terminate():
    """Billed servers not being terminated, and whose destroy has not failed for good:
    that one waits for staff's retry (deciding it again every hour would alert every hour)."""
    return billed_servers().filter(~Exists(termination_failed()))


def overdue_to_terminate(ctx):
    return to_terminate().filter(paid_until__lte=ctx.terminate_before).exclude(in_grace(ctx))


def cancelled_to_terminate(ctx):
    return to_terminate().filter(cancel_at_period_end=True, paid_until__lte=ctx.now)


def terminate(note):
    def handle(servers, ctx, report):
        terminations_decide(servers, source=SOURCE, note=note)
        report.reminders_sent += len(reminders_record(servers, Reminder.Kind.TERMINATED))
        report.terminated += [server.pk for server in servers]

    return handle


# The billing day, in order: one pass does every step that is due for a server.
STEPS: list = [
    ServerStep("downgrades", downgrades_due, downgrades_apply),
    ServerStep("renewals", renewals_due, renewals_issue),
    ServerStep("due_tomorrow", due_tomorrow, due_tomorrow_remind),
    autopay_mandates_step,
    autopay_debits_step,
    ServerStep("suspend_overdue", overdue_to_suspend, overdue_suspend),
    ServerStep("terminate_overdue", overdue_to_terminate, terminate("Renewal unpaid past the termination day")),
    ServerStep("terminate_cancelled", cancelled_to_terminate, terminate("Cancelled at period end")),
    reminders_unsent,
    # affiliates appends "approve commissions past their hold" from its ready().
]


def billing_run(*, now=None, dry_run=False, batch_size=BATCH_SIZE, steps=None) -> BillingReport:
    """One pass of every step. Idempotent: a second pass finds nothing more to do.
    `dry_run` does the whole pass in a transaction that is rolled back: the report
    says exactly what a real pass would do, and nothing is written or sent."""
    ctx = BillingContext(now=now or timezone.now(), report=BillingReport(dry_run=dry_run), batch_size=batch_size)
    steps = STEPS if steps is None else steps
    if dry_run:
        with transaction.atomic():
            for step in steps:
                step(ctx)
            transaction.set_rollback(True)
    else:
        for step in steps:  # each slice commits on its own: bounded transactions, mail after each
            step(ctx)
    logger.info(
        "billing_run dry_run=%s renewals=%d reminders=%d suspended=%d terminated=%d autopay=%d errors=%d slices=%d",
        dry_run,
        len(ctx.report.renewals_created),
        ctx.report.reminders_sent,
        len(ctx.report.suspended),
        len(ctx.report.terminated),
        len(ctx.report.autopay_requested),
        len(ctx.report.errors),
        ctx.report.slices,
    )
    return ctx.report
