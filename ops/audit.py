"""The ledger audit: every paid or refunded order checked against the contract's
invariants, in a fixed number of statements whatever the number of orders.

- the payment that paid it was captured for the order's total, and the stored
  invoice says the same total;
- processed refunds of that payment = its credit notes ≤ the total;
- a full refund means a refunded order and (a `new` order) a terminated server;
- a paid `new` order has its server;
- a paid renewal of a terminated server keeps nothing for months not begun
  when the server was terminated (unless staff marked it handled);
- a paid, unrefunded upgrade's server runs its plan or a later one (lifecycle.plan_changes).
Each problem is alerted once (incident `ledger:<order>:<check>`) and resolved when
a later run no longer finds it; each run is kept for the staff dashboard.

The monthly pass (`monthly_for`, given by the command and the daily beat: the month
just closed, whose return is being filed): the checks that apps above billing
register in `monthly_checks` (reports: the GSTR-1 return against its documents, to
the paisa). Their problems are listed as "GSTR-1 YYYY-MM", one incident per check
and month (`monthly:<check>:<YYYY-MM>`), resolved when that month adds up again.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, IntegerField, OuterRef, Subquery, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils import timezone

from affiliates.selectors import commission_ledger_problems
from alerts.models import Incident
from alerts.services import incident_open, incident_resolve
from billing import pricing
from billing.models import CreditNote, LedgerAudit, Order, Payment, Refund
from core.streams import rows_streamed
from core.templatetags.money import months, rupees
from lifecycle.plan_changes import upgrade_ledger_problems

CHUNK = 2000
INCIDENT_PREFIX = "ledger:"
MONTHLY_PREFIX = "monthly:"
# name -> check(first day of a month) -> [problem]; filled by upper apps' AppConfig.ready().
monthly_checks: dict[str, Callable[[date], list[str]]] = {}


@dataclass
class AuditReport:
    orders_checked: int = 0
    problems: list = field(default_factory=list)  # {"order", "problem", "check"}

    def as_json(self) -> dict:
        return {
            "orders_checked": self.orders_checked,
            "problems": [{"order": p["order"], "problem": p["problem"]} for p in self.problems],
        }


def audited_orders():
    """Paid and refunded orders with the figures each check needs, in one statement."""
    paying_id = KeyTextTransform("captured_payment_id", OuterRef("payment_metadata"))
    paying = Payment.objects.filter(order=OuterRef("pk"), razorpay_payment_id=paying_id)
    processed = (
        Refund.objects.filter(
            payment__order=OuterRef("pk"), payment__razorpay_payment_id=paying_id, status=Refund.Status.PROCESSED
        )
        .values("payment__order")
        .annotate(total=Sum("amount_paise"))
        .values("total")
    )
    asked = (
        Refund.objects.filter(payment__order=OuterRef("pk"), payment__razorpay_payment_id=paying_id)
        .exclude(status=Refund.Status.FAILED)
        .values("payment__order")
        .annotate(total=Sum("amount_paise"))
        .values("total")
    )
    credited = CreditNote.objects.filter(order=OuterRef("pk")).values("order").annotate(total=Sum("amount_paise"))
    return (
        Order.objects.filter(status__in=[Order.Status.PAID, Order.Status.REFUNDED])
        .select_related("tax_invoice", "server")
        .annotate(
            paying_status=Subquery(paying.values("status")[:1]),
            paying_amount=Subquery(paying.values("amount_paise")[:1]),
            refunded=Coalesce(Subquery(processed, output_field=IntegerField()), 0),
            credited=Coalesce(Subquery(credited.values("total"), output_field=IntegerField()), 0),
            refund_asked=Coalesce(Subquery(asked, output_field=IntegerField()), 0),
            # A renewal: what it extended, and its server's state (joined, no statement more).
            renewed_server_status=F("renews_server__status"),
            renewed_server_since=F("renews_server__status_changed_at"),
            extension_start=F("extension__old_paid_until"),
            extension_months=F("extension__months"),
        )
        .order_by("pk")
    )


def order_problems(order) -> list[tuple[str, str]]:
    """(check, problem) pairs for one annotated order; empty when it is sound.
    The problems are read by staff (command, dashboard, alerts): money in rupees."""
    problems = []
    total = order.total_paise
    if order.paying_amount is None:
        problems.append(("payment", "no captured payment recorded for the order"))
    elif order.paying_status not in (Payment.Status.CAPTURED, Payment.Status.REFUNDED) or order.paying_amount != total:
        problems.append(
            (
                "payment",
                f"paying payment is {order.paying_status} for {rupees(order.paying_amount)}, "
                f"order total {rupees(total)}",
            )
        )
    invoice = getattr(order, "tax_invoice", None)
    if invoice is None:
        problems.append(("invoice", "no stored tax invoice"))
    elif invoice.total_paise != total:
        problems.append(("invoice", f"invoice total {rupees(invoice.total_paise)}, order total {rupees(total)}"))
    if order.refunded != order.credited:
        problems.append(
            ("credit-notes", f"processed refunds {rupees(order.refunded)}, credit notes {rupees(order.credited)}")
        )
    if order.refunded > total or order.credited > total:
        problems.append(
            (
                "over-refunded",
                f"refunded {rupees(order.refunded)} / credited {rupees(order.credited)} of {rupees(total)}",
            )
        )
    server = getattr(order, "server", None)
    is_new = getattr(order, "kind", "new") == "new"
    fully_refunded = order.refunded >= total
    if fully_refunded and order.status != Order.Status.REFUNDED:
        problems.append(("refund-status", "refunded in full but the order is still paid"))
    if order.status == Order.Status.REFUNDED and not fully_refunded:
        problems.append(
            ("refund-status", f"order refunded but only {rupees(order.refunded)} of {rupees(total)} returned")
        )
    if fully_refunded and is_new and server is not None and server.status != "terminated":
        problems.append(("server-running", f"refunded in full but server #{server.pk} is {server.status}"))
    if order.status == Order.Status.PAID and is_new and server is None:
        problems.append(("no-server", "paid new order without a server"))
    if kept := renewal_kept_after_termination(order):
        problems.append(("kept-after-termination", kept))
    return problems


def renewal_kept_after_termination(order) -> str:
    """Money a paid renewal keeps for months its terminated server will never have
    (issue 23): its whole months not begun when the server was terminated, less
    what was refunded or asked back; "" when none (or staff marked it handled)."""
    if (
        getattr(order, "kind", "new") != Order.Kind.RENEWAL
        or order.status != Order.Status.PAID
        or getattr(order, "renewed_server_status", None) != "terminated"
        or getattr(order, "extension_start", None) is None
        or order.handled_at is not None
    ):
        return ""
    unused = pricing.renewal_unused(
        order.total_paise,
        period_start=order.extension_start,
        months=order.extension_months,
        at=order.renewed_server_since,
    )
    kept = min(unused.paise, order.total_paise - order.refund_asked)
    if kept <= 0:
        return ""
    ended = timezone.localtime(order.renewed_server_since).strftime("%d %b %Y")
    return (
        f"server #{order.renews_server_id} terminated on {ended}; the renewal keeps {rupees(kept)} "
        f"for {unused.months} unused of its {months(order.extension_months)}: refund it"
    )


def ledger_audit(*, alert=True, monthly_for: date | None = None) -> AuditReport:
    """Check every paid or refunded order; record the run; alert each new problem
    and resolve the incidents of problems that are gone. Reads every order in one
    statement (a server-side cursor in one transaction, CHUNK rows at a time, also
    behind a transaction pooler; invoice and server joined, refund and credit-note
    sums as subqueries)."""
    report = AuditReport()
    with transaction.atomic():  # the stream's cursor lives in this transaction (core/streams.py)
        for order in rows_streamed(audited_orders(), chunk_size=CHUNK):
            report.orders_checked += 1
            for check, problem in order_problems(order):
                report.problems.append({"order": order.number, "problem": problem, "check": check})
    # Commissions: percent of the subtotal for every paid order of a referred customer, none for a refunded one.
    report.problems += [{**item, "check": "commission"} for item in commission_ledger_problems()]
    monthly = monthly_problems(monthly_for) if monthly_for else []
    report.problems += monthly
    # Upgrades: the server of every paid, unrefunded upgrade runs its plan or a later one.
    report.problems += [{**item, "check": "plan"} for item in upgrade_ledger_problems()]
    LedgerAudit.objects.create(orders_checked=report.orders_checked, problems=report.as_json()["problems"])
    if alert:
        ledger_incidents_sync(report)
        if monthly_for:
            monthly_incidents_sync(monthly_for, monthly)
    return report


def month_just_closed(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def monthly_problems(month: date) -> list[dict]:
    """The registered monthly checks of the month starting `month`."""
    return [
        {"order": f"{name} {month:%Y-%m}", "problem": problem, "check": name, "monthly": True}
        for name, check in monthly_checks.items()
        for problem in check(month)
    ]


def monthly_incidents_sync(month: date, problems: list[dict]):
    for name in monthly_checks:
        key = f"{MONTHLY_PREFIX}{name}:{month:%Y-%m}"
        found = [item["problem"] for item in problems if item["check"] == name]
        if found:
            incident_open(
                key,
                f"{name} {month:%Y-%m} does not add up",
                f"audit_ledger's monthly pass found: {'; '.join(found[:10])}.",
                link=f"{settings.SITE_URL}/admin/reports/gst/{month:%Y-%m}/",
            )
        else:
            incident_resolve(key, "audit_ledger's monthly pass finds it adds up")


def ledger_incidents_sync(report):
    found = set()
    for item in report.problems:
        if item.get("monthly"):
            continue  # monthly_incidents_sync
        key = f"{INCIDENT_PREFIX}{item['order']}:{item['check']}"
        found.add(key)
        incident_open(
            key,
            f"Ledger: order {item['order']}: {item['check']}",
            f"audit_ledger found on order {item['order']}: {item['problem']}.",
            link=f"{settings.SITE_URL}/admin/orphaned-orders/",
        )
    gone = Incident.objects.filter(key__startswith=INCIDENT_PREFIX, resolved_at__isnull=True).exclude(key__in=found)
    for key in gone.values_list("key", flat=True):
        incident_resolve(key, "audit_ledger no longer finds it")


def latest_audit():
    return LedgerAudit.objects.first()
