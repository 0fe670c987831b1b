import datetime

import pytest
from django.core.paginator import Paginator
from django.utils import timezone

from bookings.models import Booking, BookingDocument
from bookings.selectors import (
    BookingNotLinked,
    ListedBooking,
    add_ons_for,
    documents_for,
    get_booking_by_link,
    get_booking_for,
    next_bookings_for,
    organisation_offers_services,
    past_bookings_for,
    upcoming_bookings_for,
)
from portal_auth.access_log import LookRefused
from tests.bookings.factories import AddOnFactory, AttendeeFactory, BookingAddOnFactory, ServiceFactory
from tests.factories import CustomerFactory


@pytest.fixture
def same_email_elsewhere(other_organisation, customer):
    """A customer of another organisation with the first customer's email: the same person to another business."""
    return CustomerFactory(organisation=other_organisation, email=customer.email)


def _days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def test_past_bookings_are_counted_and_read_a_window_at_a_time(customer, make_booking):
    for n in range(25):
        make_booking(customer.organisation, customer.email, title=f"Trip {n}", starts_on=_days(-100 - n))
    past = past_bookings_for(customer)

    assert past.count() == 25
    assert [b.title for b in past[0:3]] == ["Trip 0", "Trip 1", "Trip 2"]
    assert [b.title for b in past[20:25]] == [f"Trip {n}" for n in range(20, 25)]
    assert [b.title for b in past[23:40]] == ["Trip 23", "Trip 24"]
    assert past[5:5] == [] and past[30:40] == []
    pages = Paginator(past, 20)
    assert [len(pages.page(number).object_list) for number in (1, 2)] == [20, 5]
    with pytest.raises(TypeError):
        past[20:]


def test_upcoming_bookings_soonest_first_and_the_home_shows_the_next_few(customer, make_booking):
    for n in (9, 3, 5, 1):
        make_booking(customer.organisation, customer.email, title=f"In {n} days", starts_on=_days(n))
    upcoming = upcoming_bookings_for(customer)

    assert [b.title for b in upcoming] == ["In 1 days", "In 3 days", "In 5 days", "In 9 days"]
    assert upcoming.count() == 4 and upcoming.exists()
    assert [b.title for b in upcoming.rows(slice(2, None))] == ["In 5 days", "In 9 days"]
    assert [b.title for b in next_bookings_for(customer)] == ["In 1 days", "In 3 days", "In 5 days"]
    assert [b.title for b in next_bookings_for(customer, limit=1)] == ["In 1 days"]
    assert not past_bookings_for(customer).exists()


def test_the_home_shows_bookings_ahead_and_the_latest_past_one_only_when_none_is_ahead(customer, make_booking):
    make_booking(customer.organisation, customer.email, title="Long ago", starts_on=_days(-60))
    make_booking(customer.organisation, customer.email, title="Last month", starts_on=_days(-30))
    assert [(b.title, b.ahead) for b in next_bookings_for(customer)] == [("Last month", False)]

    ongoing = make_booking(customer.organisation, customer.email, title="Ongoing", starts_on=_days(-2))
    ongoing.ends_on = _days(2)
    ongoing.save()
    make_booking(customer.organisation, customer.email, title="Next week", starts_on=_days(7))
    for _ in range(2):  # the second round runs what the first compiled
        assert [(b.title, b.ahead) for b in next_bookings_for(customer)] == [("Ongoing", True), ("Next week", True)]
        assert [b.title for b in next_bookings_for(customer, limit=1)] == ["Ongoing"]


def test_customers_asking_in_turn_each_get_their_own_bookings_only(
    customer, other_customer, same_email_elsewhere, make_booking
):
    mine = make_booking(customer.organisation, customer.email, title="Mine", starts_on=_days(3))
    make_booking(customer.organisation, customer.email, title="My old one", starts_on=_days(-30))
    theirs = make_booking(customer.organisation, other_customer.email, title="Theirs", starts_on=_days(4))
    elsewhere = make_booking(same_email_elsewhere.organisation, customer.email, title="Elsewhere", starts_on=_days(5))

    for _ in range(2):  # the second round runs what the first compiled
        for who, upcoming, past in (
            (customer, ["Mine"], ["My old one"]),
            (other_customer, ["Theirs"], []),
            (same_email_elsewhere, ["Elsewhere"], []),
        ):
            assert [b.title for b in upcoming_bookings_for(who)] == upcoming
            assert [b.title for b in next_bookings_for(who)] == upcoming
            assert upcoming_bookings_for(who).count() == len(upcoming)
            assert [b.title for b in past_bookings_for(who)[0:20]] == past
            assert past_bookings_for(who).count() == len(past)

        assert get_booking_for(customer, mine.reference).title == "Mine"
        with pytest.raises(BookingNotLinked):
            get_booking_for(customer, theirs.reference)
        with pytest.raises(LookRefused):
            get_booking_for(customer, elsewhere.reference)
        with pytest.raises(LookRefused):
            get_booking_by_link(customer.organisation, elsewhere.reference)


def test_the_booking_page_reads_its_attendees_names_with_the_booking(customer, make_booking, django_assert_num_queries):
    booking = make_booking(customer.organisation, customer.email, title="Lisbon")
    for name in ("Zoë", "Ánh", "Bo"):
        AttendeeFactory(booking=booking, name=name)
    with django_assert_num_queries(1):
        found = get_booking_for(customer, booking.reference)
        attendees = list(found.attendees.all())
    names = [attendee.name for attendee in attendees]
    # In the attendees' own order, each theirs, without their emails (not even read).
    assert names == [a.name for a in booking.attendees.order_by("pk")] and names[-3:] == ["Zoë", "Ánh", "Bo"]
    assert all(a.booking is found and a.get_deferred_fields() == {"email"} for a in attendees)
    assert found.organisation == customer.organisation
    assert [a.name for a in get_booking_by_link(customer.organisation, booking.reference).attendees.all()] == names


def test_documents_are_the_asking_customers_own_on_that_booking(customer, other_customer, make_booking):
    shared = make_booking(customer.organisation, customer.email, other_customer.email)
    another = make_booking(customer.organisation, customer.email)
    for who, booking, name in (
        (customer, shared, "mine.pdf"),
        (other_customer, shared, "theirs.pdf"),
        (customer, another, "other-booking.pdf"),
    ):
        BookingDocument.objects.create(
            booking=booking, uploaded_by=who, file=name, original_name=name, content_type="application/pdf", size=1
        )
    assert [d.original_name for d in documents_for(customer, shared)] == ["mine.pdf"]
    assert [d.original_name for d in documents_for(other_customer, shared)] == ["theirs.pdf"]
    assert documents_for(other_customer, another) == []


def test_add_ons_are_the_bookings_own_organisations(customer, same_email_elsewhere, make_booking):
    booking = make_booking(customer.organisation, customer.email)
    elsewhere = make_booking(same_email_elsewhere.organisation, customer.email)
    transfer = AddOnFactory(organisation=customer.organisation, name="Transfer")
    AddOnFactory(organisation=customer.organisation, name="Dinner")
    AddOnFactory(organisation=same_email_elsewhere.organisation, name="Their spa")
    BookingAddOnFactory(booking=booking, add_on=transfer)

    booked, offered = add_ons_for(booking)
    assert [a.name for a in booked] == ["Transfer"] and [a.name for a in offered] == ["Dinner"]
    booked, offered = add_ons_for(elsewhere)
    assert booked == [] and [a.name for a in offered] == ["Their spa"]


def test_services_are_offered_where_an_active_one_is(organisation, other_organisation):
    ServiceFactory(organisation=organisation)
    ServiceFactory(organisation=other_organisation, is_active=False)
    assert organisation_offers_services(organisation)
    assert not organisation_offers_services(other_organisation)


def test_a_listed_row_shows_a_status_as_the_booking_itself_does_one_no_longer_offered_as_stored():
    for status in [*Booking.Status.values, "on_hold"]:
        row = ListedBooking(1, "REF", "Trip", datetime.date(2026, 1, 1), datetime.date(2026, 1, 2), status, None, None)
        booking = Booking(status=status)
        assert (row.status_tone, row.status_label) == (booking.status_tone, booking.status_label)
    assert Booking(status="confirmed").status_label == "Confirmed"
    assert (Booking(status="on_hold").status_tone, Booking(status="on_hold").status_label) == ("muted", "on_hold")
