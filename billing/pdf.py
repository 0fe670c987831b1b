"""Invoice, credit note and receipt PDFs, made with fpdf2 from stored data only: the same bytes every time for
the same invoice in the same state (its creation date is the issue date, nothing depends on the clock).

fpdf2 is pure Python (no system libraries to install, unlike WeasyPrint's Pango and Cairo) and writes the same
file for the same input. Its built-in Helvetica covers Latin-1; other characters are written as "?".
"""

import datetime
import io
import logging
import unicodedata
from decimal import Decimal

from django.utils.text import Truncator
from fpdf import FPDF

from billing.models import Invoice, InvoiceLine, Payment
from billing.money import money_format, plain_number, unit_price_format
from portal_auth.portals import primary_portal

logger = logging.getLogger(__name__)

_WIDTHS = (86, 18, 30, 16, 30)  # description, quantity, unit price, tax, net: 180 mm of A4's 210


def invoice_pdf_name(invoice: Invoice) -> str:
    kind = "credit-note" if invoice.is_credit_note else "invoice"
    return f"{kind}-{invoice.display_number}.pdf"


def receipt_pdf_name(payment: Payment) -> str:
    return f"receipt-{payment.invoice.display_number}-{payment.pk}.pdf"


def _latin1(text: str) -> str:
    """`text` in what Helvetica prints (Latin-1): what lies outside it in its compatible form where there is one
    (a ligature, a full-width letter), then dashes and quotes as plain ones; the rest as "?". Latin-1's own
    characters (½, µ, ²) are kept as they are."""
    text = "".join(char if ord(char) < 256 else unicodedata.normalize("NFKC", char) for char in text)
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'")
    return text.encode("latin-1", "replace").decode("latin-1")


class _Document(FPDF):
    def __init__(self, invoice: Invoice, made_on: datetime.date):
        super().__init__(format="A4", unit="mm")
        self.invoice = invoice
        self.set_creation_date(datetime.datetime.combine(made_on, datetime.time(), tzinfo=datetime.UTC))
        self.set_title(_latin1(str(invoice)))
        self.set_author(_latin1(invoice.issuer_name))
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.add_page()

    def text_line(self, text: str, *, size: float = 10, style: str = "", height: float = 5, align: str = "L") -> None:
        self.set_font("Helvetica", style, size)
        self.multi_cell(0, height, _latin1(text), align=align, new_x="LMARGIN", new_y="NEXT")

    def header_block(self, title: str) -> None:
        invoice = self.invoice
        # The primary portal's logo: the one the business shows first.
        logo = primary_portal(invoice.organisation).logo
        if logo:
            try:
                with logo.open("rb") as file:
                    self.image(io.BytesIO(file.read()), x=15, y=15, h=16)
            except Exception:  # a logo gone from storage, or unreadable: the invoice still goes out
                logger.warning("Invoice PDF: the logo of %s could not be read", invoice.organisation, exc_info=True)
        self.set_xy(105, 15)
        self.set_font("Helvetica", "B", 11)
        self.multi_cell(90, 5, _latin1(invoice.issuer_name), align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_x(105)
        self.set_font("Helvetica", "", 9)
        issuer = invoice.issuer_address + (
            f"\nTax number: {invoice.issuer_tax_number}" if invoice.issuer_tax_number else ""
        )
        self.multi_cell(90, 4.5, _latin1(issuer), align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_y(max(self.get_y(), 36) + 6)
        self.text_line(title, size=18, style="B", height=9)
        self.ln(2)

    def facts(self, rows: list[tuple[str, str]]) -> None:
        for label, value in rows:
            self.set_font("Helvetica", "B", 10)
            self.cell(40, 5.5, _latin1(label))
            self.set_font("Helvetica", "", 10)
            self.multi_cell(0, 5.5, _latin1(value), new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def bill_to(self) -> None:
        self.text_line("Bill to", style="B")
        self.text_line(self.invoice.bill_to_name)
        if self.invoice.bill_to_address:
            self.text_line(self.invoice.bill_to_address)
        self.text_line(self.invoice.bill_to_email)
        self.ln(4)

    def _lines_heading(self) -> None:
        self.set_font("Helvetica", "B", 9)
        self.set_fill_color(235, 235, 235)
        for heading, width, align in zip(
            ("Description", "Qty", "Unit price", "Tax", "Net"), _WIDTHS, "LRRRR", strict=True
        ):
            self.cell(width, 7, heading, border="B", align=align, fill=True)
        self.ln()
        self.set_font("Helvetica", "", 9)

    def lines_table(self, lines: list[InvoiceLine]) -> None:
        """One row a line, each kept whole on a page (a row that would not fit starts the next page, under the
        headings again): a description and its figures are never printed on different pages."""
        money = self.invoice.money
        self._lines_heading()
        for line in lines:
            description = _latin1(line.description)
            measured = self.multi_cell(_WIDTHS[0], 6, description, dry_run=True, output="HEIGHT")
            height = max(6.0, float(measured))  # type: ignore[arg-type]  # output="HEIGHT" gives the height alone
            if self.get_y() + height > self.page_break_trigger:
                self.add_page()
                self._lines_heading()
            y = self.get_y()
            self.multi_cell(_WIDTHS[0], 6, description, new_x="RIGHT", new_y="TOP")
            self.set_xy(15 + _WIDTHS[0], y)
            figures = (
                plain_number(line.quantity),
                unit_price_format(line.unit_price, self.invoice.currency),
                f"{plain_number(line.tax_rate)}%",
                money(line.net),
            )
            for text, width in zip(figures, _WIDTHS[1:], strict=True):
                self.cell(width, 6, _latin1(text), align="R")
            self.set_y(y + height)
        self.ln(2)

    def totals(self, rows: list[tuple[str, str, bool]]) -> None:
        for label, value, bold in rows:
            self.set_font("Helvetica", "B" if bold else "", 10)
            self.cell(130, 6, _latin1(label), align="R")
            self.cell(50, 6, _latin1(value), align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def bytes(self) -> bytes:
        return bytes(self.output())


def _tax_rows(invoice: Invoice) -> list[tuple[str, str, bool]]:
    return [
        (
            f"Tax {plain_number(Decimal(t['rate']))}% on {invoice.money(Decimal(t['net']))}",
            invoice.money(Decimal(t["tax"])),
            False,
        )
        for t in invoice.tax_lines
    ]


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice or credit note as issued, with its status, payments and credits as they stand."""
    document = _Document(invoice, invoice.issued_on or datetime.date(2000, 1, 1))
    title = f"{'Credit note' if invoice.is_credit_note else 'Invoice'} {invoice.display_number}"
    document.header_block(title)
    facts = [("Issued", _date(invoice.issued_on))]
    if invoice.is_credit_note and invoice.credits is not None:
        facts.append(("Corrects invoice", invoice.credits.display_number))
    else:
        facts += [("Due", _date(invoice.due_on)), ("Status", invoice.get_status_display())]
    if invoice.booking_reference:
        # Shortened as the invoice list shows it: the whole reference opens the booking's page, and invoices are
        # forwarded (to an employer, an accountant).
        facts.append(("Booking", Truncator(invoice.booking_reference).chars(9)))
    document.facts(facts)
    document.bill_to()
    document.lines_table(list(invoice.lines.all()))
    rows = [("Subtotal", invoice.money(invoice.subtotal), False), *_tax_rows(invoice)]
    rows.append(("Total tax", invoice.money(invoice.tax), False))
    rows.append(("Total credited" if invoice.is_credit_note else "Total", invoice.money(invoice.total), True))
    if not invoice.is_credit_note:
        if invoice.amount_paid:
            rows.append(("Paid", invoice.money(invoice.amount_paid), False))
        if invoice.amount_credited:
            rows.append(("Credited", invoice.money(invoice.amount_credited), False))
        rows.append(("Amount due", invoice.money(invoice.amount_due), True))
    document.totals(rows)
    if invoice.status == Invoice.Status.OPEN and invoice.payment_instructions:
        document.text_line("How to pay", style="B")
        document.text_line(invoice.payment_instructions)
    return document.bytes()


def receipt_pdf(payment: Payment) -> bytes:
    """A payment's receipt: what was paid, how, and what the invoice still asked for right after it."""
    invoice = payment.invoice
    document = _Document(invoice, payment.paid_on)
    document.header_block(f"Receipt for invoice {invoice.display_number}")
    # Payments are never edited, and counted in the order they were recorded (a payment recorded late with an
    # earlier date counts after those before it), so the sum up to this one is fixed: the receipt stays the same file.
    paid_so_far = sum((p.amount for p in invoice.payments.all() if p.pk <= payment.pk), Decimal(0))
    document.facts(
        [
            ("Received", _date(payment.paid_on)),
            ("Method", payment.get_method_display()),
            *([("Reference", payment.reference)] if payment.reference else []),
            ("Invoice", f"{invoice.display_number} of {_date(invoice.issued_on)}"),
        ]
    )
    document.bill_to()
    document.totals(
        [
            ("Amount received", money_format(payment.amount, invoice.currency), True),
            ("Invoice total", invoice.money(invoice.total), False),
            ("Paid to date", invoice.money(paid_so_far), False),
        ]
    )
    document.text_line("Thank you for your payment.")
    return document.bytes()


def _date(value: datetime.date | None) -> str:
    return f"{value.day} {value:%B %Y}" if value else "-"
