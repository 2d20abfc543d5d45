"""Tax invoices and credit notes as PDFs, drawn with fpdf2 (pure Python) from
the stored documents (billing.invoices.Invoice, billing.credit_notes views).

The font is DejaVu Sans, embedded from billing/fonts/ (a subset: Latin, general
punctuation, the rupee sign; licence in billing/fonts/LICENSE), so amounts print
with ₹ exactly as on the pages. A character the font lacks (an emoji) is
dropped rather than drawn as a missing glyph or "?". Page compression is off: a document is a few kilobytes of
text plus the font subset, and stays greppable.
"""

import re
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from core.templatetags.money import rupees

NEXT_LINE = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}
FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"


@cache
def font_characters() -> frozenset:
    return frozenset(chr(code) for code in TTFont(FONT_DIR / f"{FONT}.ttf").getBestCmap())


# Runs of spaces left where a character was dropped ("Asha 🚀 Rao"), not line breaks.
SPACES = re.compile(r"[ \t]{2,}")
SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+(?=[,.;:])")


def printable(text) -> str:
    """`text` with only the characters the embedded font draws. Others (an emoji in a
    name, a joiner or variation selector of one) are dropped, not printed as "?": the
    PDF says what the customer wrote, less what no embedded font has a glyph for. The
    HTML invoice shows them all."""
    known = font_characters()
    text = str(text)
    kept = "".join(char for char in text if char in known or char == "\n")
    if len(kept) == len(text):
        return kept
    return "\n".join(SPACE_BEFORE_PUNCTUATION.sub("", SPACES.sub(" ", line)).strip() for line in kept.split("\n"))


def money(paise) -> str:
    return rupees(paise)


def new_pdf(title, author) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_compression(False)
    pdf.add_font(FONT, "", FONT_DIR / f"{FONT}.ttf")
    pdf.add_font(FONT, "B", FONT_DIR / f"{FONT}-Bold.ttf")
    pdf.set_title(printable(title))
    pdf.set_author(printable(author))
    pdf.add_page()
    pdf.set_auto_page_break(True, margin=15)
    return pdf


def invoice_pdf(invoice) -> bytes:
    pdf = new_pdf(f"Tax invoice {invoice.number}", invoice.seller.name)
    heading(pdf, "TAX INVOICE", "This order has been refunded." if invoice.refunded else "")
    party(pdf, "Supplier", invoice.seller)
    lines(
        pdf,
        [
            f"Invoice number: {invoice.number}",
            f"Invoice date: {invoice.date:%d %b %Y}",
            f"Order: {invoice.order_number}",
            f"Place of supply: {invoice.place_of_supply}",
        ],
    )
    pdf.ln(3)
    party(pdf, "Bill to", invoice.buyer)
    pdf.ln(3)
    widths = (90, 20, 20, 30, 30)
    table_head(pdf, widths, ("Description", "SAC", "Months", "Rate / month", "Amount"))
    table_row(
        pdf,
        widths,
        invoice.description,
        (invoice.sac, str(invoice.quantity_months), money(invoice.unit_price_paise), money(invoice.gross_paise)),
    )
    rows = []
    if invoice.discount_paise:
        rows.append(("Less discount", "−" + money(invoice.discount_paise)))
    rows.append(("Taxable value", money(invoice.taxable_paise)))
    rows += [(f"{line.label} @ {line.rate_text}%", money(line.amount_paise)) for line in invoice.tax_lines]
    rows.append(("Total", money(invoice.total_paise)))
    totals(pdf, widths, rows)
    tax_rule = "CGST and SGST (intra-state supply)" if invoice.intra_state else "IGST (inter-state supply)"
    notes = [
        f"SAC {invoice.sac}: {invoice.sac_description}",
        f"Amount in words: {invoice.total_in_words}",
        f"Tax charged as {tax_rule}. Reverse charge: No.",
    ]
    if invoice.intra_state:
        notes.append(invoice.odd_paisa_rule)
    footer(pdf, [*notes, "This is a computer-generated invoice and needs no signature."])
    return bytes(pdf.output())


def credit_note_pdf(note) -> bytes:
    pdf = new_pdf(f"Credit note {note.number}", note.seller.name)
    heading(pdf, "CREDIT NOTE", "Issued under section 34 of the CGST Act (rule 53)")
    party(pdf, "Supplier", note.seller)
    lines(
        pdf,
        [
            f"Credit note number: {note.number}",
            f"Credit note date: {note.date:%d %b %Y}",
            f"Against tax invoice: {note.invoice_number} of {note.invoice_date:%d %b %Y}",
            f"Order: {note.order_number}",
            f"Place of supply: {note.place_of_supply}",
        ],
    )
    pdf.ln(3)
    party(pdf, "Recipient", note.buyer)
    pdf.ln(3)
    widths = (110, 20, 60)
    table_head(pdf, widths, ("Description", "SAC", "Credited value"))
    table_row(pdf, widths, note.description, (note.sac, money(note.taxable_paise)))
    rows = [("Taxable value credited", money(note.taxable_paise))]
    rows += [(f"{line.label} @ {line.rate_text}%", money(line.amount_paise)) for line in note.tax_lines]
    rows.append(("Total credited", money(note.amount_paise)))
    totals(pdf, widths, rows)
    footer(
        pdf,
        [
            f"SAC {note.sac}: {note.sac_description}",
            f"Amount in words: {note.amount_in_words}",
            f"Reason: {note.reason}",
            "This is a computer-generated credit note and needs no signature.",
        ],
    )
    return bytes(pdf.output())


def heading(pdf, title, subtitle):
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 10, title, align="C", **NEXT_LINE)
    if subtitle:
        pdf.set_font(FONT, "B", 10)
        pdf.cell(0, 6, printable(subtitle), align="C", **NEXT_LINE)
    pdf.ln(2)


def table_head(pdf, widths, heads):
    pdf.set_font(FONT, "B", 9)
    for width, head in zip(widths, heads, strict=True):
        pdf.cell(width, 7, head, border=1, align="L" if head == "Description" else "R")
    pdf.ln()


def table_row(pdf, widths, description, values):
    pdf.set_font(FONT, "", 9)
    top = pdf.get_y()
    pdf.multi_cell(widths[0], 5, printable(description), border=1)
    row_height = pdf.get_y() - top
    pdf.set_xy(pdf.l_margin + widths[0], top)
    for width, value in zip(widths[1:], values, strict=True):
        pdf.cell(width, row_height, value, border=1, align="R")
    pdf.ln()


def totals(pdf, widths, rows):
    label_width = sum(widths[:-1])
    for label, value in rows:
        pdf.set_font(FONT, "B" if label.startswith("Total") else "", 9)
        pdf.cell(label_width, 7, label, border=1, align="R")
        pdf.cell(widths[-1], 7, value, border=1, align="R", **NEXT_LINE)
    pdf.ln(3)


def footer(pdf, notes):
    pdf.set_font(FONT, "", 9)
    for note in notes:
        pdf.multi_cell(0, 5, printable(note), **NEXT_LINE)


def party(pdf, title, who):
    pdf.set_font(FONT, "B", 10)
    pdf.cell(0, 6, title, **NEXT_LINE)
    rows = [who.name, *who.address.splitlines(), f"State: {who.state}" if who.state else ""]
    rows.append(f"GSTIN: {who.gstin}" if who.gstin else "GSTIN: unregistered")
    lines(pdf, [row for row in rows if row])


def lines(pdf, rows):
    pdf.set_font(FONT, "", 9)
    for row in rows:
        pdf.multi_cell(0, 5, printable(row), **NEXT_LINE)
