"""The paisa check: a month's GSTR-1, as written, against its stored documents summed
in SQL by section and tax head. Run by the tests and by audit_ledger's monthly pass,
where a return that would not add up is an incident."""

import io
from datetime import date

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from billing.models import CreditNote, TaxInvoice
from core.templatetags.money import rupees

from .gstr1 import HEADS, INVOICED_STATUSES, SECTIONS, Figures, b2cl_filter, gstr1_write, month_last_day

COLUMNS = {"txval": "taxable_paise", "iamt": "igst_paise", "camt": "cgst_paise", "samt": "sgst_paise"}


def sums_by_condition(queryset, total_column: str, conditions: dict) -> dict:
    """{name: Figures} of the rows matching each condition, in one statement."""
    aggregates = {}
    for name, condition in conditions.items():
        aggregates[f"{name}__count"] = Count("pk", filter=condition)
        for head, column in {**COLUMNS, "val": total_column}.items():
            aggregates[f"{name}__{head}"] = Coalesce(Sum(column, filter=condition), 0)
    row = queryset.aggregate(**aggregates)
    return {name: Figures(**{head: row[f"{name}__{head}"] for head in ("count", *HEADS)}) for name in conditions}


def documents_totals(first: date) -> dict:
    """{section: Figures} straight from the month's stored documents (paise): what
    every section of the return must add up to. `hsn` is the month's whole net:
    its invoices less its credit notes; `documents` the numbers of invoices and
    credit notes behind b2cs and hsn."""
    last = month_last_day(first)
    registered = ~Q(buyer_gstin="")
    invoices = sums_by_condition(
        TaxInvoice.objects.filter(issued_on__range=(first, last), order__status__in=INVOICED_STATUSES),
        "total_paise",
        {"b2b": registered, "b2cl": b2cl_filter(), "b2cs": Q(buyer_gstin="") & ~b2cl_filter(), "all": Q()},
    )
    notes = sums_by_condition(
        CreditNote.objects.filter(issued_on__range=(first, last), order__status__in=INVOICED_STATUSES),
        "amount_paise",
        {
            "cdnr": registered,
            "cdnur": b2cl_filter("invoice__"),
            "b2cs": Q(buyer_gstin="") & ~b2cl_filter("invoice__"),
            "all": Q(),
        },
    )
    totals = {name: invoices[name] for name in ("b2b", "b2cl", "b2cs")}
    # For the page: (invoices, credit notes) behind the two net figures, before netting.
    totals["documents"] = {
        "b2cs": (invoices["b2cs"].count, notes["b2cs"].count),
        "hsn": (invoices["all"].count, notes["all"].count),
    }
    totals["b2cs"].add_figures(notes["b2cs"], -1)
    totals.update(cdnr=notes["cdnr"], cdnur=notes["cdnur"], hsn=invoices["all"])
    totals["hsn"].add_figures(notes["all"], -1)
    return totals


def totals_problems(written, expected) -> list[str]:
    """What differs between the return's sums and the documents', in rupees for staff."""
    problems = []
    for section in SECTIONS:
        for head in HEADS:
            if section == "hsn" and head == "val":
                continue  # the HSN summary has no invoice value
            got, want = getattr(written.sections[section], head), getattr(expected[section], head)
            if got != want:
                problems.append(f"{section} {head}: the return says {rupees(got)}, the documents {rupees(want)}")
    net = Figures()
    for section, sign in (("b2b", 1), ("b2cl", 1), ("b2cs", 1), ("cdnr", -1), ("cdnur", -1)):
        net.add_figures(written.sections[section], sign)
    for head in ("txval", "iamt", "camt", "samt"):
        if getattr(net, head) != getattr(expected["hsn"], head):
            problems.append(
                f"{head} in total: the sections net to {rupees(getattr(net, head))}, "
                f"the documents to {rupees(getattr(expected['hsn'], head))}"
            )
    if written.unreportable:
        problems.append(f"no GST state code for {', '.join(written.unreportable[:5])}")
    return problems


def gstr1_problems(first: date) -> list[str]:
    """Build the month's return (thrown away) and compare it with its documents."""
    written = gstr1_write(first, NullWriter(), gstin=settings.SELLER_GSTIN)
    return totals_problems(written, documents_totals(first))


class NullWriter(io.TextIOBase):
    def write(self, text):
        return len(text)
