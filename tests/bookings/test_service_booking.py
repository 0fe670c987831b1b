"""A customer books a service for themselves: the pages one choice at a time, the check page, the booking it
makes (an ordinary booking with them as attendee), its emails and calendar file, and cancelling and moving it
while the free-cancellation window is open."""

import datetime
import html
import re
from contextlib import contextmanager
from decimal import Decimal
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from bookings import views
from bookings.calendar import booking_calendar
from bookings.models import Attendee, Booking, BookingAddOn, Service
from bookings.services import (
    SlotUnavailable,
    booking_add_on_book,
    booking_add_on_cancel,
    service_book,
    service_booking_cancel,
    service_booking_reschedule,
)
from bookings.views import ANSWERS_SESSION_KEY
from outbox.models import OutboxEmail
from portal_auth.models import AccessEvent
from tests.bookings.factories import AddOnFactory, BookingFactory, ServiceFactory
from tests.factories import CustomerFactory
from tests.portal_auth.test_drafts import after_session_lifetime, browser, csrf_token, sign_in_by_form

LONDON = ZoneInfo("Europe/London")
TODAY = datetime.date(2027, 3, 1)  # a Monday
NOW = datetime.datetime(2027, 3, 1, 8, tzinfo=datetime.UTC)
DAY = datetime.date(2027, 3, 3)


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """What a block enqueues in the outbox is sent when it ends, as after a commit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def at(day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=LONDON)


def url(name, organisation, **kwargs):
    return reverse(f"bookings:{name}", kwargs={"org": organisation.slug, **kwargs})


def page(response) -> str:
    return response.content.decode()


def confirmation(client, organisation) -> dict[str, str]:
    """What the check page's Confirm posts: its hidden fields, as the page shows them now."""
    shown = page(client.get(url("book_check", organisation)))
    return {
        name: html.unescape(value) for name, value in re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', shown)
    }


def confirm(client, organisation):
    return client.post(url("book_check", organisation), confirmation(client, organisation))


def test_a_customer_books_two_places_on_a_class_page_by_page(sign_in, customer, bookable):
    organisation = bookable.organisation
    client = sign_in(customer)

    services = client.get(url("book", organisation))
    assert services.status_code == 200
    assert "Harbour tour" in page(services) and "1 hour" in page(services)

    days = client.get(url("book_days", organisation, service_id=bookable.pk))
    assert "Wed 3 Mar 2027" in page(days) and "Europe/London time" in page(days)
    assert url("book_times", organisation, service_id=bookable.pk, day=DAY) in page(days)

    times = client.get(url("book_times", organisation, service_id=bookable.pk, day=DAY))
    assert "10:00 to 11:00" in page(times) and "12 places left" in page(times)
    details_url = url("book_details", organisation, service_id=bookable.pk, day=DAY, time=datetime.time(10))
    assert details_url in page(times)

    details = page(client.get(details_url))
    assert details.count("(optional)") == 1  # the note's label says it once

    answered = client.post(details_url, {"places": "2", "note": "One of us uses a wheelchair."})
    assert answered.status_code == 302 and answered["Location"] == url("book_check", organisation)
    assert not Booking.objects.filter(service=bookable).exists()  # answering books nothing

    check = client.get(url("book_check", organisation))
    assert "Check your booking" in page(check)
    for shown in ("Harbour tour", "Wed 3 Mar 2027", "10:00 to 11:00", "Europe/London", "One of us uses a wheelchair."):
        assert shown in page(check)
    assert 'href="' + details_url + '"' in page(check)  # each answer can be changed
    # What it costs in all, before committing to it: 2 places at 40.00 EUR a person.
    assert "40.00 EUR</span> a person" in page(check) and "80.00 EUR</span> for 2 people" in page(check)
    assert "Confirm booking for 80.00 EUR</button>" in page(check)

    confirmed = client.post(url("book_check", organisation), confirmation(client, organisation))
    booking = Booking.objects.get(service=bookable)
    assert confirmed.status_code == 302 and confirmed["Location"] == url(
        "detail", organisation, reference=booking.reference
    )
    assert (booking.places, booking.status, booking.note) == (2, "confirmed", "One of us uses a wheelchair.")
    assert booking.slot_starts_at == at(DAY, 10) and booking.slot_ends_at == at(DAY, 11)
    assert (booking.starts_on, booking.ends_on, booking.resource) == (DAY, DAY, bookable.resource)
    assert list(booking.attendees.values_list("email", flat=True)) == [customer.email]
    assert booking.booked_by_customer == customer

    shown = client.get(confirmed["Location"])
    assert f"Your reference is {booking.reference}" in page(shown)
    assert "10:00 to 11:00" in page(shown) and "Europe/London time" in page(shown)
    listed = page(client.get(url("list", organisation)))
    assert booking.reference in listed  # in My bookings at once, with its time on its day
    assert "Wed 3 Mar 2027, 10:00 to 11:00" in listed
    assert "Wed 3 Mar 2027, 10:00 to 11:00" in page(client.get(f"/{organisation.slug}/"))

    # The class shows two fewer places to everyone.
    other = sign_in(CustomerFactory(organisation=organisation))
    assert "10 places left" in page(other.get(url("book_times", organisation, service_id=bookable.pk, day=DAY)))


def test_the_confirmation_email_carries_a_calendar_file_in_the_organisations_zone(customer, bookable, sent):
    with sent():
        booking = service_book(service=bookable, customer=customer, starts_at=at(DAY, 10), places=2)
    to_customer, to_desk = sorted(mail.outbox, key=lambda email: email.to != [customer.email])
    assert to_customer.to == [customer.email] and to_desk.to == ["desk@voyages.example"]
    assert (
        booking.reference in to_customer.body
        and "Wednesday 3 March 2027 at 10:00 (Europe/London time)" in to_customer.body
    )
    assert customer.email in to_desk.body and "Places: 2" in to_desk.body
    ((name, content, mimetype),) = to_customer.attachments
    assert name == "booking.ics" and mimetype.startswith("text/calendar")
    event = next(iter(icalendar.Calendar.from_ical(content).walk("VEVENT")))
    assert event.decoded("dtstart") == at(DAY, 10) and str(event["dtstart"].params["TZID"]) == "Europe/London"
    assert event.decoded("dtend") == at(DAY, 11)
    assert booking.reference in str(event["uid"]) and int(event["sequence"]) == 0
    assert str(event["organizer"]) == "mailto:desk@voyages.example"
    assert str(event["organizer"].params["CN"]) == bookable.organisation.public_name
    assert "VTIMEZONE" in content
    # Sent, the stored copy keeps no file: it is never sent again.
    assert not OutboxEmail.objects.get(to=customer.email).attachments.exists()


def test_the_days_page_leads_to_later_dates_and_back(sign_in, customer, bookable):
    client = sign_in(customer)
    days_url = url("book_days", bookable.organisation, service_id=bookable.pk)

    first = page(client.get(days_url))
    assert "Later dates" in first and "Earlier dates" not in first

    # Bookable 30 days ahead (to 31 March): the second page is the last.
    later = page(client.get(f"{days_url}?from=2027-03-29"))
    assert "Mon 29 Mar 2027" in later and "Wed 3 Mar 2027" not in later
    assert 'href="?from=2027-03-01">← Earlier dates' in later  # four weeks back, not before today
    assert "Later dates" not in later


def test_a_service_staff_confirm_starts_provisional(customer, bookable, sent):
    bookable.needs_confirmation = True
    bookable.save()
    with sent():
        booking = service_book(service=bookable, customer=customer, starts_at=at(DAY, 9), places=1)
    assert booking.status == Booking.Status.PROVISIONAL
    assert "confirm" in mail.outbox[0].body.lower()
    assert "TENTATIVE" in mail.outbox[0].attachments[0][1]


def test_confirming_twice_books_once_and_emails_once(sign_in, customer, bookable, sent):
    """A double click, or a retry on a slow connection: the second press arrives with the same answers, as the
    first's response has not yet ended them."""
    organisation = bookable.organisation
    client = sign_in(customer)
    client.post(
        url("book_details", organisation, service_id=bookable.pk, day=DAY, time=datetime.time(10)), {"places": "2"}
    )
    answers = client.session[ANSWERS_SESSION_KEY]
    confirmed = confirmation(client, organisation)
    with sent():
        first = client.post(url("book_check", organisation), confirmed)
    session = client.session
    session[ANSWERS_SESSION_KEY] = answers
    session.save()
    mail.outbox.clear()

    with sent():
        second = client.post(url("book_check", organisation), confirmed)

    booking = Booking.objects.get(service=bookable)
    assert first["Location"] == second["Location"] == url("detail", organisation, reference=booking.reference)
    assert booking.places == 2 and mail.outbox == []
    # Answering again is a new confirmation: it books again.
    client.post(
        url("book_details", organisation, service_id=bookable.pk, day=DAY, time=datetime.time(10)), {"places": "1"}
    )
    with sent():
        confirm(client, organisation)
    assert Booking.objects.filter(service=bookable).count() == 2


def test_a_slot_taken_meanwhile_is_refused_at_confirmation_with_the_nearest_times(sign_in, customer, bookable, sent):
    organisation = bookable.organisation
    bookable.capacity = 1
    bookable.save()
    client = sign_in(customer)
    client.post(
        url("book_details", organisation, service_id=bookable.pk, day=DAY, time=datetime.time(10)), {"places": "1"}
    )
    confirmed = confirmation(client, organisation)
    service_book(service=bookable, customer=CustomerFactory(organisation=organisation), starts_at=at(DAY, 10), places=1)
    mail.outbox.clear()

    with sent():
        refused = client.post(url("book_check", organisation), confirmed)
    assert refused.status_code == 409
    assert "That time is no longer free" in page(refused) and "Nothing was booked" in page(refused)
    for nearest in ("09:00", "11:00"):
        assert nearest in page(refused)
    assert Booking.objects.filter(service=bookable).count() == 1
    assert not Attendee.objects.filter(email=customer.email).exists()
    assert mail.outbox == []


def test_more_people_than_places_left_is_refused(sign_in, customer, bookable):
    organisation = bookable.organisation
    service_book(
        service=bookable, customer=CustomerFactory(organisation=organisation), starts_at=at(DAY, 10), places=11
    )
    client = sign_in(customer)
    details = url("book_details", organisation, service_id=bookable.pk, day=DAY, time=datetime.time(10))
    response = client.post(details, {"places": "2"})
    assert response.status_code == 400
    assert "Choose from 1 to 1 people: the places left." in page(response)
    with pytest.raises(SlotUnavailable):
        service_book(service=bookable, customer=customer, starts_at=at(DAY, 10), places=2)
    assert Booking.objects.filter(service=bookable).count() == 1


@pytest.mark.parametrize(
    ("starts_at", "why"),
    [
        (at(TODAY, 9), "within the notice"),
        (at(DAY, 13), "outside the opening hours"),
        (at(DAY, 10, 30), "not a slot's start"),
        (at(TODAY + datetime.timedelta(days=31), 10), "beyond the bookable window"),
    ],
)
def test_only_a_free_slot_in_the_bookable_window_can_be_booked(customer, bookable, starts_at, why):
    with pytest.raises(SlotUnavailable):
        service_book(service=bookable, customer=customer, starts_at=starts_at, places=1)
    assert not Booking.objects.exists(), why


def test_two_services_sharing_a_resource_are_never_booked_at_once(customer, bookable):
    private = ServiceFactory(organisation=bookable.organisation, resource=bookable.resource, name="Private tour")
    service_book(service=bookable, customer=customer, starts_at=at(DAY, 10), places=1)
    with pytest.raises(SlotUnavailable):
        service_book(service=private, customer=customer, starts_at=at(DAY, 10), places=1)
    assert Booking.objects.filter(resource=bookable.resource).count() == 1


def test_pages_of_another_organisations_service_are_not_found(sign_in, customer, other_organisation):
    foreign = ServiceFactory(organisation=other_organisation)
    client = sign_in(customer)
    assert client.get(url("book_days", customer.organisation, service_id=foreign.pk)).status_code == 404
    assert client.get(f"/{customer.organisation.slug}/bookings/book/{foreign.pk}/2027-13-40/").status_code == 404


def test_the_pages_need_a_signed_in_customer(client, bookable):
    response = client.get(url("book", bookable.organisation))
    assert response.status_code == 302 and "/sign-in/" in response["Location"]


# ---------------------------------------------------------------------------------------------
# Cancel and move


@pytest.fixture
def booked(customer, bookable):
    booking = service_book(service=bookable, customer=customer, starts_at=at(DAY, 10), places=2)
    mail.outbox.clear()
    return booking


def test_a_customer_cancels_after_confirming_and_the_place_is_free_at_once(sign_in, customer, booked, bookable, sent):
    organisation = bookable.organisation
    client = sign_in(customer)
    cancel = url("cancel", organisation, reference=booked.reference)
    assert "Cancel booking…" in page(client.get(url("detail", organisation, reference=booked.reference)))
    asked = client.get(cancel)
    assert "Yes, cancel it" in page(asked)
    booked.refresh_from_db()
    assert booked.status == Booking.Status.CONFIRMED  # the page alone cancels nothing

    with sent():
        done = client.post(cancel)
    assert done.status_code == 302
    booked.refresh_from_db()
    assert booked.status == Booking.Status.CANCELLED and booked.cancelled_at is not None
    assert sorted(email.to[0] for email in mail.outbox) == sorted([customer.email, "desk@voyages.example"])
    calendar = next(email for email in mail.outbox if email.to == [customer.email]).attachments[0][1]
    assert "METHOD:CANCEL" in calendar and "SEQUENCE:1" in calendar
    assert "12 places left" in page(client.get(url("book_times", organisation, service_id=bookable.pk, day=DAY)))


def test_cancelling_twice_ends_on_the_booking_saying_it_is_cancelled_once(sign_in, customer, booked, bookable, sent):
    client = sign_in(customer)
    cancel = url("cancel", bookable.organisation, reference=booked.reference)
    with sent():
        client.post(cancel)
        again = client.post(cancel, follow=True)  # a double click, or Back and send again

    assert again.redirect_chain == [(url("detail", bookable.organisation, reference=booked.reference), 302)]
    shown = page(again)
    assert "Harbour tour is cancelled." in shown and "can&#39;t be cancelled online" not in shown
    assert len([email for email in mail.outbox if email.to == [customer.email]]) == 1


def test_cancelling_closes_at_the_free_cancellation_deadline(sign_in, customer, booked, bookable, sent):
    cancel = url("cancel", bookable.organisation, reference=booked.reference)
    deadline = booked.slot_starts_at - bookable.free_cancellation_notice
    with time_machine.travel(deadline - datetime.timedelta(seconds=1), tick=False):
        assert "Yes, cancel it" in page(sign_in(customer).get(cancel))
    with time_machine.travel(deadline, tick=False), sent():
        client = sign_in(customer)
        refused = client.post(cancel)
        assert refused.status_code == 403
        assert "Free cancellation and changes ended Tuesday 2 March 2027 at 10:00 (Europe/London time)" in page(refused)
        assert "desk@voyages.example" in page(refused)
        detail = page(client.get(url("detail", bookable.organisation, reference=booked.reference)))
        assert "Cancel booking…" not in detail and "desk@voyages.example" in detail
    booked.refresh_from_db()
    assert booked.status == Booking.Status.CONFIRMED
    assert mail.outbox == []


def test_only_the_customer_who_booked_may_cancel(sign_in, booked, bookable):
    fellow = CustomerFactory(organisation=bookable.organisation, email="fellow@example.com")
    Attendee.objects.create(booking=booked, name="Fellow", email=fellow.email)
    response = sign_in(fellow).post(url("cancel", bookable.organisation, reference=booked.reference))
    assert response.status_code == 403
    assert "Only the person who made this booking" in page(response)
    booked.refresh_from_db()
    assert booked.status == Booking.Status.CONFIRMED


def test_a_customer_moves_a_booking_to_another_free_time(sign_in, customer, booked, bookable, sent):
    organisation = bookable.organisation
    client = sign_in(customer)
    days = client.get(url("reschedule_days", organisation, reference=booked.reference))
    assert "Move your booking" in page(days)
    times = client.get(url("reschedule_times", organisation, reference=booked.reference, day=DAY))
    move = url("reschedule", organisation, reference=booked.reference, day=DAY, time=datetime.time(11))
    assert move in page(times)
    assert "Check the new time" in page(client.get(move))

    with sent():
        moved = client.post(move)
    assert moved.status_code == 302
    booked.refresh_from_db()
    assert (booked.slot_starts_at, booked.places, booked.calendar_sequence) == (at(DAY, 11), 2, 1)
    assert sorted(email.to[0] for email in mail.outbox) == sorted([customer.email, "desk@voyages.example"])
    to_customer = next(email for email in mail.outbox if email.to == [customer.email])
    assert "from Wednesday 3 March 2027 at 10:00" in to_customer.body and "SEQUENCE:1" in to_customer.attachments[0][1]
    slots = page(client.get(url("book_times", organisation, service_id=bookable.pk, day=DAY)))
    assert '10:00 to 11:00</a>\n        <span class="meta">12 places left' in slots


def test_moving_to_a_slot_without_room_changes_nothing(customer, booked, bookable):
    other = CustomerFactory(organisation=bookable.organisation)
    service_book(service=bookable, customer=other, starts_at=at(DAY, 11), places=11)
    with pytest.raises(SlotUnavailable):
        service_booking_reschedule(booking=booked, customer=customer, starts_at=at(DAY, 11))
    booked.refresh_from_db()
    assert booked.slot_starts_at == at(DAY, 10)


def test_a_staff_made_booking_cannot_be_changed_online(customer, bookable):
    booking = BookingFactory(organisation=bookable.organisation)
    Attendee.objects.create(booking=booking, name="Me", email=customer.email)
    with pytest.raises(Exception, match="managed by the business"):
        service_booking_cancel(booking=booking, customer=customer)


def test_the_booking_pages_show_its_times_in_the_organisations_zone(sign_in, customer, bookable):
    # London is on UTC in March: a zone far from it shows a time read from the database left in UTC.
    bookable.organisation.time_zone = "Pacific/Chatham"
    bookable.organisation.save()
    starts_at = datetime.datetime.combine(DAY, datetime.time(10), tzinfo=ZoneInfo("Pacific/Chatham"))
    booking = service_book(service=bookable, customer=customer, starts_at=starts_at, places=2, note="")
    client = sign_in(customer)

    detail = page(client.get(url("detail", bookable.organisation, reference=booking.reference)))
    assert "Wed 3 Mar 2027, 10:00 to 11:00</time> (Pacific/Chatham time)" in detail
    cancel = page(client.get(url("cancel", bookable.organisation, reference=booking.reference)))
    assert "Wed 3 Mar 2027 at 10:00 (Pacific/Chatham time)" in cancel
    move = url("reschedule", bookable.organisation, reference=booking.reference, day=DAY, time=datetime.time(11))
    assert "<dt>Now</dt><dd>Wed 3 Mar 2027 at 10:00</dd>" in page(client.get(move))


def test_add_ons_on_a_booked_service_can_be_cancelled_within_its_free_cancellation_window(customer, booked, bookable):
    from bookings.services import booking_add_on_cancellation_deadline

    assert booking_add_on_cancellation_deadline(booking=booked) == at(DAY, 10) - bookable.free_cancellation_notice


def test_the_support_address_is_told_what_to_confirm_and_what_changed(customer, bookable, sent):
    bookable.needs_confirmation = True
    bookable.save()
    with sent():
        booking = service_book(service=bookable, customer=customer, starts_at=at(DAY, 9), places=1, note="Window")
        service_booking_cancel(booking=booking, customer=customer)
    subjects = [email.subject for email in mail.outbox if email.to == ["desk@voyages.example"]]
    assert subjects == [
        "New booking to confirm: Harbour tour, Wednesday 3 March 2027 at 09:00 (Europe/London time)",
        "Cancelled by the customer: Harbour tour, Wednesday 3 March 2027 at 09:00 (Europe/London time)",
    ]
    assert "Note: Window" in mail.outbox[1].body and "/admin/bookings/booking/" in mail.outbox[1].body


def test_confirmations_are_rate_limited_per_customer(sign_in, customer, bookable, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "service_booking": "1/h/key"}
    client = sign_in(customer)
    organisation = bookable.organisation
    for hour, expected in ((9, 302), (10, 429)):
        details = url("book_details", organisation, service_id=bookable.pk, day=DAY, time=datetime.time(hour))
        client.post(details, {"places": "1"})
        assert confirm(client, organisation).status_code == expected
    assert Booking.objects.filter(service=bookable).count() == 1


def test_a_kept_booking_page_follows_the_services_terms_and_the_deadline_passing(sign_in, customer, booked, bookable):
    detail = url("detail", bookable.organisation, reference=booked.reference)
    listed = url("list", bookable.organisation)
    deadline = booked.slot_starts_at - bookable.free_cancellation_notice
    with time_machine.travel(deadline - datetime.timedelta(minutes=2), tick=False):
        client = sign_in(customer)
        assert "Cancel booking…" in page(client.get(detail))
        assert client.get(detail).context is None  # kept in the page cache
        assert "Book a service" in page(client.get(listed)) and client.get(listed).context is None

        bookable.free_cancellation_notice = datetime.timedelta(hours=48)  # staff: its deadline has passed already
        bookable.save()
        assert "Cancel booking…" not in page(client.get(detail))
        bookable.free_cancellation_notice = datetime.timedelta(hours=24)
        bookable.save()
        assert "Cancel booking…" in page(client.get(detail))
        bookable.is_active = False
        bookable.save()
        assert "Book a service" not in page(client.get(listed))

    with time_machine.travel(deadline + datetime.timedelta(minutes=5), tick=False):
        assert "Cancel booking…" not in page(client.get(detail))


def test_cancelling_a_service_booking_cancels_its_add_ons(customer, booked, bookable):
    add_on = AddOnFactory(organisation=bookable.organisation)
    kept_apart, _ = booking_add_on_book(booking=booked, add_on=add_on, customer=customer)
    booking_add_on_cancel(line=kept_apart, customer=customer)
    kept_apart.refresh_from_db()
    first_cancelled = (kept_apart.cancelled_at, kept_apart.pk)
    line, _ = booking_add_on_book(booking=booked, add_on=add_on, customer=customer)  # booked again, a new line

    service_booking_cancel(booking=booked, customer=customer)

    line.refresh_from_db()
    kept_apart.refresh_from_db()
    assert line.is_cancelled and line.cancelled_by == BookingAddOn.CancelledBy.CUSTOMER
    assert line.cancelled_by_customer == customer
    assert (kept_apart.cancelled_at, kept_apart.pk) == first_cancelled
    assert not BookingAddOn.objects.filter(booking=booked, cancelled_at__isnull=True).exists()


def test_an_add_on_confirmed_as_its_booking_is_cancelled_is_refused_and_nothing_is_booked(
    sign_in, customer, booked, bookable, monkeypatch
):
    """The customer confirms an add-on in one tab while the booking is cancelled in another: the cancellation commits
    after the confirmation has read the booking, before it books the add-on."""
    add_on = AddOnFactory(organisation=bookable.organisation, name="Dry bag")
    book = views.booking_add_on_book

    def after_the_cancellation(*, booking, **kwargs):
        service_booking_cancel(booking=booking, customer=customer)
        return book(booking=booking, **kwargs)

    monkeypatch.setattr(views, "booking_add_on_book", after_the_cancellation)
    client = sign_in(customer)
    add_on_page = url("add_on_book", bookable.organisation, reference=booked.reference, add_on_id=add_on.pk)
    response = client.post(add_on_page, {"price": str(add_on.price), "currency": add_on.currency})

    assert response.status_code == 400
    assert "This booking is cancelled: add-ons can&#39;t be booked on it." in page(response)
    assert "Confirm and book" not in page(response)
    assert not BookingAddOn.objects.filter(booking=booked, cancelled_at__isnull=True).exists()
    assert not OutboxEmail.objects.filter(template="bookings/emails/add_on_booked").exists()


def test_no_add_on_is_offered_or_booked_on_a_slot_that_is_over_though_its_day_is_not(
    sign_in, customer, booked, bookable
):
    add_on = AddOnFactory(organisation=bookable.organisation, name="Dry bag")
    detail = url("detail", bookable.organisation, reference=booked.reference)
    add_on_page = url("add_on_book", bookable.organisation, reference=booked.reference, add_on_id=add_on.pk)
    with time_machine.travel(at(DAY, 10, 59), tick=False):  # the 10:00 slot is still on
        assert "Book Dry bag…" in page(sign_in(customer).get(detail))

    with time_machine.travel(at(DAY, 17), tick=False):  # it ended at 11:00
        client = sign_in(customer)
        assert "Book Dry bag…" not in page(client.get(detail))
        response = client.post(add_on_page, {"price": str(add_on.price), "currency": add_on.currency})

    assert response.status_code == 400
    assert "This booking has ended: add-ons can&#39;t be booked on it." in page(response)
    assert not BookingAddOn.objects.exists()


def test_the_times_around_a_change_of_the_clocks_name_their_offsets(sign_in, customer, bookable):
    """London repeats 01:00-02:00 on 31 October 2027: the hour from 01:00 BST ends at 01:00 GMT."""
    sunday = datetime.date(2027, 10, 31)
    bookable.resource.opening_hours.filter(weekday=sunday.weekday()).update(
        opens=datetime.time(0), closes=datetime.time(3)
    )
    with time_machine.travel(datetime.datetime(2027, 10, 20, 8, tzinfo=datetime.UTC), tick=False):
        shown = page(
            sign_in(customer).get(url("book_times", bookable.organisation, service_id=bookable.pk, day=sunday))
        )

    times = re.findall(r'">(\d\d:\d\d[^<]*)</a>', shown)
    assert times == ["00:00 to 01:00", "01:00 BST to 01:00 GMT", "02:00 to 03:00"]


def test_a_slot_in_the_hour_the_clocks_repeat_is_written_in_utc_in_the_calendar(customer, bookable):
    """London repeats 01:00-02:00 on 31 October 2027: 01:30 GMT (the second one) can't be written as a wall time."""
    zone = bookable.organisation.zone
    second = datetime.datetime(2027, 10, 31, 1, 30, tzinfo=datetime.UTC)  # 01:30 GMT, after 01:30 BST
    booking = Booking(
        organisation=bookable.organisation,
        reference="R1",
        title="Night walk",
        status=Booking.Status.CONFIRMED,
        slot_starts_at=second,
        slot_ends_at=second + datetime.timedelta(hours=1),
    )

    event = next(iter(icalendar.Calendar.from_ical(booking_calendar(booking, url="https://x/").content).walk("VEVENT")))

    assert event.decoded("dtstart") == second and "TZID" not in event["dtstart"].params
    assert event.decoded("dtend") == second + datetime.timedelta(hours=1)
    assert event.decoded("dtend") > event.decoded("dtstart")
    assert second.astimezone(zone).fold == 1


def test_the_check_page_shows_the_deadline_enforced_across_a_clock_change(sign_in, customer, bookable):
    """London moves to summer time on Sunday 28 March 2027: 24 hours before 10:00 BST that day is 09:00 GMT."""
    organisation = bookable.organisation
    sunday = datetime.date(2027, 3, 28)
    with time_machine.travel(datetime.datetime(2027, 3, 20, 8, tzinfo=datetime.UTC), tick=False):
        client = sign_in(customer)
        answered = client.post(
            url("book_details", organisation, service_id=bookable.pk, day=sunday, time=datetime.time(10)),
            {"places": "1"},
        )
        assert answered.status_code == 302, page(answered)[:3000]
        check = page(client.get(url("book_check", organisation)))

    free = check[check.index("Free cancellation") :][:200]
    assert "27 Mar 2027 at 09:00" in free, free


def test_a_booking_is_not_offered_or_moved_to_the_time_it_already_has(sign_in, customer, booked, bookable):
    times = page(
        sign_in(customer).get(url("reschedule_times", bookable.organisation, reference=booked.reference, day=DAY))
    )
    assert "11:00" in times and "10:00 to 11:00" not in times  # its own time is not offered

    mail.outbox.clear()
    same = service_booking_reschedule(booking=booked, customer=customer, starts_at=at(DAY, 10))

    assert same.calendar_sequence == 0 and mail.outbox == []


def test_confirming_more_people_than_are_left_says_how_many_are_and_offers_times_with_room(sign_in, customer, bookable):
    bookable.capacity = 3
    bookable.save()
    organisation = bookable.organisation
    client = sign_in(customer)
    client.post(
        url("book_details", organisation, service_id=bookable.pk, day=DAY, time=datetime.time(10)), {"places": "3"}
    )
    confirmed = confirmation(client, organisation)
    for hour, places in ((9, 2), (11, 2), (10, 1)):  # taken meanwhile: 10:00 has 2 places left, the others 1
        service_book(
            service=bookable,
            customer=CustomerFactory(organisation=organisation),
            starts_at=at(DAY, hour),
            places=places,
        )

    refused = client.post(url("book_check", organisation), confirmed)

    assert refused.status_code == 409
    shown = page(refused)
    assert "<title>Only 2 places left at that time" in shown
    assert "has 2 places left, fewer than the 3 you asked for. Nothing was booked." in shown
    details = url("book_details", organisation, service_id=bookable.pk, day=DAY, time=datetime.time(10))
    assert f'<a href="{details}">Book 2 places at 10:00 instead</a>' in shown
    assert "The nearest free times for 3 people" in shown and "1 place left" not in shown
    assert "Tue 2 Mar 2027 at 10:00" in shown
    assert not Booking.objects.filter(booked_by_customer=customer).exists()


def test_moving_lists_only_the_days_with_a_time_that_has_room_for_the_booking(sign_in, customer, booked, bookable):
    """The booking holds 2 places at 10:00: on its day, 09:00 and 11:00 have 1 place left, and its own time is not a
    move."""
    bookable.capacity = 2
    bookable.save()
    organisation = bookable.organisation
    for hour in (9, 11):
        service_book(
            service=bookable, customer=CustomerFactory(organisation=organisation), starts_at=at(DAY, hour), places=1
        )
    client = sign_in(customer)

    days = page(client.get(url("reschedule_days", organisation, reference=booked.reference)))
    assert url("reschedule_times", organisation, reference=booked.reference, day=DAY) not in days
    after = DAY + datetime.timedelta(days=1)
    assert url("reschedule_times", organisation, reference=booked.reference, day=after) in days

    move = url("reschedule", organisation, reference=booked.reference, day=DAY, time=datetime.time(9))
    refused = client.post(move)
    assert refused.status_code == 409
    assert "has 1 place left, fewer than the 2 your booking holds." in page(refused)
    assert "Book 1 place" not in page(refused)
    booked.refresh_from_db()
    assert booked.slot_starts_at == at(DAY, 10)


def test_a_customer_with_no_name_and_a_long_email_books_as_that_email(sign_in, bookable):
    email = f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 30}.example"  # 231 characters, as an address may have
    customer = CustomerFactory(organisation=bookable.organisation, name="", email=email)
    client = sign_in(customer)
    details = url("book_details", bookable.organisation, service_id=bookable.pk, day=DAY, time=datetime.time(10))
    client.post(details, {"places": "1"})

    response = confirm(client, bookable.organisation)

    assert response.status_code == 302
    booking = Booking.objects.get(booked_by_customer=customer)
    attendee = booking.attendees.get()
    assert (attendee.name, attendee.email) == (email[:200], email)
    assert sign_in(customer).get(url("detail", bookable.organisation, reference=booking.reference)).status_code == 200


def test_moving_to_the_time_the_booking_has_says_so_and_changes_nothing(sign_in, customer, booked, bookable, sent):
    client = sign_in(customer)
    same = url("reschedule", bookable.organisation, reference=booked.reference, day=DAY, time=datetime.time(10))
    detail = url("detail", bookable.organisation, reference=booked.reference)

    shown = client.get(same, follow=True)
    with sent():
        moved = client.post(same, follow=True)

    for response in (shown, moved):
        assert response.redirect_chain == [(detail, 302)]
        assert "Harbour tour is already at this time." in page(response) and "has moved" not in page(response)
    booked.refresh_from_db()
    assert (booked.slot_starts_at, booked.calendar_sequence) == (at(DAY, 10), 0)
    assert mail.outbox == []


def test_the_move_pages_of_a_booking_not_linked_to_the_customer_say_so_and_are_logged(sign_in, customer, bookable):
    theirs = service_book(
        service=bookable, customer=CustomerFactory(organisation=bookable.organisation), starts_at=at(DAY, 10), places=1
    )
    client = sign_in(customer)

    for moving in (
        url("reschedule_days", bookable.organisation, reference=theirs.reference),
        url("reschedule_times", bookable.organisation, reference=theirs.reference, day=DAY),
    ):
        response = client.get(moving)
        assert response.status_code == 403
        assert f"This booking is not linked to {customer.email}" in page(response)
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_REFUSED, customer=customer).count() == 2


def test_a_booking_of_a_service_no_longer_offered_can_be_cancelled_but_not_moved(sign_in, customer, booked, bookable):
    bookable.is_active = False
    bookable.save()
    client = sign_in(customer)
    organisation = bookable.organisation

    detail = page(client.get(url("detail", organisation, reference=booked.reference)))
    assert "Cancel booking…" in detail and "Change time…" not in detail
    for moving in (
        url("reschedule_days", organisation, reference=booked.reference),
        url("reschedule_times", organisation, reference=booked.reference, day=DAY),
    ):
        response = client.get(moving)
        assert response.status_code == 200
        assert "This service is no longer offered, so its time can" in page(response)
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_REFUSED).exists()


def test_a_move_the_customer_may_not_make_is_refused_with_403(sign_in, customer, booked, bookable):
    fellow = CustomerFactory(organisation=bookable.organisation, email="fellow@example.com")
    Attendee.objects.create(booking=booked, name="Fellow", email=fellow.email)
    move = url("reschedule", bookable.organisation, reference=booked.reference, day=DAY, time=datetime.time(11))
    client = sign_in(fellow)

    shown, posted = client.get(move), client.post(move)

    assert shown.status_code == 200 and posted.status_code == 403
    assert "Only the person who made this booking can change it online." in page(posted)
    bookable.is_active = False
    bookable.save()
    refused = sign_in(customer).post(move)
    assert refused.status_code == 403 and "This service is no longer offered" in page(refused)
    booked.refresh_from_db()
    assert booked.slot_starts_at == at(DAY, 10) and mail.outbox == []


def test_answering_or_moving_to_a_time_taken_meanwhile_is_refused_with_409(sign_in, customer, booked, bookable):
    service_book(
        service=bookable, customer=CustomerFactory(organisation=bookable.organisation), starts_at=at(DAY, 11), places=12
    )
    mail.outbox.clear()
    organisation = bookable.organisation
    client = sign_in(customer)
    move = url("reschedule", organisation, reference=booked.reference, day=DAY, time=datetime.time(11))
    details = url("book_details", organisation, service_id=bookable.pk, day=DAY, time=datetime.time(11))

    for taken in (move, details):
        assert client.get(taken).status_code == 200
        refused = client.post(taken, {"places": "1"})
        assert refused.status_code == 409
        assert "That time is no longer free" in page(refused) and "Nothing was booked" in page(refused)
    booked.refresh_from_db()
    assert booked.slot_starts_at == at(DAY, 10) and mail.outbox == []
    assert ANSWERS_SESSION_KEY not in client.session


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("gone", ["turned off", "deleted"])
def test_a_service_no_longer_offered_at_the_check_page_books_nothing_and_says_so(
    sign_in, customer, bookable, gone, method
):
    organisation = bookable.organisation
    client = sign_in(customer)
    client.post(
        url("book_details", organisation, service_id=bookable.pk, day=DAY, time=datetime.time(10)), {"places": "2"}
    )
    if gone == "turned off":
        Service.objects.filter(pk=bookable.pk).update(is_active=False)
    else:
        Service.objects.filter(pk=bookable.pk).delete()

    response = getattr(client, method)(url("book_check", organisation))

    # Shown on a GET, it is a page like any other; a Confirm it refused is an error.
    assert response.status_code == (409 if method == "post" else 200)
    name = "Harbour tour" if gone == "turned off" else "This service"
    assert f"{name} is no longer offered" in page(response) and "Nothing was booked." in page(response)
    assert not Booking.objects.exists() and mail.outbox == []
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_REFUSED).exists()
    assert ANSWERS_SESSION_KEY not in client.session  # the answers are dropped: the check page leads on
    assert client.get(url("book_check", organisation))["Location"] == url("book", organisation)


def details_url(service, hour: int) -> str:
    return url("book_details", service.organisation, service_id=service.pk, day=DAY, time=datetime.time(hour))


def test_confirm_books_what_its_page_showed_not_answers_changed_in_another_tab(sign_in, customer, bookable, sent):
    organisation = bookable.organisation
    client = sign_in(customer)
    client.post(details_url(bookable, 10), {"places": "1"})
    first_tab = confirmation(client, organisation)
    client.post(details_url(bookable, 11), {"places": "5", "note": "From the second tab"})  # not confirmed there

    with sent():
        refused = client.post(url("book_check", organisation), first_tab)

    assert refused.status_code == 409
    assert "Your answers changed in another window: this page now shows them." in page(refused)
    assert "11:00 to 12:00" in page(refused) and "From the second tab" in page(refused)
    assert "Confirm booking for 200.00 EUR" in page(refused)
    assert not Booking.objects.exists() and mail.outbox == []
    confirm(client, organisation)  # what the page shows now is what is booked
    booking = Booking.objects.get()
    assert (booking.slot_starts_at, booking.places, booking.note) == (at(DAY, 11), 5, "From the second tab")


def test_a_price_changed_since_the_check_page_is_shown_before_anything_is_booked(sign_in, customer, bookable, sent):
    organisation = bookable.organisation
    client = sign_in(customer)
    client.post(details_url(bookable, 10), {"places": "2"})
    shown = confirmation(client, organisation)
    Service.objects.filter(pk=bookable.pk).update(price=Decimal("400.00"))

    with sent():
        refused = client.post(url("book_check", organisation), shown)

    assert refused.status_code == 409
    assert "The price is now 800.00 EUR for 2 people. Check it and confirm again." in page(refused)
    assert "Confirm booking for 800.00 EUR" in page(refused)
    assert not Booking.objects.exists() and mail.outbox == []
    confirmed = confirm(client, organisation)
    booking = Booking.objects.get()
    assert (booking.price, booking.currency, booking.price_display) == (Decimal("800.00"), "EUR", "800.00 EUR")
    Service.objects.filter(pk=bookable.pk).update(price=Decimal("10.00"))  # changes no booking made
    assert '<dt>Price</dt><dd><span class="price">800.00 EUR</span> for 2 people' in page(
        client.get(confirmed["Location"])
    )
    other = BookingFactory(organisation=organisation)
    assert other.price is None and other.price_display == ""


@contextmanager
def confirmed_after_the_session_ended(customer, bookable):
    """A customer answers and reaches the check page, then confirms once their session has ended: the browser, sent
    to sign in, inside after_session_lifetime()."""
    client = browser()
    sign_in_by_form(client, customer)
    details = details_url(bookable, 10)
    token = csrf_token(page(client.get(details)))
    client.post(details, {"places": "3", "note": "Grandma uses a wheelchair", "csrfmiddlewaretoken": token})
    confirmed = confirmation(client, bookable.organisation)
    with after_session_lifetime():
        response = client.post(url("book_check", bookable.organisation), confirmed)
        assert response["Location"].startswith(f"/{bookable.organisation.slug}/sign-in/?next=")
        assert not Booking.objects.exists()
        yield client


def test_confirming_after_the_session_ended_shows_the_answers_again_after_signing_in(customer, bookable, sent):
    check = url("book_check", bookable.organisation)
    with confirmed_after_the_session_ended(customer, bookable) as client:
        back = sign_in_by_form(client, customer, next_path=check)["Location"]
        shown = client.get(back)
        with sent():
            booked = client.post(check, confirmation(client, bookable.organisation))

    assert shown.status_code == 200 and back == check
    text = html.unescape(page(shown))
    assert "Nothing was booked." in text and "Your session had ended before your booking reached us." in text
    assert "Grandma uses a wheelchair" in text and "Confirm booking for 120.00 EUR" in text and "10:00 to 11:00" in text
    booking = Booking.objects.get()
    assert booked["Location"] == url("detail", bookable.organisation, reference=booking.reference)
    assert (booking.slot_starts_at, booking.places, booking.note) == (at(DAY, 10), 3, "Grandma uses a wheelchair")
    assert len([email for email in mail.outbox if email.to == [customer.email]]) == 1


def test_answers_kept_after_the_session_ended_are_for_the_same_customer_only(customer, bookable):
    check = url("book_check", bookable.organisation)
    with confirmed_after_the_session_ended(customer, bookable) as client:
        someone_else = CustomerFactory(organisation=bookable.organisation, with_password=True)
        back = sign_in_by_form(client, someone_else, next_path=check)["Location"]
        assert client.get(back)["Location"] == url("book", bookable.organisation)
        assert ANSWERS_SESSION_KEY not in client.session


def test_answers_kept_after_the_session_ended_are_checked_again_as_the_time_fills(customer, bookable):
    check = url("book_check", bookable.organisation)
    with confirmed_after_the_session_ended(customer, bookable) as client:
        service_book(
            service=bookable,
            customer=CustomerFactory(organisation=bookable.organisation),
            starts_at=at(DAY, 10),
            places=10,
        )
        back = sign_in_by_form(client, customer, next_path=check)["Location"]
        shown = client.get(back)
        assert "Only 2 places left at that time" in page(shown) and "Nothing was booked" in page(shown)
        assert ANSWERS_SESSION_KEY not in client.session
    assert Booking.objects.count() == 1


def test_a_time_sooner_than_the_free_cancellation_notice_is_said_to_have_none(sign_in, customer, bookable):
    organisation = bookable.organisation
    client = sign_in(customer)
    today = NOW.date()  # 08:00: 11:00 is bookable (2 hours' notice) but within the day's free cancellation
    client.post(
        url("book_details", organisation, service_id=bookable.pk, day=today, time=datetime.time(11)), {"places": "1"}
    )

    check = page(client.get(url("book_check", organisation)))

    free = check[check.index("Free cancellation") :][:200]
    assert "None: it starts in less than 1 day" in free, free


def test_a_long_note_in_any_script_is_confirmed(sign_in, customer, bookable, sent):
    organisation = bookable.organisation
    client = sign_in(customer)
    note = "".join(chr(0x20000 + (index * 7919) % 40000) for index in range(1000))  # a thousand, four bytes each
    client.post(details_url(bookable, 10), {"places": "1", "note": note})

    with sent():
        confirm(client, organisation)

    assert Booking.objects.get().note == note
