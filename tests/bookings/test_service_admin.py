"""Staff set services up, see a resource's day, and book for a customer through the portal's own service."""

import datetime
import threading
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.urls import reverse

from bookings.admin import BookingAdmin
from bookings.models import Booking, BookingAddOn
from bookings.services import (
    booking_add_on_book,
    service_book,
    service_booking_cancel,
    service_booking_reschedule,
)
from portal_auth.models import Customer
from tests.bookings.factories import AddOnFactory
from tests.conftest import admin_page_data
from tests.factories import CustomerFactory

NOW = datetime.datetime(2027, 3, 1, 8, tzinfo=datetime.UTC)
DAY = datetime.date(2027, 3, 3)
LONDON = ZoneInfo("Europe/London")


def at(day, hour):
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_staff_book_a_service_for_a_new_customer(admin_client, bookable, django_capture_on_commit_callbacks):
    book = reverse("admin:bookings_service_book", args=[bookable.pk])
    page = admin_client.get(book)
    assert page.status_code == 200 and "In Europe/London time." in page.content.decode()
    form = {"email": " Nia@Example.com ", "name": "Nia", "date": "2027-03-03", "time": "10:00", "places": "3"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(book, form)
    booking = Booking.objects.get(service=bookable)
    assert response.status_code == 302 and response["Location"].endswith(f"/{booking.pk}/change/")
    customer = Customer.objects.get(organisation=bookable.organisation, email="nia@example.com")
    assert (booking.booked_by_customer, booking.places) == (customer, 3)
    assert (booking.price, booking.currency) == (3 * bookable.price, "EUR")  # a class: the price a person
    assert booking.slot_starts_at == datetime.datetime(2027, 3, 3, 10, tzinfo=datetime.UTC)  # GMT in March
    assert list(booking.attendees.values_list("email", flat=True)) == ["nia@example.com"]
    to_customer = next(email for email in mail.outbox if email.to == ["nia@example.com"])
    assert "by Voyages" in to_customer.body and to_customer.attachments[0][0] == "booking.ics"


def test_staff_are_held_to_the_same_rules(admin_client, bookable):
    service_book(
        service=bookable,
        customer=CustomerFactory(organisation=bookable.organisation),
        starts_at=datetime.datetime(2027, 3, 3, 10, tzinfo=datetime.UTC),
        places=12,
    )
    form = {"email": "nia@example.com", "date": "2027-03-03", "time": "10:00", "places": "1"}
    response = admin_client.post(reverse("admin:bookings_service_book", args=[bookable.pk]), form)
    assert response.status_code == 200
    assert "Wednesday 3 March 2027 at 09:00 (Europe/London time), Wednesday 3 March 2027 at 11:00" in page(response)
    assert Booking.objects.filter(service=bookable).count() == 1
    assert not Customer.objects.filter(email="nia@example.com").exists()  # a refused booking makes no customer


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31"])
def test_staff_booking_on_a_date_off_the_calendar_is_told_to_choose_another(admin_client, bookable, day):
    form = {"email": "nia@example.com", "date": day, "time": "10:00", "places": "1"}
    response = admin_client.post(reverse("admin:bookings_service_book", args=[bookable.pk]), form)
    assert response.status_code == 200
    assert "Choose a date between 1900 and 9000." in page(response)
    assert not Booking.objects.exists() and not Customer.objects.filter(email="nia@example.com").exists()


@pytest.mark.parametrize("name", ["Nia\u202egnp.exe", "Ni\u200ba", "Nia\u200d"])
def test_staff_booking_for_a_name_with_invisible_formatting_is_told_to_type_it_again(admin_client, bookable, name):
    form = {"email": "nia@example.com", "name": name, "date": "2027-03-03", "time": "10:00", "places": "1"}
    response = admin_client.post(reverse("admin:bookings_service_book", args=[bookable.pk]), form)
    assert response.status_code == 200
    assert (
        "The customer&#x27;s name can have no invisible formatting characters (such as a right-to-left mark or a "
        "zero-width space): type it again rather than pasting it." in page(response)
    )
    assert not Booking.objects.exists() and not Customer.objects.filter(email="nia@example.com").exists()


def page(response) -> str:
    return response.content.decode()


def test_the_set_up_pages_and_a_resources_day(admin_client, bookable):
    assert admin_client.get(reverse("admin:bookings_resource_change", args=[bookable.resource.pk])).status_code == 200
    assert admin_client.get(reverse("admin:bookings_service_change", args=[bookable.pk])).status_code == 200
    resources = admin_client.get(reverse("admin:bookings_resource_changelist")).content.decode()
    assert "Day view" in resources
    service_book(
        service=bookable,
        customer=CustomerFactory(organisation=bookable.organisation),
        starts_at=datetime.datetime(2027, 3, 3, 10, tzinfo=datetime.UTC),
        places=2,
    )
    day = admin_client.get(
        reverse("admin:bookings_booking_changelist"),
        {
            "resource__id__exact": bookable.resource.pk,
            "starts_on__year": 2027,
            "starts_on__month": 3,
            "starts_on__day": 3,
        },
    )
    assert "03 Mar 2027 10:00–11:00 (Europe/London)" in day.content.decode()


def _status_form(booking, status: str) -> dict:
    """The booking's admin form as posted with a new status, its inlines untouched."""
    return {
        "organisation": booking.organisation_id,
        "title": booking.title,
        "starts_on": booking.starts_on.isoformat(),
        "ends_on": booking.ends_on.isoformat(),
        "status": status,
        **{
            f"{prefix}-{count}": "0"
            for prefix in ("attendees", "documents", "booked_add_ons")
            for count in ("TOTAL_FORMS", "INITIAL_FORMS")
        },
    }


def test_staff_confirming_a_provisional_booking_emails_the_customer_with_the_calendar_confirmed(
    admin_client, bookable, customer, django_capture_on_commit_callbacks
):
    bookable.needs_confirmation = True
    bookable.save()
    booking = service_book(service=bookable, customer=customer, starts_at=at(DAY, 10), places=1)
    mail.outbox.clear()
    change = reverse("admin:bookings_booking_change", args=[booking.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(change, _status_form(booking, "confirmed"))

    assert response.status_code == 302
    to_customer = next(email for email in mail.outbox if email.to == [customer.email])
    assert to_customer.subject.startswith(f"Confirmed: {bookable.name}")
    assert "has confirmed your booking" in to_customer.body
    event = icalendar.Calendar.from_ical(to_customer.attachments[0][1]).walk("VEVENT")[0]
    assert (str(event["STATUS"]), int(event["SEQUENCE"])) == ("CONFIRMED", 1)

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(change, _status_form(booking, "confirmed"))  # saved again: no second email
    assert not [email for email in mail.outbox if email.to == [customer.email]]


def test_staff_cancelling_a_service_booking_frees_it_emails_the_calendar_cancel_and_cancels_its_add_ons(
    admin_client, bookable, customer, django_capture_on_commit_callbacks
):
    booking = service_book(service=bookable, customer=customer, starts_at=at(DAY, 10), places=1)
    line, _ = booking_add_on_book(
        booking=booking, add_on=AddOnFactory(organisation=bookable.organisation), customer=customer
    )
    mail.outbox.clear()
    change = reverse("admin:bookings_booking_change", args=[booking.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(change, _status_form(booking, "cancelled"))

    assert response.status_code == 302
    booking.refresh_from_db()
    line.refresh_from_db()
    assert (booking.status, booking.calendar_sequence) == (Booking.Status.CANCELLED, 1)
    assert booking.cancelled_at is not None
    assert line.is_cancelled and line.cancelled_by == BookingAddOn.CancelledBy.STAFF
    to_customer = next(email for email in mail.outbox if email.to == [customer.email])
    assert to_customer.subject.startswith(f"Cancelled: {bookable.name}")
    calendar = icalendar.Calendar.from_ical(to_customer.attachments[0][1])
    assert str(calendar["METHOD"]) == "CANCEL"

    # Set back to confirmed: refused, the time may have been booked since.
    response = admin_client.post(change, _status_form(booking, "confirmed"))
    assert response.status_code == 200
    assert "A cancelled booking of a service stays cancelled" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_staff_saving_a_page_opened_before_the_customer_moved_the_booking_keep_the_move(
    admin_client, bookable, customer
):
    booking = service_book(service=bookable, customer=customer, starts_at=at(DAY, 10), places=1)
    change = reverse("admin:bookings_booking_change", args=[booking.pk])
    shown = admin_client.get(change)
    assert 'name="starts_on"' not in shown.content.decode()  # a slot's days follow its time
    data = {**admin_page_data(shown), "main_contact_name": "Corrected Name"}
    later = DAY + datetime.timedelta(days=2)
    service_booking_reschedule(booking=booking, customer=customer, starts_at=at(later, 9))

    response = admin_client.post(change, data)

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.main_contact_name == "Corrected Name"
    assert (booking.slot_starts_at, booking.starts_on, booking.ends_on) == (at(later, 9), later, later)
    assert booking.calendar_sequence == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_cancellation_made_while_staff_save_the_booking_stands_and_its_place_is_booked_once(
    admin_client, bookable, customer, monkeypatch
):
    """The customer cancels, and another takes the freed place, while staff's save of a name is on its way."""
    bookable.capacity = 1
    bookable.save()
    booking = service_book(service=bookable, customer=customer, starts_at=at(DAY, 10), places=1)
    other = CustomerFactory(organisation=bookable.organisation)
    change = reverse("admin:bookings_booking_change", args=[booking.pk])
    data = {**admin_page_data(admin_client.get(change)), "main_contact_name": "Corrected Name"}
    errors = []

    def cancelled_and_taken() -> None:
        try:
            service_booking_cancel(booking=booking, customer=customer)
            service_book(service=bookable, customer=other, starts_at=at(DAY, 10), places=1)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    customers = threading.Thread(target=cancelled_and_taken)
    save_model = BookingAdmin.save_model

    def meanwhile(self, request, obj, form, change):
        customers.start()
        with connection.cursor() as cursor:  # until the cancellation waits for the booking's lock, or is done without
            while customers.is_alive():
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # in a transaction, the view is read once otherwise
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                if cursor.fetchone()[0]:
                    break
        return save_model(self, request, obj, form, change)

    monkeypatch.setattr(BookingAdmin, "save_model", meanwhile)
    response = admin_client.post(change, data)
    customers.join(timeout=30)

    assert response.status_code == 302 and errors == []
    booking.refresh_from_db()
    assert (booking.status, booking.main_contact_name) == (Booking.Status.CANCELLED, "Corrected Name")
    live = Booking.objects.filter(service=bookable, slot_starts_at=at(DAY, 10)).exclude(status=Booking.Status.CANCELLED)
    assert [b.booked_by_customer for b in live] == [other]


@pytest.mark.parametrize("field", ["min_notice", "max_advance", "free_cancellation_notice"])
def test_staff_cant_give_a_service_a_notice_or_window_of_more_than_ten_years(admin_client, bookable, field):
    change = reverse("admin:bookings_service_change", args=[bookable.pk])
    data = {**admin_page_data(admin_client.get(change)), "max_advance": "3653 00:00:00", field: "3654 00:00:00"}

    response = admin_client.post(change, data)

    assert response.status_code == 200
    assert "At most 10 years (“3653 00:00:00”)." in response.content.decode()
    bookable.refresh_from_db()
    assert getattr(bookable, field) < datetime.timedelta(days=3653)
    assert admin_client.post(change, {**data, field: "3652 00:00:00"}).status_code == 302


def test_staff_who_may_not_add_customers_book_only_for_customers_already_known(staff_client_with, bookable):
    known = CustomerFactory(organisation=bookable.organisation, email="known@example.com")
    clerk = staff_client_with("bookings.add_booking")
    book = reverse("admin:bookings_service_book", args=[bookable.pk])
    slot = {"date": "2027-03-03", "time": "10:00", "places": "1"}

    refused = clerk.post(book, {**slot, "email": "Nia@Example.com", "name": "Nia"})
    booked = clerk.post(book, {**slot, "email": known.email, "name": ""})

    assert refused.status_code == 200
    assert "No customer has this email yet, and you may not add customers" in page(refused)
    assert 'value="Nia@Example.com"' in page(refused)
    assert not Customer.objects.filter(email="nia@example.com").exists()
    assert booked.status_code == 302
    assert list(Booking.objects.values_list("booked_by_customer", flat=True)) == [known.pk]
