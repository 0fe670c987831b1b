"""Issuing, paying and crediting invoices; tabs. Each rule checked on the database and the outbox."""

import datetime
import threading
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection, connections

from billing.models import Invoice, InvoiceNumberCounter, Payment, Tab
from billing.services import (
    LineInput,
    invoice_draft_create,
    invoice_issue,
    invoice_number_take,
    invoice_void,
    payment_record,
    tab_charge_add,
    tab_close,
    tab_open,
)
from outbox.models import OutboxEmail
from tests.billing.conftest import pdf_text
from tests.billing.factories import BillingSettingsFactory
from tests.factories import CustomerFactory, OrganisationFactory

TODAY = datetime.date(2026, 3, 1)


def test_issuing_fixes_totals_numbers_and_emails_the_pdf(issue, customer, billing_settings):
    invoice = issue(("Room", "120.00", "2", "6"), ("Dinner", "64.50", "1", "13"), today=TODAY)

    invoice.refresh_from_db()
    assert (invoice.number, invoice.status, invoice.currency) == (1, Invoice.Status.OPEN, "EUR")
    assert (invoice.subtotal, invoice.tax, invoice.total) == (Decimal("304.50"), Decimal("22.79"), Decimal("327.29"))
    assert invoice.tax_lines == [
        {"rate": "6", "net": "240.00", "tax": "14.40"},
        {"rate": "13", "net": "64.50", "tax": "8.39"},
    ]
    assert (invoice.issued_on, invoice.due_on) == (TODAY, TODAY + datetime.timedelta(days=14))
    assert invoice.issuer_name == billing_settings.legal_name
    assert invoice.bill_to_name == customer.name
    email = OutboxEmail.objects.get(template="billing/emails/invoice_issued")
    assert email.to == customer.email
    assert email.subject == "Invoice 000001: 327.29 EUR due by 15 March 2026"
    assert "Bank transfer to IBAN" in email.body_text
    (attachment,) = email.attachments.all()
    assert (attachment.filename, attachment.content_type) == ("invoice-000001.pdf", "application/pdf")
    assert "327.29 EUR" in pdf_text(bytes(attachment.content))


def test_an_invoice_its_discounts_bring_to_nothing_says_there_is_nothing_to_pay(issue):
    invoice = issue(("Room", "80.00", "1", "0"), ("Voucher", "80.00", "-1", "0"), today=TODAY)

    assert (invoice.status, invoice.total) == (Invoice.Status.PAID, Decimal(0))
    email = OutboxEmail.objects.get(template="billing/emails/invoice_issued")
    assert email.subject == "Invoice 000001: nothing to pay"
    assert "Invoice 000001 comes to 0.00 EUR: there is nothing to pay." in email.body_text
    assert "there is nothing to pay." in email.body_html and "due by" not in email.body_html


def test_an_issued_invoice_is_never_issued_again(issue):
    invoice = issue()
    with pytest.raises(ValidationError, match="issued already"):
        invoice_issue(invoice=invoice)
    assert Invoice.objects.get().number == 1
    assert OutboxEmail.objects.count() == 1


def test_a_draft_without_lines_is_not_issued_and_takes_no_number(customer, billing_settings):
    draft = invoice_draft_create(customer=customer, lines=[])
    with pytest.raises(ValidationError, match="at least one line"):
        invoice_issue(invoice=draft)
    draft.refresh_from_db()
    assert (draft.status, draft.number) == (Invoice.Status.DRAFT, None)
    assert not InvoiceNumberCounter.objects.filter(last_number__gt=0).exists()


def test_numbers_follow_on_per_organisation_and_a_failed_issue_leaves_no_gap(issue, customer, other_organisation):
    assert [issue().number for _ in range(3)] == [1, 2, 3]
    other = CustomerFactory(organisation=other_organisation)
    BillingSettingsFactory(organisation=other_organisation)
    assert issue(to=other).number == 1
    with pytest.raises(ValidationError):
        invoice_issue(invoice=invoice_draft_create(customer=customer, lines=[]))
    assert issue().number == 4


def test_the_currency_and_its_minor_unit_come_from_the_organisation(customer, organisation):
    BillingSettingsFactory(organisation=organisation, currency="JPY")
    invoice = invoice_issue(
        invoice=invoice_draft_create(
            customer=customer, lines=[LineInput("Ryokan", Decimal("333.5"), Decimal(3), Decimal(10))]
        )
    )
    assert (invoice.currency, invoice.total) == ("JPY", Decimal(1101))
    assert invoice.total_display() == "1,101 JPY"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_twenty_invoices_issued_at_once_get_gapless_numbers():
    organisation = OrganisationFactory()
    BillingSettingsFactory(organisation=organisation)
    customers = CustomerFactory.create_batch(20, organisation=organisation)
    drafts = [invoice_draft_create(customer=c, lines=[LineInput("Night", Decimal("80"))]) for c in customers]
    start = threading.Barrier(len(drafts))
    errors = []

    def issue_one(draft):
        try:
            start.wait()
            invoice_issue(invoice=draft)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue_one, args=(draft,)) for draft in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = sorted(Invoice.objects.filter(organisation=organisation).values_list("number", flat=True))
    assert numbers == list(range(1, 21))
    assert InvoiceNumberCounter.objects.get(organisation=organisation).last_number == 20


def test_the_counter_starts_after_numbers_that_exist_already(issue, organisation):
    issue()
    InvoiceNumberCounter.objects.all().delete()
    assert invoice_number_take(organisation=organisation) == 2


# Payments -------------------------------------------------------------------------------------------------


def test_a_partial_payment_leaves_the_rest_due_and_the_last_one_pays_it(issue, customer, staff_user):
    invoice = issue(("Room", "100.00", "1", "10"))  # 110.00
    first = payment_record(
        invoice=invoice,
        amount=Decimal("50.00"),
        paid_on=TODAY,
        method="bank_transfer",
        reference="TX1",
        recorded_by=staff_user,
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("open", Decimal("50.00"), Decimal("60.00"))
    assert first.recorded_by == staff_user

    payment_record(invoice=invoice, amount=Decimal("60.00"), paid_on=TODAY, method="cash")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == ("paid", Decimal("0.00"))
    emails = list(OutboxEmail.objects.filter(template="billing/emails/payment_received").order_by("pk"))
    assert [e.subject for e in emails] == [
        "Payment received: 50.00 EUR for invoice 000001",
        "Payment received: 60.00 EUR for invoice 000001",
    ]
    assert "60.00 EUR is still due" in emails[0].body_text
    assert "paid in full" in emails[1].body_text
    receipt = bytes(emails[0].attachments.get().content)
    assert "50.00 EUR" in pdf_text(receipt)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("110.01", "more than is due"),
        ("0", "more than nothing"),
        ("-5", "more than nothing"),
        ("10.005", "more decimals"),
    ],
)
def test_a_payment_that_does_not_fit_is_refused_and_nothing_is_written(issue, amount, message):
    invoice = issue(("Room", "100.00", "1", "10"))
    with pytest.raises(ValidationError, match=message):
        payment_record(invoice=invoice, amount=Decimal(amount), paid_on=TODAY, method="cash")
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.status) == (Decimal("0.000"), "open")
    assert not OutboxEmail.objects.filter(template="billing/emails/payment_received").exists()


def test_a_paid_invoice_takes_no_more_payments(issue):
    invoice = issue(("Room", "10.00", "1", "0"))
    payment_record(invoice=invoice, amount=Decimal(10), paid_on=TODAY, method="cash")
    with pytest.raises(ValidationError, match="open invoices"):
        payment_record(invoice=invoice, amount=Decimal(1), paid_on=TODAY, method="cash")
    assert Payment.objects.count() == 1


# Credit notes ---------------------------------------------------------------------------------------------


def test_a_credit_note_lowers_what_is_due_and_takes_the_next_number(issue, customer):
    invoice = issue(("Room", "100.00", "2", "10"))  # 220.00
    note = issue(("Room 2 was not used", "100.00", "1", "10"), credits=invoice)
    invoice.refresh_from_db()
    assert (note.number, note.kind, note.total, note.status) == (2, "credit_note", Decimal("110.00"), "paid")
    assert (invoice.amount_credited, invoice.amount_due, invoice.status) == (
        Decimal("110.00"),
        Decimal("110.00"),
        "open",
    )
    assert note.amount_due == 0
    email = OutboxEmail.objects.filter(template="billing/emails/invoice_issued").latest("pk")
    assert email.subject == "Credit note 000002"
    assert "takes 110.00 EUR off invoice 000001" in email.body_text
    assert "Corrects invoice" in pdf_text(bytes(email.attachments.get().content))


def test_a_credit_note_for_what_is_left_after_a_payment_settles_the_invoice(issue):
    invoice = issue(("Room", "100.00", "1", "0"))
    payment_record(invoice=invoice, amount=Decimal(60), paid_on=TODAY, method="cash")
    issue(("Discount", "40.00", "1", "0"), credits=invoice)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == ("paid", Decimal("0.000"))


def test_a_credit_note_over_what_is_due_is_refused_and_takes_no_number(issue, customer):
    invoice = issue(("Room", "100.00", "1", "0"))
    draft = invoice_draft_create(customer=customer, lines=[LineInput("Too much", Decimal("100.01"))], credits=invoice)
    with pytest.raises(ValidationError, match="more than is due"):
        invoice_issue(invoice=draft)
    invoice.refresh_from_db()
    assert (invoice.amount_credited, invoice.status) == (Decimal(0), "open")
    assert issue().number == 2


def test_a_credit_note_for_another_customers_invoice_is_refused(issue, customer, other_customer):
    invoice = issue()
    draft = invoice_draft_create(customer=other_customer, lines=[LineInput("x", Decimal(1))], credits=invoice)
    with pytest.raises(ValidationError, match="for the customer"):
        invoice_issue(invoice=draft)


def test_voiding_credits_every_line_and_leaves_the_invoice_void(issue):
    invoice = issue(("Room", "100.00", "1", "10"), ("Tax of the city", "2.00", "2", "0"))
    note = invoice_void(invoice=invoice)
    invoice.refresh_from_db()
    assert invoice.status == "void"
    assert note.total == invoice.total == Decimal("114.00")
    assert [line.description for line in note.lines.all()] == [
        "Cancels invoice 000001: Room",
        "Cancels invoice 000001: Tax of the city",
    ]
    with pytest.raises(ValidationError, match="voided"):
        invoice_void(invoice=invoice)


def test_an_invoice_with_a_payment_is_not_voided(issue):
    invoice = issue()
    payment_record(invoice=invoice, amount=Decimal(1), paid_on=TODAY, method="cash")
    with pytest.raises(ValidationError, match="voided"):
        invoice_void(invoice=invoice)
    assert Invoice.objects.filter(kind="credit_note").count() == 0


# Tabs -----------------------------------------------------------------------------------------------------


def test_closing_a_tab_issues_one_invoice_of_its_charges(customer, billing_settings):
    tab = tab_open(customer=customer, title="Stay, room 12", booking_reference="ABC123")
    tab_charge_add(tab=tab, charge=LineInput("Minibar", Decimal("8.50"), Decimal(2), Decimal(23)))
    tab_charge_add(tab=tab, charge=LineInput("Spa", Decimal("40.00"), Decimal(1), Decimal(23)))

    invoice = tab_close(tab=tab, today=TODAY)
    tab.refresh_from_db()
    assert (tab.status, tab.invoice) == (Tab.Status.CLOSED, invoice)
    assert (invoice.total, invoice.booking_reference, invoice.status) == (Decimal("70.11"), "ABC123", "open")
    assert [line.description for line in invoice.lines.all()] == ["Minibar", "Spa"]
    with pytest.raises(ValidationError, match="closed"):
        tab_charge_add(tab=tab, charge=LineInput("Late", Decimal(1)))
    with pytest.raises(ValidationError, match="closed already"):
        tab_close(tab=tab)
    assert Invoice.objects.count() == 1


def test_an_empty_tab_is_not_closed(customer, billing_settings):
    tab = tab_open(customer=customer, title="Nothing yet")
    with pytest.raises(ValidationError, match="no charges"):
        tab_close(tab=tab)
    tab.refresh_from_db()
    assert tab.status == Tab.Status.OPEN
    assert not Invoice.objects.exists()


def test_a_draft_given_an_invoice_to_credit_after_it_was_saved_is_issued_as_a_credit_note(issue, customer):
    target = issue()
    draft = invoice_draft_create(customer=customer, lines=[LineInput("Refund", Decimal(30))])
    draft.credits = target
    draft.save()

    note = invoice_issue(invoice=draft)

    target.refresh_from_db()
    assert (note.kind, note.status) == (Invoice.Kind.CREDIT_NOTE, Invoice.Status.PAID)
    assert target.amount_credited == Decimal(30) and target.amount_due == target.total - Decimal(30)


@pytest.mark.parametrize(
    ("quantity", "credits", "message"),
    [
        ("-1", False, "An invoice's total can't be below zero"),
        ("-1", True, "A credit note takes an amount off an invoice: its total must be above zero."),
        ("0", True, "A credit note takes an amount off an invoice: its total must be above zero."),
    ],
)
def test_an_invoice_below_zero_or_a_credit_note_that_adds_is_refused(issue, customer, quantity, credits, message):
    target = issue()
    draft = invoice_draft_create(
        customer=customer,
        lines=[LineInput("Correction", Decimal(50), Decimal(quantity))],
        credits=target if credits else None,
    )

    with pytest.raises(ValidationError, match=message):
        invoice_issue(invoice=draft)

    draft.refresh_from_db()
    target.refresh_from_db()
    assert draft.status == Invoice.Status.DRAFT and target.amount_credited == 0


def test_an_invoice_is_dated_the_organisations_day(organisation, issue):
    organisation.time_zone = "Pacific/Auckland"
    organisation.save()

    with time_machine.travel(datetime.datetime(2027, 2, 28, 21, tzinfo=datetime.UTC), tick=False):  # 1 March, 10:00
        invoice = issue()

    assert invoice.issued_on == datetime.date(2027, 3, 1)


@pytest.mark.parametrize(("issued_by", "voided_under"), [("per_line", "per_rate"), ("per_rate", "per_line")])
def test_a_void_cancels_the_invoice_to_the_cent_though_the_rounding_rule_changed(
    billing_settings, issue, issued_by, voided_under
):
    """3 × 0.05 EUR at 10 %: 0.18 with tax rounded per line, 0.17 reckoned once per rate."""
    billing_settings.rounding = issued_by
    billing_settings.save()
    invoice = issue(*[("Sweet", "0.05", "1", "10")] * 3)
    billing_settings.rounding = voided_under
    billing_settings.save()

    note = invoice_void(invoice=invoice)

    invoice.refresh_from_db()
    assert note.total == invoice.total and invoice.amount_due == 0
    assert invoice.status == Invoice.Status.VOID


def test_a_void_reverses_the_tax_of_each_rate_as_the_invoice_charged_it(billing_settings, issue):
    """Tax per line and tax per rate both come to 6.06 here, but split it 2.02 + 4.04 and 2.01 + 4.05."""
    billing_settings.rounding = "per_rate"
    billing_settings.save()
    invoice = issue(*[("Tea", "10.05", "1", "10")] * 2, *[("Cake", "10.12", "1", "20")] * 2)

    note = invoice_void(invoice=invoice)

    assert invoice.tax_lines == [
        {"rate": "10", "net": "20.10", "tax": "2.01"},
        {"rate": "20", "net": "20.24", "tax": "4.05"},
    ]
    assert (note.tax_lines, note.tax, note.total) == (invoice.tax_lines, invoice.tax, invoice.total)


# What no column can hold ----------------------------------------------------------------------------------


def test_a_line_described_longer_than_a_line_holds_is_shortened_not_refused(customer, billing_settings):
    draft = invoice_draft_create(customer=customer, lines=[LineInput("Transfer: " + "x" * 400, Decimal("10"))])

    invoice = invoice_issue(invoice=draft)

    description = invoice.lines.get().description
    assert len(description) == 300
    assert description.startswith("Transfer: xxx")
    assert description.endswith("…")


def test_a_customer_known_by_a_long_email_alone_is_billed_to_that_email(billing_settings, organisation):
    email = f"{'a' * 64}@{'b' * 60}.{'c' * 60}.{'d' * 56}.example"
    customer = CustomerFactory(organisation=organisation, email=email, name="")

    invoice = invoice_issue(invoice=invoice_draft_create(customer=customer, lines=[LineInput("Night", Decimal(80))]))

    assert len(email) > 200
    assert invoice.bill_to_name == email


@pytest.mark.parametrize(
    "lines",
    [
        [("99999999999.000", "1000", "0")],
        [("60000000000", "1", "0"), ("60000000000", "1", "0")],
        # Its subtotal and total fit; its tax, 198,000,000,000, does not.
        [("99000000000", "1", "100")] * 2 + [("99000000000", "-1", "0")] * 3,
    ],
    ids=["a line", "the total", "the tax, with discount lines"],
)
def test_an_invoice_larger_than_its_figures_can_hold_is_refused_and_left_a_draft(customer, billing_settings, lines):
    draft = invoice_draft_create(
        customer=customer,
        lines=[LineInput("Yacht", Decimal(price), Decimal(quantity), Decimal(tax)) for price, quantity, tax in lines],
    )

    with pytest.raises(ValidationError, match="more than an invoice can hold"):
        invoice_issue(invoice=draft)

    draft.refresh_from_db()
    assert (draft.status, draft.number) == (Invoice.Status.DRAFT, None)
    assert not OutboxEmail.objects.exists()
