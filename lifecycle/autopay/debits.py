"""run_billing's autopay step: at most one debit per renewal order, whatever crashes,
retries or second runners happen.

A slice of due servers is locked with SKIP LOCKED (as every billing step) and each
renewal order gets its AutopayDebit row (OneToOne on the order) in that
transaction, before Razorpay is asked anything. Then, outside any transaction and
concurrently (Razorpay's answers are bounded by the SDK timeout):
  1. `ordering`: the debit's Razorpay order is made (with the customer); asking
     again after a crash only makes an order nobody pays;
  2. its id is written on the portal order and the debit becomes `asking`, under the
     order's lock, committed before the debit is asked: from here on it is never asked
     again; the order and the mandate are re-checked first (paid by hand, turned off);
  3. the debit is asked (payment.createRecurring); its answer makes it `requested`
     and sends the pre-debit notice, a refusal `failed` (the customer pays by hand).
A debit left `ordering` or `asking` past its lease (a runner died, or Razorpay's
answer was lost) is taken over by the next pass: `ordering` goes on from step 1,
`asking` is resolved by listing the order's payments at Razorpay, never by asking
again. Each slice costs a fixed number of statements, and two Razorpay calls per debit.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from billing.models import Order, OrderEvent
from billing.recurring import razorpay_contact
from core.sql import insert_many_unless_exist
from core.templatetags.money import months
from outbox.services import mails_queue_for_sweep
from payments.gateways import GatewayError, GatewayRejected, RecurringTerms, get_gateway

from . import mails
from .models import AutopayDebit, AutopayMandate

logger = logging.getLogger("lifecycle.autopay")

SOURCE = "run_billing"
# A runner's hold on its debits in flight: far longer than a slice's calls can take
# (a slice of 500 at the SDK's timeout over the workers), so a live runner keeps them.
LEASE = timedelta(minutes=10)
# Razorpay calls in flight at once: 10,000 debits are two calls each.
WORKERS = 16


def debit_due_servers(ctx):
    """Servers with an active mandate and an unpaid renewal with no debit yet, due
    within AUTOPAY_CHARGE_DAYS (and not past their termination day)."""
    from lifecycle.billing_day import billed_servers  # the billing day imports this step

    undebited = Order.objects.filter(
        renews_server_id=OuterRef("pk"), status=Order.Status.CREATED, autopay_debit__isnull=True
    )
    active = AutopayMandate.objects.filter(server_id=OuterRef("pk"), status=AutopayMandate.Status.ACTIVE)
    return (
        billed_servers()
        .filter(
            cancel_at_period_end=False,
            paid_until__lte=ctx.now + timedelta(days=settings.AUTOPAY_CHARGE_DAYS),
            paid_until__gt=ctx.terminate_before,
        )
        .filter(Exists(active), Exists(undebited))
    )


def autopay_debits_step(ctx, *, workers=WORKERS):
    """The step. A dry run lists what would be asked and asks nothing."""
    if ctx.report.dry_run:
        orders = Order.objects.filter(
            renews_server__in=debit_due_servers(ctx), status=Order.Status.CREATED, autopay_debit__isnull=True
        )
        limits = dict(
            AutopayMandate.objects.filter(status=AutopayMandate.Status.ACTIVE).values_list(
                "server_id", "max_amount_paise"
            )
        )
        ctx.report.autopay_requested += [o.number for o in orders if o.total_paise <= limits.get(o.renews_server_id, 0)]
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="autopay") as pool:
        debits_lost_resolve(ctx, pool)
        last_id = 0
        while True:
            claimed, last_id, full = debits_claim_slice(ctx, last_id)
            if claimed:
                debits_ask(claimed, ctx, pool)
            if not full:
                return


def debits_claim_slice(ctx, last_id):
    """Lock a slice of due servers and write each one's debit row (before any call).
    Returns (the new debits in flight, the slice's last server id, whether it was full)."""
    with transaction.atomic():
        servers = list(
            debit_due_servers(ctx)
            .filter(pk__gt=last_id)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)[: ctx.batch_size]
        )
        if not servers:
            return [], last_id, False
        ctx.report.slices += 1
        # Under the servers' locks an order's is taken only with SKIP LOCKED: one being paid is left.
        orders = list(
            Order.objects.filter(renews_server_id__in=servers, status=Order.Status.CREATED, autopay_debit__isnull=True)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
        )
        mandates = {
            m.server_id: m
            for m in AutopayMandate.objects.filter(server_id__in=servers, status=AutopayMandate.Status.ACTIVE)
        }
        rows, over_limit = [], []
        for order in orders:
            mandate = mandates.get(order.renews_server_id)
            if mandate is None:
                continue
            debit = AutopayDebit(order=order, mandate=mandate, amount_paise=order.total_paise)
            if order.total_paise > mandate.max_amount_paise:
                debit.status, debit.error = AutopayDebit.Status.OVER_LIMIT, "Above the mandate's max_amount"
                over_limit.append(mails.over_limit(order, order.user.email, mandate.max_amount_paise))
            else:
                debit.lease_until = ctx.now + LEASE
                debit.razorpay_order_id = order.razorpay_order_id or ""
            rows.append(debit)
        written = insert_many_unless_exist(rows, ("order",))
        mails_queue_for_sweep(over_limit)
        claimed = list(
            AutopayDebit.objects.filter(pk__in=written, status=AutopayDebit.Status.ORDERING).select_related(
                "order__user", "mandate"
            )
        )
    return claimed, servers[-1], len(servers) == ctx.batch_size


def debits_ask(debits, ctx, pool):
    """Steps 1 to 3 for debits this runner holds (ordering)."""
    gateway = get_gateway()
    need_order = [d for d in debits if not d.razorpay_order_id]
    made = dict(
        zip(
            [d.pk for d in need_order],
            pool.map(lambda d: call(debit_order_create, gateway, d), need_order),
            strict=False,
        )
    )
    asking = debits_mark_asking(debits, made, ctx)
    answers = list(pool.map(lambda d: call(debit_request, gateway, d), asking))
    debits_record_answers(asking, answers, ctx)


def call(fn, *args):
    """Run one gateway call in a worker thread; its error is the result."""
    try:
        return fn(*args)
    except GatewayError as exc:
        return exc


def debit_order_create(gateway, debit):
    order = debit.order
    return gateway.order_create(
        receipt=order.number,
        amount_paise=order.total_paise,
        currency=order.currency,
        notes={"order_number": order.number, "autopay": "1"},
        recurring=RecurringTerms(customer_id=debit.mandate.razorpay_customer_id),
    ).id


def debit_request(gateway, debit):
    order, mandate = debit.order, debit.mandate
    return gateway.payment_create_recurring(
        email=order.user.email,
        contact=razorpay_contact(mandate.contact),
        amount_paise=order.total_paise,
        currency=order.currency,
        order_id=debit.razorpay_order_id,
        customer_id=mandate.razorpay_customer_id,
        token_id=mandate.razorpay_token_id,
        description=f"Renewal {order.number}, {order.plan_name}, {months(order.billing_cycle_months)}",
        notes={"order": order.number},
    )


def debits_mark_asking(debits, made, ctx):
    """Step 2, in one transaction: the Razorpay order's id on the portal order (unless
    it has one), the order marked as debited (the funnel tells autopay of its payments),
    the debit `asking`. An order paid or being paid by hand, or a mandate ended
    meanwhile, withdraws the debit; a Razorpay order not made leaves it `ordering`
    with its lease run out, for the next pass. Returns the debits to ask."""
    now = ctx.now
    with transaction.atomic():
        orders = {
            o.pk: o
            for o in Order.objects.select_for_update(skip_locked=True, of=("self",)).filter(
                pk__in=[d.order_id for d in debits], status=Order.Status.CREATED
            )
        }
        active = set(
            AutopayMandate.objects.filter(
                pk__in=[d.mandate_id for d in debits], status=AutopayMandate.Status.ACTIVE
            ).values_list("pk", flat=True)
        )
        asking, changed_orders, events = [], [], []
        for debit in debits:
            order = orders.get(debit.order_id)
            razorpay_id = made.get(debit.pk, debit.razorpay_order_id)
            if order is None or debit.mandate_id not in active:
                debit.status, debit.lease_until = AutopayDebit.Status.WITHDRAWN, None
                debit.error = "Paid or being paid by hand" if order is None else "Autopay ended before the debit"
            elif isinstance(razorpay_id, Exception):
                debit.lease_until, debit.error = now, f"Razorpay order not made: {razorpay_id}"
            else:
                order.razorpay_order_id = order.razorpay_order_id or razorpay_id
                order.payment_metadata = {**order.payment_metadata, "autopay_debit": True}
                # Razorpay's capture window, and the reconciler's looks, run from the debit.
                order.payable_from, order.reconcile_checks, order.reconcile_next_at = now, 0, None
                order.updated_at = now
                changed_orders.append(order)
                events.append(
                    OrderEvent(
                        order=order,
                        kind="autopay_debit",
                        source=SOURCE,
                        data={"razorpay_order_id": order.razorpay_order_id},
                    )
                )
                debit.order.razorpay_order_id = debit.razorpay_order_id = order.razorpay_order_id
                debit.status, debit.lease_until, debit.error = AutopayDebit.Status.ASKING, now + LEASE, ""
                asking.append(debit)
            debit.updated_at = now
        Order.objects.bulk_update(
            changed_orders,
            [
                "razorpay_order_id",
                "payment_metadata",
                "payable_from",
                "reconcile_checks",
                "reconcile_next_at",
                "updated_at",
            ],
        )
        OrderEvent.objects.bulk_create(events)
        AutopayDebit.objects.bulk_update(debits, ["status", "razorpay_order_id", "lease_until", "error", "updated_at"])
    return asking


def debits_record_answers(asking, answers, ctx):
    """Step 3's answers: `requested` (with the pre-debit notice), `failed` on a refusal
    (nothing was debited: the customer is mailed to pay by hand), or, for an unknown
    outcome, left `asking` with its lease run out: the next pass looks it up."""
    requested, failed = {}, {}
    for debit, answer in zip(asking, answers, strict=True):
        if isinstance(answer, GatewayRejected):
            failed[debit.pk] = str(answer)
        elif isinstance(answer, Exception):
            logger.warning("autopay_debit_answer_lost order=%s error=%s", debit.order.number, answer)
        else:
            requested[debit.pk] = answer
    debits_settle_asked(asking, requested, failed, ctx)
    lost = [d.pk for d in asking if d.pk not in requested and d.pk not in failed]
    if lost:
        AutopayDebit.objects.filter(pk__in=lost, status=AutopayDebit.Status.ASKING).update(lease_until=ctx.now)


def debits_settle_asked(debits, requested, failed, ctx):
    """Write what became of asked debits (payment ids or refusals), in one transaction.
    A debit the payment's webhook already settled (captured, failed) keeps that."""
    if not requested and not failed:
        return
    now = ctx.now
    by_pk = {d.pk: d for d in debits}
    with transaction.atomic():
        rows = list(
            AutopayDebit.objects.select_for_update().filter(
                pk__in=[*requested, *failed],
                status__in=[AutopayDebit.Status.ASKING, AutopayDebit.Status.CAPTURED, AutopayDebit.Status.FAILED],
            )
        )
        notices = []
        for row in rows:
            order = by_pk[row.pk].order
            if row.pk in requested:
                row.razorpay_payment_id = row.razorpay_payment_id or requested[row.pk]
                if row.status == AutopayDebit.Status.ASKING:
                    row.status = AutopayDebit.Status.REQUESTED
                notices.append(mails.pre_debit_notice(order, order.user.email, now=now))
                ctx.report.autopay_requested.append(order.number)
            elif row.status == AutopayDebit.Status.ASKING:
                row.status, row.error = AutopayDebit.Status.FAILED, failed[row.pk]
                notices.append(mails.debit_failed(order, order.user.email))
            row.asked_at, row.lease_until, row.updated_at = now, None, now
        AutopayDebit.objects.bulk_update(
            rows, ["status", "razorpay_payment_id", "error", "asked_at", "lease_until", "updated_at"]
        )
        mails_queue_for_sweep(notices)
    failed_orders = [by_pk[row.pk].order_id for row in rows if row.status == AutopayDebit.Status.FAILED]
    if failed_orders:
        orders_mark_debit_failed(failed_orders)


def orders_mark_debit_failed(order_ids):
    """The orders' pages no longer say a debit is in progress. After the debits'
    transaction: the funnel locks an order before its debit, never the other way."""
    with transaction.atomic():
        for order in Order.objects.select_for_update().filter(pk__in=order_ids, status=Order.Status.CREATED):
            order.payment_metadata = {**order.payment_metadata, "autopay_debit": "failed"}
            order.save(update_fields=["payment_metadata", "updated_at"])


def debits_lost_resolve(ctx, pool):
    """Debits in flight past their lease: `ordering` ones go on (no debit was asked);
    `asking` ones are looked up among their order's payments at Razorpay: found, it
    was asked (requested); not there, it is failed and never asked again."""
    last_id = 0
    gateway = get_gateway()
    while True:
        with transaction.atomic():
            stale = list(
                AutopayDebit.objects.filter(pk__gt=last_id, status__in=AutopayDebit.IN_FLIGHT, lease_until__lt=ctx.now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("order__user", "mandate")
                .order_by("pk")[: ctx.batch_size]
            )
            if not stale:
                return
            last_id = stale[-1].pk
            AutopayDebit.objects.filter(pk__in=[d.pk for d in stale]).update(lease_until=ctx.now + LEASE)
        ordering = [d for d in stale if d.status == AutopayDebit.Status.ORDERING]
        if ordering:
            debits_ask(ordering, ctx, pool)
        asking = [d for d in stale if d.status == AutopayDebit.Status.ASKING]
        listed = list(pool.map(lambda d: call(gateway.order_payments, d.razorpay_order_id), asking))
        requested, failed = {}, {}
        for debit, payments in zip(asking, listed, strict=True):
            if isinstance(payments, Exception):
                logger.warning("autopay_debit_lookup_failed order=%s error=%s", debit.order.number, payments)
                continue
            mine = [p for p in payments if p.token_id == debit.mandate.razorpay_token_id]
            if mine:
                requested[debit.pk] = mine[0].id
            else:
                failed[debit.pk] = "Razorpay has no debit for this order after its answer was lost; not asked again"
        debits_settle_asked(asking, requested, failed, ctx)
        if len(stale) < ctx.batch_size:
            return
