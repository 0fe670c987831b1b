"""Add-ons a customer books are invoiced where the organisation turns it on; bookings knows nothing of billing."""

from decimal import Decimal

import pytest

from billing.models import Invoice
from bookings.models import BookingAddOn
from bookings.services import booking_add_on_book, booking_add_on_cancel
from outbox.models import OutboxEmail
from tests.billing.factories import BillingSettingsFactory
from tests.bookings.factories import AddOnFactory, AttendeeFactory, BookingFactory


@pytest.fixture
def booking(customer):
    booking = BookingFactory(organisation=customer.organisation, title="Lisbon weekend")
    AttendeeFactory(booking=booking, email=customer.email)
    return booking


@pytest.fixture
def add_on(organisation):
    return AddOnFactory(organisation=organisation, name="Airport transfer", price=Decimal("45.00"), currency="EUR")


@pytest.fixture
def invoicing(organisation):
    return BillingSettingsFactory(organisation=organisation, invoice_add_ons=True, add_on_tax_rate=Decimal(0))


def test_a_booked_add_on_is_invoiced_once_with_the_price_confirmed(invoicing, booking, add_on, customer):
    line, _ = booking_add_on_book(booking=booking, add_on=add_on, customer=customer)
    booking_add_on_book(booking=booking, add_on=add_on, customer=customer)  # again: nothing new

    invoice = Invoice.objects.get()
    assert (invoice.customer, invoice.total, invoice.status, invoice.number) == (customer, Decimal("45.00"), "open", 1)
    assert invoice.booking_reference == booking.reference
    assert invoice.source == f"bookings.addon:{line.pk}"
    assert [li.description for li in invoice.lines.all()] == ["Airport transfer: Lisbon weekend"]
    email = OutboxEmail.objects.get(template="billing/emails/invoice_issued")
    assert email.attachments.count() == 1


def test_the_add_on_tax_rate_is_added_to_the_price(invoicing, booking, add_on, customer):
    invoicing.add_on_tax_rate = Decimal(23)
    invoicing.save()
    booking_add_on_book(booking=booking, add_on=add_on, customer=customer)
    assert Invoice.objects.get().total == Decimal("55.35")


def test_nothing_is_invoiced_unless_the_organisation_turns_it_on(booking, add_on, customer, organisation):
    BillingSettingsFactory(organisation=organisation, invoice_add_ons=False)
    booking_add_on_book(booking=booking, add_on=add_on, customer=customer)
    assert BookingAddOn.objects.count() == 1
    assert not Invoice.objects.exists()


def test_a_free_add_on_or_one_booked_by_staff_is_not_invoiced(invoicing, booking, organisation, customer):
    free = AddOnFactory(organisation=organisation, price=Decimal(0))
    booking_add_on_book(booking=booking, add_on=free, customer=customer)
    BookingAddOn.objects.create(
        booking=booking, add_on=AddOnFactory(organisation=organisation), price=10, currency="EUR", booked_by="staff"
    )
    assert not Invoice.objects.exists()


def test_cancelling_the_add_on_voids_its_unpaid_invoice(invoicing, booking, add_on, customer):
    line, _ = booking_add_on_book(booking=booking, add_on=add_on, customer=customer)
    booking_add_on_cancel(line=line, customer=customer)
    invoice = Invoice.objects.get(kind="invoice")
    assert invoice.status == "void"
    assert Invoice.objects.get(kind="credit_note").total == Decimal("45.00")


def test_an_invoice_that_fails_never_undoes_the_booking(invoicing, booking, add_on, customer, monkeypatch, caplog):
    def broken(**kwargs):
        Invoice.objects.create(organisation=customer.organisation, customer=customer)  # half-written, then
        raise RuntimeError("PDF library down")

    monkeypatch.setattr("billing.add_ons.add_on_invoice_issue", broken)
    line, created = booking_add_on_book(booking=booking, add_on=add_on, customer=customer)

    assert created and BookingAddOn.objects.filter(pk=line.pk).exists()
    assert not Invoice.objects.exists()  # rolled back to before the invoice, not the booking
    assert OutboxEmail.objects.filter(template="bookings/emails/add_on_booked").count() == 1
    assert "could not be written" in caplog.text
