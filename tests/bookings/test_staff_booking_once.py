"""Staff book a service for a customer in the admin: once per page shown, however often it is sent again."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from billing.models import Invoice
from bookings.models import Booking
from outbox.models import OutboxEmail
from portal_auth.models import Customer
from tests.billing.factories import BillingSettingsFactory
from tests.bookings.factories import ServiceFactory, open_every_day
from tests.concurrency import calls_at_once
from tests.factories import StaffUserFactory

BOOKED_ALREADY = "was created already from this page, so it was not created again."
# What one booking sends: the customer's email and invoice, and the business's copy.
EMAILS_OF_ONE_BOOKING = [
    ("desk@voyages.example", "bookings/emails/service_changed_staff"),
    ("nia@example.com", "billing/emails/invoice_issued"),
    ("nia@example.com", "bookings/emails/service_booked"),
]


def emails_written() -> list[tuple[str, str]]:
    return sorted(OutboxEmail.objects.values_list("to", "template"))


def book_url(service) -> str:
    return reverse("admin:bookings_service_book", args=[service.pk])


def booking_page_data(client, service, **fields) -> dict:
    """What the booking page, shown now, posts for a customer new to the organisation, at 10:00 in three days."""
    shown = client.get(book_url(service))
    day = datetime.date.today() + datetime.timedelta(days=3)
    return {
        "sent_once_token": shown.context["form"]["sent_once_token"].value(),
        "email": "Nia@Example.com",
        "name": "Nia",
        "date": day.isoformat(),
        "time": "10:00",
        "places": "2",
        **fields,
    }


@pytest.fixture
def invoiced(bookable):
    BillingSettingsFactory(organisation=bookable.organisation, invoice_services=True, service_tax_rate=Decimal(10))
    return bookable


def test_the_booking_page_carries_its_token_hidden(admin_client, bookable):
    page = admin_client.get(book_url(bookable)).content.decode()

    assert 'type="hidden" name="sent_once_token"' in page
    assert "Sent once token" not in page


def test_the_same_booking_page_sent_twice_books_emails_and_invoices_once(
    admin_client, invoiced, mailoutbox, django_capture_on_commit_callbacks
):
    data = booking_page_data(admin_client, invoiced)

    with django_capture_on_commit_callbacks(execute=True):
        first = admin_client.post(book_url(invoiced), data)
        again = admin_client.post(book_url(invoiced), data, follow=True)

    booking = Booking.objects.get()
    change_url = reverse("admin:bookings_booking_change", args=[booking.pk])
    assert first.status_code == 302 and first["Location"] == change_url
    assert again.redirect_chain == [(change_url, 302)]
    assert f"The booking “{booking}” {BOOKED_ALREADY}" in again.content.decode()
    assert booking.places == 2
    customer = Customer.objects.get(organisation=invoiced.organisation, email="nia@example.com")
    assert booking.booked_by_customer == customer
    assert emails_written() == EMAILS_OF_ONE_BOOKING
    assert len(mailoutbox) == len(EMAILS_OF_ONE_BOOKING)
    assert Invoice.objects.get(kind=Invoice.Kind.INVOICE).booking_reference == booking.reference
    # A page shown afresh is a new sending: the same answers from it are a second booking.
    admin_client.post(book_url(invoiced), booking_page_data(admin_client, invoiced))
    assert Booking.objects.filter(booked_by_customer=customer).count() == 2


def test_a_booking_page_refused_then_sent_twice_books_once(admin_client, bookable):
    data = booking_page_data(admin_client, bookable)

    refused = admin_client.post(book_url(bookable), {**data, "time": "15:00"})
    # The page shown again with the refusal is the same page: nothing was booked from it yet.
    shown_again = {**data, "sent_once_token": refused.context["form"]["sent_once_token"].value()}
    booked = [admin_client.post(book_url(bookable), shown_again) for _ in range(2)]

    booking = Booking.objects.get()
    assert refused.status_code == 200 and "no longer open for booking" in refused.content.decode()
    assert [answer["Location"] for answer in booked] == [
        reverse("admin:bookings_booking_change", args=[booking.pk])
    ] * 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_the_same_booking_page_sent_twice_at_the_same_moment_books_emails_and_invoices_once():
    service = ServiceFactory(capacity=12, organisation__support_email="desk@voyages.example")
    open_every_day(service.resource)
    BillingSettingsFactory(organisation=service.organisation, invoice_services=True)
    staff_user = StaffUserFactory()
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(staff_user)
    data = booking_page_data(clients[0], service)

    answers, errors = calls_at_once(2, lambda: clients.pop().post(book_url(service), data))

    assert errors == []
    booking = Booking.objects.get()
    change_url = reverse("admin:bookings_booking_change", args=[booking.pk])
    assert [(answer.status_code, answer["Location"]) for answer in answers] == [(302, change_url)] * 2
    customer = Customer.objects.get(organisation=service.organisation, email="nia@example.com")
    assert booking.booked_by_customer == customer
    assert emails_written() == EMAILS_OF_ONE_BOOKING
    assert Invoice.objects.filter(kind=Invoice.Kind.INVOICE).count() == 1
