"""Reads for the reports pages: a few aggregate statements each, whatever the size."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from billing import pricing
from billing.models import CreditNote, HostingPlan, Order, TaxInvoice
from core.templatetags.money import rupees
from servers.models import RenewalExtension, Server, ServerStatusChange

from .charts import bar_chart, legend
from .gstr1 import INVOICED_STATUSES, SECTIONS, Figures, previous_month
from .gstr1_check import documents_totals

SECTION_NAMES = {
    "b2b": "B2B: invoices to GSTIN buyers",
    "b2cl": "B2CL: large inter-state invoices without GSTIN",
    "b2cs": "B2CS: other invoices without GSTIN, less their credit notes",
    "cdnr": "CDNR: credit notes to GSTIN buyers",
    "cdnur": "CDNUR: credit notes on B2CL invoices",
    "hsn": "Net: invoices less credit notes (HSN/SAC summary)",
}


@dataclass(frozen=True)
class HeadChange:
    name: str
    this_month: int
    last_month: int

    @property
    def change(self) -> int:
        return self.this_month - self.last_month

    @property
    def percent(self) -> str:
        if not self.last_month:
            return "new" if self.this_month else "—"
        tenths = (self.change * 1000 + (self.last_month // 2)) // self.last_month  # half-up, in tenths of a percent
        return f"{'+' if tenths > 0 else ''}{tenths / 10:.1f}%"


def gst_month(first: date) -> dict:
    """The GST page: each section's counts and sums for the month, and the tax heads
    against the month before. Four aggregate statements."""
    this, last = documents_totals(first), documents_totals(previous_month(first))
    sections = [(name, SECTION_NAMES[name], this[name], this["documents"].get(name)) for name in SECTIONS]
    net, net_before = this["hsn"], last["hsn"]
    heads = [
        HeadChange("Taxable value", net.txval, net_before.txval),
        HeadChange("IGST", net.iamt, net_before.iamt),
        HeadChange("CGST", net.camt, net_before.camt),
        HeadChange("SGST", net.samt, net_before.samt),
        HeadChange("Total tax", tax_of(net), tax_of(net_before)),
    ]
    return {"sections": sections, "heads": heads, "net": net}


def tax_of(figures: Figures) -> int:
    return figures.iamt + figures.camt + figures.samt


# --- The business reports (/admin/reports/) ---------------------------------------

MONTHS_SHOWN = 12


@dataclass
class Report:
    """One figure: its numbers as a table (rows of `labels`, one column per series),
    the chart drawn from `chart_columns`, and a CSV of the same table."""

    key: str
    title: str
    note: str
    label_heading: str
    labels: list
    columns: list  # [(name, [int per label])]
    money: bool
    chart_columns: tuple = ()
    stacked: bool = True
    headline: str = ""
    count_columns: tuple = ()  # columns of counts in a money report

    def rows(self):
        """[(label, [(value, is_money) per column])]."""
        kinds = [self.money and number not in self.count_columns for number in range(len(self.columns))]
        return [
            (label, [(values[i], is_money) for (_, values), is_money in zip(self.columns, kinds, strict=True)])
            for i, label in enumerate(self.labels)
        ]

    def chart(self):
        chosen = [self.columns[i] for i in self.chart_columns] if self.chart_columns else self.columns
        return bar_chart(self.title, self.labels, chosen, money=self.money, stacked=self.stacked)

    def legend(self):
        chosen = [self.columns[i] for i in self.chart_columns] if self.chart_columns else self.columns
        return legend([name for name, _ in chosen])


def months_ending(today: date, count: int = MONTHS_SHOWN) -> list[date]:
    months = [today.replace(day=1)]
    while len(months) < count:
        months.insert(0, previous_month(months[0]))
    return months


def month_label(first: date) -> str:
    return f"{first:%b %y}"


def start_of(first: date):
    """The aware start of a month in the portal's time zone."""
    return timezone.make_aware(datetime.combine(first, time.min))


def by_month(rows, months, value_key="n", month_key="month") -> list[int]:
    found = {month_of(row[month_key]): row[value_key] or 0 for row in rows}
    return [found.get(month, 0) for month in months]


def month_of(value) -> date:
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return value.replace(day=1)


def money_by_month(months):
    """{head: [paise per month]} of invoices, credit notes: taxable and each tax head."""
    sums = {
        "txval": Sum("taxable_paise"),
        "iamt": Sum("igst_paise"),
        "camt": Sum("cgst_paise"),
        "samt": Sum("sgst_paise"),
    }
    invoices = (
        TaxInvoice.objects.filter(issued_on__gte=months[0], order__status__in=INVOICED_STATUSES)
        .annotate(month=TruncMonth("issued_on"))
        .values("month")
        .annotate(**sums)
    )
    notes = CreditNote.objects.filter(issued_on__gte=months[0]).annotate(month=TruncMonth("issued_on")).values("month")
    notes = notes.annotate(**sums)
    invoices, notes = list(invoices), list(notes)
    return (
        {head: by_month(invoices, months, head) for head in sums},
        {head: by_month(notes, months, head) for head in sums},
    )


def minus(left, right):
    return [a - b for a, b in zip(left, right, strict=True)]


def revenue_reports(months) -> list[Report]:
    invoiced, credited = money_by_month(months)
    labels = [month_label(month) for month in months]
    net = minus(invoiced["txval"], credited["txval"])
    revenue = Report(
        "revenue",
        "Revenue by month",
        "Taxable value (GST excluded) of the month's invoices less its credit notes, by document date.",
        "Month",
        labels,
        [("Invoiced", invoiced["txval"]), ("Credited", credited["txval"]), ("Net", net)],
        money=True,
        chart_columns=(2,),
    )
    heads = [
        (name, minus(invoiced[head], credited[head]))
        for name, head in (("IGST", "iamt"), ("CGST", "camt"), ("SGST", "samt"))
    ]
    gst = Report(
        "gst",
        "GST collected by month",
        "Tax on the month's invoices less its credit notes, by head.",
        "Month",
        labels,
        heads,
        money=True,
    )
    return [revenue, gst]


def mrr_report() -> Report:
    """Each active server's renewal price per month (the current price of the plan its
    next renewal is priced at: a scheduled downgrade's, else the plan it runs, for its
    cycle, less the cycle discount, GST excluded): one statement and the plans."""
    groups = list(
        Server.objects.filter(status=Server.Status.ACTIVE)
        .annotate(renewal_plan_id=Coalesce("plan_change_to_id", "plan_id", "order__plan_id"))
        .values("renewal_plan_id", "billing_cycle_months")
        .annotate(n=Count("pk"))
        .order_by()
    )
    plans = HostingPlan.objects.in_bulk({group["renewal_plan_id"] for group in groups})
    monthly, servers = defaultdict(int), defaultdict(int)
    for group in groups:
        plan = plans[group["renewal_plan_id"]]
        cycle_price = pricing.quote(plan, group["billing_cycle_months"]).subtotal_paise
        monthly[plan.name] += pricing.divide_half_up(cycle_price * group["n"], group["billing_cycle_months"])
        servers[plan.name] += group["n"]
    names = sorted(monthly, key=lambda name: -monthly[name])
    return Report(
        "mrr",
        "Monthly recurring revenue",
        "Each active server's renewal price per month at today's plan prices, GST excluded.",
        "Plan",
        names,
        [("MRR", [monthly[name] for name in names]), ("Active servers", [servers[name] for name in names])],
        money=True,
        chart_columns=(0,),
        count_columns=(1,),
        headline=f"{rupees(sum(monthly.values()))} a month from {sum(servers.values()):,} active servers",
    )


def server_reports(months) -> list[Report]:
    labels = [month_label(month) for month in months]
    since = start_of(months[0])
    orders = list(
        Order.objects.filter(status__in=INVOICED_STATUSES, paid_at__gte=since)
        .annotate(month=TruncMonth("paid_at"))
        .values("month", "kind")
        # A renewal paid by an autopay debit: its one debit was captured (lifecycle's AutopayDebit).
        .annotate(n=Count("pk"), by_autopay=Count("pk", filter=Q(autopay_debit__status="captured")))
        .order_by()
    )
    kinds = {
        kind: by_month([row for row in orders if row["kind"] == kind], months) for kind in ("new", "renewal", "upgrade")
    }
    changes = list(
        ServerStatusChange.objects.filter(to_status__in=("suspended", "terminated"), at__gte=since)
        .annotate(month=TruncMonth("at"))
        .values("month", "to_status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    lost = {
        status: by_month([row for row in changes if row["to_status"] == status], months)
        for status in ("suspended", "terminated")
    }
    gained = Report(
        "servers-paid",
        "New, renewed and upgraded servers by month",
        "Paid orders by kind and month of payment (refunded ones included).",
        "Month",
        labels,
        [("New", kinds["new"]), ("Renewed", kinds["renewal"]), ("Upgraded", kinds["upgrade"])],
        money=False,
    )
    stopped = Report(
        "servers-lost",
        "Suspended and terminated servers by month",
        "Servers that went to suspended or terminated, by month (for non-payment, at a customer's or staff's wish).",
        "Month",
        labels,
        [("Suspended", lost["suspended"]), ("Terminated", lost["terminated"])],
        money=False,
        stacked=False,
    )
    renewals = kinds["renewal"]
    by_autopay = by_month([row for row in orders if row["kind"] == "renewal"], months, "by_autopay")
    autopay = Report(
        "autopay",
        "Autopay's share of paid renewals",
        "Renewals paid each month, by an autopay debit (RBI e-mandate) or by the customer's own payment.",
        "Month",
        labels,
        [
            ("By autopay", by_autopay),
            ("By hand", minus(renewals, by_autopay)),
            ("Autopay share (%)", [percent_of(part, whole) for part, whole in zip(by_autopay, renewals, strict=True)]),
        ],
        money=False,
        chart_columns=(0, 1),
    )
    return [gained, stopped, autopay]


def percent_of(part: int, whole: int) -> int:
    """Whole percent, half-up; 0 of nothing."""
    return (part * 200 + whole) // (2 * whole) if whole else 0


def renewals_report(months) -> Report:
    """Renewals by the month they were due: paid by the due date, paid late, never
    paid (the renewal cancelled when its server was terminated)."""
    since = start_of(months[0])
    paid = list(
        RenewalExtension.objects.filter(old_paid_until__gte=since)
        .annotate(month=TruncMonth("old_paid_until"), on_time=Q(at__lte=F("old_paid_until")))
        .values("month", "on_time")
        .annotate(n=Count("pk"))
        .order_by()
    )
    never = list(
        Order.objects.filter(kind="renewal", status=Order.Status.CANCELLED, renews_server__paid_until__gte=since)
        .annotate(month=TruncMonth("renews_server__paid_until"))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return Report(
        "renewals",
        "Renewals by due date",
        "Renewals due each month: paid before the server's paid-until, paid after it, or never paid "
        "(cancelled when the server was terminated).",
        "Month due",
        [month_label(month) for month in months],
        [
            ("On time", by_month([row for row in paid if row["on_time"]], months)),
            ("Late", by_month([row for row in paid if not row["on_time"]], months)),
            ("Never", by_month(never, months)),
        ],
        money=False,
    )


def business_reports(today: date) -> list[Report]:
    """Every report of /admin/reports/: eight aggregate statements and the plans."""
    months = months_ending(today)
    return [mrr_report(), *revenue_reports(months), *server_reports(months), renewals_report(months)]


def business_report(key: str, today: date) -> Report | None:
    return next((report for report in business_reports(today) if report.key == key), None)
