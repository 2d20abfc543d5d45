"""The tax invoice as a PDF, drawn with fpdf2 (pure Python) from billing.invoices.Invoice.

fpdf2's built-in Helvetica covers Latin-1 only and needs no font files, so
the PDF renders the same on every machine; amounts are written "Rs." rather
than with the rupee sign, and characters outside Latin-1 become "?".
Page compression is off: an invoice is a few kilobytes and stays greppable.
"""

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from .templatetags.money import rupees

NEXT_LINE = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}


def latin1(text) -> str:
    return str(text).encode("latin-1", "replace").decode("latin-1")


def money(paise) -> str:
    return rupees(paise).replace("₹", "Rs. ")


def invoice_pdf(invoice) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_compression(False)
    pdf.set_title(latin1(f"Tax invoice {invoice.number}"))
    pdf.set_author(latin1(invoice.seller.name))
    pdf.add_page()
    pdf.set_auto_page_break(True, margin=15)

    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "TAX INVOICE", align="C", **NEXT_LINE)
    if invoice.refunded:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 6, "This order has been refunded.", align="C", **NEXT_LINE)
    pdf.ln(2)

    _party(pdf, "Supplier", invoice.seller)
    _lines(
        pdf,
        [
            f"Invoice number: {invoice.number}",
            f"Invoice date: {invoice.date:%d %b %Y}",
            f"Order: {invoice.order_number}",
            f"Place of supply: {invoice.place_of_supply}",
        ],
    )
    pdf.ln(3)
    _party(pdf, "Bill to", invoice.buyer)
    pdf.ln(3)

    widths = (90, 20, 20, 30, 30)
    pdf.set_font("Helvetica", "B", 9)
    for width, head in zip(widths, ("Description", "SAC", "Months", "Rate / month", "Amount"), strict=True):
        pdf.cell(width, 7, head, border=1, align="L" if head == "Description" else "R")
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    top = pdf.get_y()
    pdf.multi_cell(widths[0], 5, latin1(invoice.description), border=1)
    row_height = pdf.get_y() - top
    pdf.set_xy(pdf.l_margin + widths[0], top)
    for width, value in zip(
        widths[1:],
        (invoice.sac, str(invoice.quantity_months), money(invoice.unit_price_paise), money(invoice.gross_paise)),
        strict=True,
    ):
        pdf.cell(width, row_height, value, border=1, align="R")
    pdf.ln()

    rows = []
    if invoice.discount_paise:
        rows.append(("Less discount", "-" + money(invoice.discount_paise)))
    rows.append(("Taxable value", money(invoice.taxable_paise)))
    rows += [(f"{line.label} @ {line.rate_text}%", money(line.amount_paise)) for line in invoice.tax_lines]
    rows.append(("Total", money(invoice.total_paise)))
    label_width = sum(widths[:-1])
    for label, value in rows:
        pdf.set_font("Helvetica", "B" if label == "Total" else "", 9)
        pdf.cell(label_width, 7, label, border=1, align="R")
        pdf.cell(widths[-1], 7, value, border=1, align="R", **NEXT_LINE)
    pdf.ln(3)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5, latin1(f"Amount in words: {invoice.total_in_words}"), **NEXT_LINE)
    pdf.ln(2)
    tax_rule = "CGST and SGST (intra-state supply)" if invoice.intra_state else "IGST (inter-state supply)"
    pdf.multi_cell(0, 5, latin1(f"Tax charged as {tax_rule}. Reverse charge: No."), **NEXT_LINE)
    if invoice.intra_state:
        pdf.multi_cell(0, 5, latin1(invoice.odd_paisa_rule), **NEXT_LINE)
    pdf.multi_cell(0, 5, "This is a computer-generated invoice and needs no signature.", **NEXT_LINE)
    return bytes(pdf.output())


def _party(pdf, heading, party):
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, heading, **NEXT_LINE)
    lines = [party.name, *party.address.splitlines(), f"State: {party.state}" if party.state else ""]
    lines.append(f"GSTIN: {party.gstin}" if party.gstin else "GSTIN: unregistered")
    _lines(pdf, [line for line in lines if line])


def _lines(pdf, lines):
    pdf.set_font("Helvetica", "", 9)
    for line in lines:
        pdf.multi_cell(0, 5, latin1(line), **NEXT_LINE)
