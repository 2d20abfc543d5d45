"""Reads for the reports pages: a few aggregate statements each, whatever the size."""

from dataclasses import dataclass
from datetime import date

from .gstr1 import SECTIONS, Figures, previous_month
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
