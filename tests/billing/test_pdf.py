"""billing/pdf.py: made from stored data only, the same file for the same invoice in the same state."""

import datetime
import io
from decimal import Decimal

from pypdf import PdfReader

from billing.models import BillingProfile
from billing.pdf import invoice_pdf, receipt_pdf
from billing.services import payment_record
from tests.billing.conftest import pdf_text
from tests.factories import CustomerFactory

TODAY = datetime.date(2026, 3, 1)


def test_the_same_invoice_is_the_same_file_until_its_state_changes(issue):
    invoice = issue(today=TODAY)
    first = invoice_pdf(invoice)
    assert invoice_pdf(invoice) == first
    payment_record(invoice=invoice, amount=Decimal(20), paid_on=TODAY, method="cash")
    invoice.refresh_from_db()
    assert invoice_pdf(invoice) != first
    assert "Paid 20.00 EUR" in pdf_text(invoice_pdf(invoice)).replace("\n", " ")


def test_the_bill_to_is_the_one_of_the_day_it_was_issued(issue, customer):
    profile = BillingProfile.objects.create(customer=customer, name="Ana Lopes", address="Rua Augusta 1")
    invoice = issue(today=TODAY)
    profile.name, profile.address = "Someone Else", "Elsewhere"
    profile.save()
    text = pdf_text(invoice_pdf(invoice))
    assert "Ana Lopes" in text and "Someone Else" not in text


def test_the_booking_reference_prints_shortened_as_the_invoice_list_shows_it(issue):
    invoice = issue(booking_reference="Zq3kP0xW9LmN2vBc7TyR4a", today=TODAY)
    text = pdf_text(invoice_pdf(invoice))
    assert "Booking Zq3kP0xW..." in text.replace("\n", " ")
    assert "Zq3kP0xW9" not in text


def test_an_issued_invoice_keeps_the_address_it_was_sent_to_when_the_customer_changes_theirs(issue, customer):
    old_address = customer.email
    invoice = issue(today=TODAY)
    first = invoice_pdf(invoice)

    customer.email = "new-address@example.org"
    customer.save()
    invoice.refresh_from_db()

    assert invoice_pdf(invoice) == first
    text = pdf_text(first)
    assert old_address in text and "new-address@example.org" not in text


def test_a_name_outside_latin_1_prints_with_question_marks_rather_than_failing(organisation, billing_settings, issue):
    customer = CustomerFactory(organisation=organisation, name="Łukasz 東京", email="l@example.com")
    text = pdf_text(invoice_pdf(issue(("Café crème", "3.50", "1", "0"), to=customer)))
    assert "?ukasz ??" in text
    assert "Café crème" in text


def test_amounts_keep_the_currency_decimals(billing_settings, issue):
    billing_settings.currency = "JPY"
    billing_settings.save()
    text = pdf_text(invoice_pdf(issue(("Ryokan", "333.5", "3", "10"))))
    assert "1,101 JPY" in text and "Tax 10% on 1,001 JPY" in text


def test_a_receipt_is_the_same_file_after_later_payments(issue):
    invoice = issue(("Room", "100.00", "1", "0"), today=TODAY)
    first = payment_record(invoice=invoice, amount=Decimal(40), paid_on=TODAY, method="cash")
    before = receipt_pdf(first)
    payment_record(invoice=invoice, amount=Decimal(60), paid_on=TODAY, method="cash")
    first.refresh_from_db()
    assert receipt_pdf(first) == before


def test_a_long_invoice_keeps_each_line_whole_on_a_page_under_the_headings(issue):
    lines = [
        (f"Minibar item {n} " + "with a long description " * (3 if n % 7 == 0 else 0), "2.50", "1", "10")
        for n in range(1, 46)
    ]
    invoice = issue(*lines)

    pages = [page.extract_text() for page in PdfReader(io.BytesIO(invoice_pdf(invoice))).pages]

    assert 2 <= len(pages) <= 3  # 45 lines: two or three pages, not one page a line
    for n in range(1, 46):
        [page] = [page for page in pages if f"Minibar item {n} " in page]
        # Its figures are on the same page as its description.
        assert "2.50 EUR" in page and "10%" in page
    assert all("Description" in page and "Unit price" in page for page in pages[: len(pages) - 1])
    assert "Total" in pages[-1]


def test_latin_1_characters_print_as_themselves_and_compatible_ones_as_their_plain_form(issue):
    text = pdf_text(invoice_pdf(issue(("½ board, 5 µg, 20 m², ﬁsh — café", "3.50", "1", "0"))))
    assert "½ board, 5 µg, 20 m², fish - café" in text


def test_a_receipt_counts_the_payments_recorded_before_it_whatever_their_dates(issue):
    invoice = issue(today=TODAY)  # 220.00 EUR
    first = payment_record(invoice=invoice, amount=Decimal(60), paid_on=datetime.date(2026, 3, 5), method="cash")
    first_receipt = receipt_pdf(first)
    late = payment_record(invoice=invoice, amount=Decimal(20), paid_on=datetime.date(2026, 3, 2), method="cash")

    assert "Paid to date 80.00 EUR" in pdf_text(receipt_pdf(late)).replace("\n", " ")
    assert receipt_pdf(first) == first_receipt  # an earlier receipt is the same file after a later payment


def test_a_unit_price_set_finer_than_the_currency_prints_as_set_so_its_line_adds_up(billing_settings, issue):
    text = pdf_text(invoice_pdf(issue(("Fuel, litres", "1.745", "40", "0"), ("Parking", "2.5", "2", "0"))))

    assert "1.745 EUR" in text and "69.80 EUR" in text
    assert "2.50 EUR" in text and "5.00 EUR" in text
