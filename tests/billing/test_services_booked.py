"""Services a customer books are invoiced where the organisation turns it on; bookings knows nothing of billing."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from billing.models import Invoice
from bookings.models import Booking
from bookings.services import booking_add_on_book, service_book, service_booking_cancel
from tests.billing.factories import BillingSettingsFactory
from tests.bookings.factories import AddOnFactory, ServiceFactory, open_every_day

NOW = datetime.datetime(2027, 3, 1, 8, tzinfo=datetime.UTC)
STARTS_AT = datetime.datetime(2027, 3, 3, 10, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def tour(organisation):
    organisation.time_zone = "Europe/London"
    organisation.save()
    service = ServiceFactory(organisation=organisation, name="Harbour tour", capacity=12, price=Decimal("40.00"))
    open_every_day(service.resource)
    return service


@pytest.fixture
def invoicing(organisation):
    return BillingSettingsFactory(organisation=organisation, invoice_services=True, service_tax_rate=Decimal(10))


def test_a_booked_service_is_invoiced_for_each_place_with_the_service_tax(invoicing, tour, customer):
    booking = service_book(service=tour, customer=customer, starts_at=STARTS_AT, places=2)

    invoice = Invoice.objects.get()
    assert (invoice.customer, invoice.status, invoice.booking_reference) == (customer, "open", booking.reference)
    assert invoice.source == f"bookings.booking:{booking.pk}"
    assert [(line.description, line.quantity) for line in invoice.lines.all()] == [("Harbour tour: 03 Mar 2027", 2)]
    assert invoice.total == Decimal("88.00")  # 2 × 40.00 and 10 % tax


def test_a_cancelled_unpaid_service_has_its_invoice_voided(invoicing, tour, customer):
    booking = service_book(service=tour, customer=customer, starts_at=STARTS_AT, places=1)
    service_booking_cancel(booking=booking, customer=customer)

    invoice = Invoice.objects.get(kind=Invoice.Kind.INVOICE)
    assert invoice.status == Invoice.Status.VOID
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE, credits=invoice).exists()


def test_a_cancelled_service_has_the_invoices_of_its_add_ons_voided_too(organisation, tour, customer):
    BillingSettingsFactory(
        organisation=organisation, invoice_services=True, invoice_add_ons=True, service_tax_rate=Decimal(10)
    )
    booking = service_book(service=tour, customer=customer, starts_at=STARTS_AT, places=1)
    add_on = AddOnFactory(organisation=organisation, price=Decimal("15.00"))
    booking_add_on_book(booking=booking, add_on=add_on, customer=customer)
    assert Invoice.objects.filter(kind=Invoice.Kind.INVOICE, status=Invoice.Status.OPEN).count() == 2

    service_booking_cancel(booking=booking, customer=customer)

    assert set(Invoice.objects.filter(kind=Invoice.Kind.INVOICE).values_list("status", flat=True)) == {"void"}
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 2


@pytest.mark.parametrize("setting", ["off", "none"])
def test_nothing_is_invoiced_unless_the_organisation_turns_it_on(setting, tour, customer, organisation):
    if setting == "off":
        BillingSettingsFactory(organisation=organisation, invoice_add_ons=True, invoice_services=False)
    service_book(service=tour, customer=customer, starts_at=STARTS_AT, places=1)
    assert Booking.objects.filter(service=tour).count() == 1
    assert not Invoice.objects.exists()


def test_a_free_service_is_not_invoiced(invoicing, organisation, customer):
    free = ServiceFactory(organisation=organisation, price=Decimal(0))
    open_every_day(free.resource)
    service_book(service=free, customer=customer, starts_at=STARTS_AT, places=1)
    assert not Invoice.objects.exists()


def test_an_invoice_that_fails_never_undoes_the_booking(invoicing, tour, customer, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("numbering down")

    monkeypatch.setattr("billing.add_ons.service_invoice_issue", broken)
    service_book(service=tour, customer=customer, starts_at=STARTS_AT, places=1)
    assert Booking.objects.filter(service=tour).exists() and not Invoice.objects.exists()


def test_a_booking_staff_delete_has_its_invoices_and_its_add_ons_voided(organisation, tour, customer):
    BillingSettingsFactory(
        organisation=organisation, invoice_services=True, invoice_add_ons=True, service_tax_rate=Decimal(10)
    )
    booking = service_book(service=tour, customer=customer, starts_at=STARTS_AT, places=1)
    booking_add_on_book(
        booking=booking, add_on=AddOnFactory(organisation=organisation, price=Decimal(15)), customer=customer
    )

    Booking.objects.filter(pk=booking.pk).delete()

    assert set(Invoice.objects.filter(kind=Invoice.Kind.INVOICE).values_list("status", flat=True)) == {"void"}
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 2
