"""The GSTR-1 return of a month, from the stored tax invoices and credit notes only.

One streamed pass over the month's invoices and one over its credit notes, each
ordered so that every grouped section (b2b by buyer GSTIN, b2cl by place of
supply, cdnr by GSTIN) arrives in runs: the document sections are written to
temporary files as the rows go by, the summaries (b2cs, hsn, doc_issue) are
small dictionaries, and the whole is written out at the end. Memory stays flat
whatever the month's size. Money is integer paise until it is written, then a
Decimal with two places: never a float.

The rules (from the GST portal's offline-tool format):
- b2b: invoices to a GSTIN. b2cl: no GSTIN, inter-state, total above the B2CL
  limit (₹1,00,000 from 1 August 2024, ₹2,50,000 before). b2cs: every other
  invoice without a GSTIN, summed per supply type, place and rate, less the
  month's credit notes on such invoices (whatever month the invoice was in).
- cdnr: credit notes to a GSTIN; cdnur: credit notes on b2cl invoices.
- hsn: one row per SAC and rate, net of the month's credit notes; split into
  hsn_b2b and hsn_b2c from May 2025 (one `data` list before). Services report
  quantity 0 with the unit "NA".
- doc_issue: invoices (1) and credit notes (5), one row per number series.
  No document is ever cancelled (a correction is a credit note), so `cancel` is 0.
"""

import json
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.db.models.fields.json import KT, KeyTextTransform, KeyTransform

from billing.gst import sac_description
from billing.models import CreditNote, Order, TaxInvoice
from core.streams import rows_streamed

RETURN_VERSION = "GST3.2.1"  # the offline tool's JSON format these sections follow
B2CL_LIMIT_CHANGED_ON = date(2024, 8, 1)
B2CL_LIMIT_PAISE = 1_00_000_00
B2CL_LIMIT_PAISE_BEFORE = 2_50_000_00
HSN_SPLIT_FROM = date(2025, 5, 1)
INVOICED_STATUSES = (Order.Status.PAID, Order.Status.REFUNDED)
CHUNK = 2000
MONTH_FORMAT = re.compile(r"^(\d{4})-(\d{2})$")
HEADS = ("txval", "iamt", "camt", "samt", "val")
SECTIONS = ("b2b", "b2cl", "b2cs", "cdnr", "cdnur", "hsn")


class BadMonth(ValueError):
    """Not a YYYY-MM month, or one that has not started yet."""


def month_parse(text: str, today: date) -> date:
    """The first day of the month `text` names (YYYY-MM); BadMonth if malformed or after `today`'s month."""
    match = MONTH_FORMAT.match(text or "")
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        raise BadMonth(f"{text!r} is not a month: give YYYY-MM, for example 2026-11.")
    first = date(int(match[1]), int(match[2]), 1)
    if first > today.replace(day=1):
        raise BadMonth(f"{text} has not started yet.")
    return first


def month_last_day(first: date) -> date:
    return date.fromordinal(next_month(first).toordinal() - 1)


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def previous_month(first: date) -> date:
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def b2cl_limit_paise(invoice_date: date) -> int:
    return B2CL_LIMIT_PAISE if invoice_date >= B2CL_LIMIT_CHANGED_ON else B2CL_LIMIT_PAISE_BEFORE


def is_b2cl(gstin: str, intra_state: bool, total_paise: int, invoice_date: date) -> bool:
    return not gstin and not intra_state and total_paise > b2cl_limit_paise(invoice_date)


def b2cl_filter(prefix: str = "") -> Q:
    """is_b2cl in SQL, for the documents' own check (`prefix` "invoice__" for credit notes)."""
    return Q(**{f"{prefix}buyer_gstin": "", f"{prefix}intra_state": False}) & (
        Q(**{f"{prefix}issued_on__gte": B2CL_LIMIT_CHANGED_ON, f"{prefix}total_paise__gt": B2CL_LIMIT_PAISE})
        | Q(
            **{
                f"{prefix}issued_on__lt": B2CL_LIMIT_CHANGED_ON,
                f"{prefix}total_paise__gt": B2CL_LIMIT_PAISE_BEFORE,
            }
        )
    )


def rupees(paise: int) -> Decimal:
    """Integer paise as rupees with exactly two places: 264320 -> Decimal('2643.20')."""
    return Decimal(paise).scaleb(-2)


def encode(value) -> str:
    """Compact JSON in which a Decimal is written as the number it is (json writes floats only)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(key)}:{encode(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(item) for item in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


@dataclass
class Figures:
    """Sums of the written figures, in paise: what the paisa check compares."""

    count: int = 0
    txval: int = 0
    iamt: int = 0
    camt: int = 0
    samt: int = 0
    val: int = 0

    def add(self, doc, sign=1):
        self.count += sign
        self.txval += sign * doc["taxable_paise"]
        self.iamt += sign * doc["igst_paise"]
        self.camt += sign * doc["cgst_paise"]
        self.samt += sign * doc["sgst_paise"]
        self.val += sign * doc["total"]

    def add_figures(self, other, sign=1):
        for name in ("count", *HEADS):
            setattr(self, name, getattr(self, name) + sign * getattr(other, name))

    def as_dict(self):
        return {name: getattr(self, name) for name in ("count", *HEADS)}


@dataclass
class ReturnTotals:
    sections: dict = field(default_factory=lambda: {name: Figures() for name in SECTIONS})
    invoices: int = 0
    credit_notes: int = 0
    unreportable: list = field(default_factory=list)


def item_details(doc) -> dict:
    """One `itm_det`: the document's figures at its rate, CGST+SGST or IGST as written."""
    details = {"txval": rupees(doc["taxable_paise"]), "rt": doc["gst_rate_percent"]}
    if doc["intra_state"]:
        details.update(camt=rupees(doc["cgst_paise"]), samt=rupees(doc["sgst_paise"]))
    else:
        details["iamt"] = rupees(doc["igst_paise"])
    details["csamt"] = 0
    return details


def items(doc) -> list:
    return [{"num": 1, "itm_det": item_details(doc)}]


def pos_of(doc) -> str:
    """The place of supply's state code as stored; a supply within the state is the seller's."""
    return doc["place_of_supply_code"] or (doc["seller_gstin"][:2] if doc["intra_state"] else "")


class GroupedSection:
    """A section written as runs of `{key_name: key, list_name: [entries]}`, one run per
    key, to a temporary file; rows arrive ordered by key."""

    def __init__(self, key_name, list_name):
        self.key_name, self.list_name = key_name, list_name
        self.file = tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+", encoding="utf-8")
        self.key = None

    def add(self, key, entry):
        if key != self.key:
            if self.key is not None:
                self.file.write("]},")
            self.file.write(f"{{{json.dumps(self.key_name)}:{json.dumps(key)},{json.dumps(self.list_name)}:[")
            self.key = key
        else:
            self.file.write(",")
        self.file.write(encode(entry))

    def copy_to(self, out):
        out.write("[")
        if self.key is not None:
            self.file.seek(0)
            while chunk := self.file.read(1 << 16):
                out.write(chunk)
            out.write("]}")
        out.write("]")
        self.file.close()


class FlatSection(GroupedSection):
    """A section that is a plain list of entries (cdnur)."""

    def __init__(self):
        super().__init__("", "")

    def add(self, key, entry):
        self.file.write("," if self.key is not None else "")
        self.key = True
        self.file.write(encode(entry))

    def copy_to(self, out):
        out.write("[")
        self.file.seek(0)
        while chunk := self.file.read(1 << 16):
            out.write(chunk)
        out.write("]")
        self.file.close()


DOCUMENT_FIELDS = (
    "number",
    "issued_on",
    "buyer_gstin",
    "place_of_supply_code",
    "seller_gstin",
    "intra_state",
    "gst_rate_percent",
    "taxable_paise",
    "cgst_paise",
    "sgst_paise",
    "igst_paise",
)


def month_invoices(first: date, last: date):
    """The month's invoices of paid or refunded orders, in the order the sections need."""
    return (
        TaxInvoice.objects.filter(issued_on__range=(first, last), order__status__in=INVOICED_STATUSES)
        .order_by("buyer_gstin", "place_of_supply_code", "issued_on", "number")
        .values(*DOCUMENT_FIELDS, "total_paise", sac=KT("lines__0__sac"))
    )


def month_credit_notes(first: date, last: date):
    return (
        CreditNote.objects.filter(issued_on__range=(first, last), order__status__in=INVOICED_STATUSES)
        .order_by("buyer_gstin", "place_of_supply_code", "issued_on", "number")
        .values(
            *DOCUMENT_FIELDS,
            "amount_paise",
            invoice_total=F("invoice__total_paise"),
            invoice_issued_on=F("invoice__issued_on"),
            sac=KeyTextTransform("sac", KeyTransform("0", "invoice__lines")),
        )
    )


@dataclass
class Month:
    """What one pass over the month's documents gathers besides the written sections."""

    totals: ReturnTotals = field(default_factory=ReturnTotals)
    b2cs: dict = field(default_factory=lambda: defaultdict(Figures))
    hsn: dict = field(default_factory=lambda: {"b2b": defaultdict(Figures), "b2c": defaultdict(Figures)})
    series: dict = field(default_factory=lambda: {1: {}, 5: {}})  # doc_num -> prefix -> [count, first, last]
    unreportable: list = field(default_factory=list)  # numbers of documents without a state code

    def numbered(self, doc_num, number):
        prefix = number.rpartition("/")[0]
        seen = self.series[doc_num].get(prefix)
        if seen is None:
            self.series[doc_num][prefix] = [1, number, number]
        else:
            seen[0] += 1
            seen[1] = min(seen[1], number)
            seen[2] = max(seen[2], number)


def gstr1_write(first: date, out, *, gstin: str) -> ReturnTotals:
    """Write the GSTR-1 return of the month starting `first` to the text stream `out`
    as one JSON object; return the sums of what was written (paise), by section.
    Reads only; two statements (server-side cursors in one transaction, also behind a
    transaction pooler), whatever the month's size."""
    last = month_last_day(first)
    month = Month()
    b2b, b2cl = GroupedSection("ctin", "inv"), GroupedSection("pos", "inv")
    cdnr, cdnur = GroupedSection("ctin", "nt"), FlatSection()
    with transaction.atomic():  # the cursors live in this transaction (core/streams.py)
        for doc in rows_streamed(month_invoices(first, last), chunk_size=CHUNK):
            doc["total"] = doc["total_paise"]
            invoice_add(month, doc, b2b, b2cl)
        for doc in rows_streamed(month_credit_notes(first, last), chunk_size=CHUNK):
            doc["total"] = doc["amount_paise"]
            credit_note_add(month, doc, cdnr, cdnur)
    header = {"gstin": gstin, "fp": f"{first:%m%Y}", "version": RETURN_VERSION, "hash": "hash"}
    out.write(encode(header)[:-1])
    for name, section in (("b2b", b2b), ("b2cl", b2cl)):
        out.write(f',"{name}":')
        section.copy_to(out)
    out.write(f',"b2cs":{encode(b2cs_rows(month.b2cs))}')
    for name, section in (("cdnr", cdnr), ("cdnur", cdnur)):
        out.write(f',"{name}":')
        section.copy_to(out)
    out.write(f',"hsn":{encode(hsn_section(month.hsn, first))}')
    out.write(f',"doc_issue":{encode(doc_issue(month.series))}}}')
    for rows in month.hsn.values():
        for figures in rows.values():
            month.totals.sections["hsn"].add_figures(figures)
    month.totals.unreportable = month.unreportable
    return month.totals


def invoice_add(month: Month, doc, b2b, b2cl):
    month.totals.invoices += 1
    month.numbered(1, doc["number"])
    pos = checked_pos(month, doc)
    sections = month.totals.sections
    hsn_key = (doc["sac"], doc["gst_rate_percent"])
    entry = {"inum": doc["number"], "idt": f"{doc['issued_on']:%d-%m-%Y}", "val": rupees(doc["total"])}
    if doc["buyer_gstin"]:
        b2b.add(doc["buyer_gstin"], {**entry, "pos": pos, "rchrg": "N", "inv_typ": "R", "itms": items(doc)})
        sections["b2b"].add(doc)
        month.hsn["b2b"][hsn_key].add(doc)
        return
    month.hsn["b2c"][hsn_key].add(doc)
    if is_b2cl(doc["buyer_gstin"], doc["intra_state"], doc["total"], doc["issued_on"]):
        b2cl.add(pos, {**entry, "itms": items(doc)})
        sections["b2cl"].add(doc)
    else:
        month.b2cs[b2cs_key(doc, pos)].add(doc)
        sections["b2cs"].add(doc)


def credit_note_add(month: Month, doc, cdnr, cdnur):
    month.totals.credit_notes += 1
    month.numbered(5, doc["number"])
    pos = checked_pos(month, doc)
    sections = month.totals.sections
    hsn_key = (doc["sac"], doc["gst_rate_percent"])
    entry = {"ntty": "C", "nt_num": doc["number"], "nt_dt": f"{doc['issued_on']:%d-%m-%Y}", "val": rupees(doc["total"])}
    if doc["buyer_gstin"]:
        cdnr.add(doc["buyer_gstin"], {**entry, "pos": pos, "rchrg": "N", "inv_typ": "R", "itms": items(doc)})
        sections["cdnr"].add(doc)
        month.hsn["b2b"][hsn_key].add(doc, -1)
        return
    month.hsn["b2c"][hsn_key].add(doc, -1)
    if is_b2cl(doc["buyer_gstin"], doc["intra_state"], doc["invoice_total"], doc["invoice_issued_on"]):
        cdnur.add(None, {**entry, "typ": "B2CL", "pos": pos, "itms": items(doc)})
        sections["cdnur"].add(doc)
    else:  # a small B2C credit note is netted into b2cs, in the month it is issued
        month.b2cs[b2cs_key(doc, pos)].add(doc, -1)
        sections["b2cs"].add(doc, -1)


def checked_pos(month: Month, doc) -> str:
    pos = pos_of(doc)
    if pos not in STATE_CODES_REPORTED:
        month.unreportable.append(doc["number"])
    return pos


STATE_CODES_REPORTED = {f"{code:02d}" for code in range(1, 39)}  # the GST portal's 38 state and UT codes


def b2cs_key(doc, pos):
    return ("INTRA" if doc["intra_state"] else "INTER", pos, doc["gst_rate_percent"])


def b2cs_rows(b2cs: dict) -> list:
    rows = []
    for (supply_type, pos, rate), figures in sorted(b2cs.items()):
        row = {"sply_ty": supply_type, "pos": pos, "typ": "OE", "rt": rate, "txval": rupees(figures.txval)}
        if supply_type == "INTRA":
            row.update(camt=rupees(figures.camt), samt=rupees(figures.samt))
        else:
            row["iamt"] = rupees(figures.iamt)
        rows.append({**row, "csamt": 0})
    return rows


HSN_DESCRIPTION_MAX = 30  # the offline tool refuses a longer description
SHORT_DESCRIPTIONS = {"998315": "Hosting and IT infrastructure"}


def hsn_description(sac: str) -> str:
    return SHORT_DESCRIPTIONS.get(sac) or sac_description(sac)[:HSN_DESCRIPTION_MAX].rstrip()


def hsn_rows(rows: dict) -> list:
    return [
        {
            "num": number,
            "hsn_sc": sac,
            "desc": hsn_description(sac),
            "uqc": "NA",
            "qty": 0,  # services have no quantity
            "rt": rate,
            "txval": rupees(figures.txval),
            "iamt": rupees(figures.iamt),
            "camt": rupees(figures.camt),
            "samt": rupees(figures.samt),
            "csamt": 0,
        }
        for number, ((sac, rate), figures) in enumerate(sorted(rows.items()), start=1)
    ]


def hsn_section(hsn: dict, first: date) -> dict:
    if first >= HSN_SPLIT_FROM:
        return {"hsn_b2b": hsn_rows(hsn["b2b"]), "hsn_b2c": hsn_rows(hsn["b2c"])}
    merged = defaultdict(Figures)
    for rows in hsn.values():
        for key, figures in rows.items():
            merged[key].add_figures(figures)
    return {"data": hsn_rows(merged)}


def doc_issue(series: dict) -> dict:
    details = []
    for doc_num in (1, 5):
        docs = [
            {"num": number, "from": first, "to": last, "totnum": count, "cancel": 0, "net_issue": count}
            for number, (prefix, (count, first, last)) in enumerate(sorted(series[doc_num].items()), start=1)
        ]
        if docs:
            details.append({"doc_num": doc_num, "docs": docs})
    return {"doc_det": details}
